"""``portal user …`` (``portal org …`` is in portal.org.cli, above the plans it sets)."""

import click

from .. import audit
from ..errors import DomainError
from . import services
from .models import Role


def _fail(exc: DomainError):
    raise click.ClickException(str(exc))


@click.group("user", help="People who sign in.")
def user_cli():
    pass


@user_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="The customer's organization (customers and customer admins).")
@click.option("--name", help="Display name (default: the part of the email before @).")
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
def create_user(email, role, org_name, name, password):
    try:
        user = services.create_user(email, password, role, name=name, organization=org_name,
                                    origin=audit.CLI)
    except DomainError as exc:
        _fail(exc)
    where = f" in {user.organization.name!r}" if user.organization else ""
    click.echo(f"Created {user.role.value} {user.email}{where}.")


@user_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="The organization, for a customer (default: the one they are in).")
def set_role(email, role, org_name):
    """Give someone another role (recorded in the audit log)."""
    user = services.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with the email {email.strip()}.")
    before = user.role.value
    try:
        services.set_role(user, role, org_name, origin=audit.CLI)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{user.email}: {before} → {user.role.value}.")


@user_cli.command("set-password")
@click.argument("email")
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email, password):
    """Reset someone's password (they asked support, or forgot it)."""
    try:
        user = services.reset_password(email, password)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"New password set for {user.email}.")


def register(cli) -> None:
    cli.add_command(user_cli)
