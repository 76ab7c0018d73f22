from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ..extensions import login_manager
from . import sessions

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"


login_manager.user_loader(sessions.load_user)
bp.before_app_request(sessions.enforce_lifetimes)


from . import account, routes, two_factor_routes  # noqa: E402,F401  (register the views on bp)
