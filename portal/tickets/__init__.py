from flask import Blueprint

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

from . import routes, priority_routes, staff_routes  # noqa: E402,F401


@bp.app_template_global()
def open_tickets_by_team():
    """The teams page counts each team's open tickets (teams does not import tickets)."""
    from .services import open_tickets_by_team as counts

    return counts()
