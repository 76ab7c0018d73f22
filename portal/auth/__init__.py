from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ..extensions import db, login_manager
from .models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except ValueError:
        return None


from . import routes, two_factor_routes  # noqa: E402,F401  (register the views on bp)
