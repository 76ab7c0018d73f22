"""The organization page: a customer's plan, quota and support hours, and the admins' plan changes.

It sits above ``plans`` (the policy) and ``tickets`` (whose time entries the hours balance bills),
so that ``plans`` never imports what is built on it."""

from flask import Blueprint

bp = Blueprint("org", __name__)

from . import routes, time_routes, visit_routes  # noqa: E402,F401
