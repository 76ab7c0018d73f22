"""The agents' workspace: the queue by time left on the SLA."""

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent")

from . import audit_log, file_for, macros, models, routes  # noqa: E402,F401


@bp.app_template_global()
def canned_replies():
    """The staff ticket page offers the agents' canned replies (tickets does not import agent)."""
    return macros.all_macros()

