"""``portal token create`` and ``portal api reference``."""

from pathlib import Path

import click
from flask import current_app

from .. import audit
from ..auth import services as auth_services
from ..errors import DomainError
from . import services


@click.group("token", help="Personal API tokens.")
def token_cli():
    pass


@token_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. the monitoring that files P1s.")
def create_token(email, name):
    """Create a token for EMAIL and print its secret (shown this once)."""
    user = auth_services.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with the email {email.strip()}.")
    try:
        token, secret = services.create_token(user, name, audit.CLI)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created token {token.name!r} ({token.prefix}…) for {user.email}. Keep the secret now; "
               "it is not shown again:", err=True)
    click.echo(secret)


@click.group("api", help="The JSON API.")
def api_cli():
    pass


@api_cli.command("reference")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Default: api/api-reference.md in the knowledge base folder.")
def reference(output):
    """Write the API reference article from the OpenAPI document."""
    from .reference import reference_markdown

    target = output or Path(current_app.config["KB_DIR"]) / "api" / "api-reference.md"
    with current_app.test_request_context(base_url="http://127.0.0.1:5000"):
        text = reference_markdown()
    target.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {target}.")
