"""``portal user …`` (``portal org …`` is in portal.org.cli, above the plans it sets)."""

import click

from .. import audit
from ..errors import DomainError
from . import services, two_factor
from .models import Role


def _fail(exc: DomainError):
    raise click.ClickException(str(exc))


def _call(service, *args, **kwargs):
    """The service's answer, or its broken rule as the command's error message."""
    try:
        return service(*args, **kwargs)
    except DomainError as exc:
        _fail(exc)


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


@user_cli.command("set-password")
@click.argument("email")
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
def set_password(email, password):
    """Reset someone's password (they asked support, or forgot it); their sessions end."""
    try:
        user = services.reset_password(email, password, origin=audit.CLI)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"New password set for {user.email}; their sessions have ended.")


@user_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--org", "org_name", help="The customer's organization, when a staff account becomes a customer.")
def set_role(email, role, org_name):
    """Give someone another role; their sessions end, so the new one applies at once."""
    user = _call(services.set_role, email, role, organization=org_name, origin=audit.CLI)
    click.echo(f"{user.email} is now {user.role.value}; their sessions have ended.")


@user_cli.command("deactivate")
@click.argument("email")
def deactivate(email):
    """No more sign-ins: their sessions end and their API tokens stop working."""
    user = _call(services.set_active, email, False, origin=audit.CLI)
    click.echo(f"Deactivated {user.email}; their sessions have ended and their API tokens stop working.")


@user_cli.command("reactivate")
@click.argument("email")
def reactivate(email):
    """Let a deactivated account sign in again (with its old password and API tokens)."""
    user = _call(services.set_active, email, True, origin=audit.CLI)
    click.echo(f"Reactivated {user.email}.")


@user_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor(email):
    """Turn off someone's two-step sign-in (lost phone and recovery codes): the password alone signs
    them in again, and they can set it up anew (a required role is asked to at once)."""
    try:
        user = two_factor.reset(email, origin=audit.CLI)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Two-step sign-in is off for {user.email}; their recovery codes no longer work.")


def register(cli) -> None:
    cli.add_command(user_cli)
