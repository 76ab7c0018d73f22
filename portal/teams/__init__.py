"""Teams (functional areas, seed 001: "internamente se asignará al área que corresponda"): the
teams and their members, and the routing file that sends each new ticket to one of them."""

from flask import Blueprint

bp = Blueprint("teams", __name__, url_prefix="/agent/teams")


def init_app(app) -> None:
    """Load and validate the routing file once (a bad file stops the start-up with its problems
    listed), and add ``portal team``."""
    from . import models  # noqa: F401  (the tables, for migrations and queries)
    from .cli import team_cli
    from .routing import load_routing

    app.extensions["portal.team_routing"] = load_routing(app.config.get("TEAMS_ROUTING_FILE"))
    app.cli.add_command(team_cli)


from . import routes  # noqa: E402,F401
