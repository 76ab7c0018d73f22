from flask import Blueprint

bp = Blueprint("tickets", __name__, url_prefix="/tickets")

from . import routes, priority_routes, staff_routes  # noqa: E402,F401
