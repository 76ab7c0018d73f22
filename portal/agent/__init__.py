"""The agents' workspace: the queue by time left on the SLA."""

from flask import Blueprint

bp = Blueprint("agent", __name__, url_prefix="/agent")

from . import models, routes  # noqa: E402,F401
