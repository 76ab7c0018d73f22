"""``portal org create`` and ``portal user create``."""

from datetime import date

import click

from ..errors import DomainError
from . import services
from .models import Role


def _fail(exc: DomainError):
    raise click.ClickException(str(exc))


@click.group("org", help="Customer organizations.")
def org_cli():
    pass


@org_cli.command("create")
@click.argument("name")
@click.option("--plan", required=True, help="The plan's key in the plans file, e.g. standard.")
@click.option("--started", type=click.DateTime(formats=["%Y-%m-%d"]), help="Subscription start, YYYY-MM-DD (default today).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Madrid.")
def create_org(name, plan, started, timezone):
    from ..plans.services import all_plans

    if plan not in all_plans():
        raise click.ClickException(f"No plan {plan!r} in the plans file; known plans: {', '.join(all_plans())}.")
    try:
        org = services.create_organization(name, plan, started.date() if started else date.today(), timezone)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created organization {org.name!r} (plan {org.plan}, started {org.started_on}, {org.timezone}).")


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
        user = services.create_user(email, password, role, name=name, organization=org_name)
    except DomainError as exc:
        _fail(exc)
    where = f" in {user.organization.name!r}" if user.organization else ""
    click.echo(f"Created {user.role.value} {user.email}{where}.")


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
    cli.add_command(org_cli)
    cli.add_command(user_cli)
