from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/kb")

from . import routes  # noqa: E402,F401
