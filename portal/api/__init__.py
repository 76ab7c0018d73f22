"""The JSON API v1: the portal's services over HTTP for scripts and other tools.

Authenticated by personal API tokens only (``Authorization: Bearer``), never
by the session cookie, which is why the blueprint is exempt from CSRF checks.
Request and response schemas are pydantic models; spectree validates requests
with them and builds the OpenAPI 3.1 document from them.
"""

from flask import Blueprint
from spectree import SecurityScheme, SecuritySchemeData, SpecTree

from .problems import ProblemOut, validation_problem

bp = Blueprint("api", __name__, url_prefix="/api/v1")

spec = SpecTree(
    "flask",
    mode="strict",  # only the API's own routes, not the HTML pages
    title="Portal JSON API",
    version="1",
    description="The support portal's knowledge base, tickets, plan and onboarding for scripts and other tools. "
                "Errors are RFC 9457 problem details (application/problem+json).",
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(
        type="http", scheme="bearer", description="A personal API token (pat_…) from your account page."))],
    validation_error_status=422,
    validation_error_model=ProblemOut,
    before=validation_problem,
    # Components named as the classes are (spectree would add a hash of the module).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def init_app(app) -> None:
    from ..extensions import csrf
    from ..web import answer_errors_under
    from . import agent_routes, organizations, routes  # noqa: F401  (register the views on bp)

    csrf.exempt(bp)
    csrf.exempt(agent_routes.agent_bp)  # a nested blueprint is exempted by its own name
    # Inside the JSON API every error is a problem document, even one raised before routing.
    answer_errors_under(app, "/api", routes.problem_for)
    app.register_blueprint(bp)
    from .cli import api_cli, token_cli

    app.cli.add_command(api_cli)
    app.cli.add_command(token_cli)
