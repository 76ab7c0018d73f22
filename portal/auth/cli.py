"""``portal org …`` (create, plans, set-plan, set-go-live) and ``portal user …``."""

from datetime import date

import click

from ..errors import DomainError, text
from . import services
from .models import Role

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _fail(exc: DomainError):
    raise click.ClickException(str(exc))


def _organization(name: str):
    org = services.organization_by_name(name)
    if org is None:
        raise click.ClickException(f"No organization named {name!r}.")
    return org


@click.group("org", help="Customer organizations.")
def org_cli():
    pass


@org_cli.command("create")
@click.argument("name")
@click.option("--plan", required=True, help="The plan's key in the plans file, e.g. standard.")
@click.option("--started", type=DAY, help="Go-live date, YYYY-MM-DD (default today).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone, e.g. Europe/Madrid.")
def create_org(name, plan, started, timezone):
    """Create an organization; its plan applies from the go-live date."""
    from ..plans import history
    from ..plans.services import all_plans

    if plan not in all_plans():
        raise click.ClickException(f"No plan {plan!r} in the plans file; known plans: {', '.join(all_plans())}.")
    try:
        org = history.create_organization(name, plan, started.date() if started else date.today(), timezone)
    except DomainError as exc:
        _fail(exc)
    first = history.history(org)[0]
    click.echo(f"Created organization {org.name!r} ({text(history.describe(first))}, go-live {org.started_on}, "
               f"{org.timezone}).")


@org_cli.command("plans")
@click.argument("organization")
def list_plans(organization):
    """An organization's plan history, oldest first, and what changes next."""
    from ..plans import history

    org = _organization(organization)
    click.echo(f"{org.name}: go-live {org.started_on}, time zone {org.timezone}.")
    for entry in history.history(org):
        extras = [word for word, on in (("trial", entry.trial),) if on]
        if entry.note:
            extras.append(entry.note)
        if entry.set_by:
            extras.append(f"set by {entry.set_by.email}")
        click.echo(f"  {entry.starts_on} .. {entry.ends_on or '(open)'}  {entry.plan}"
                   + (f"  ({'; '.join(extras)})" if extras else ""))
    change = history.next_change(org)
    if change is not None:
        click.echo(f"Next: from {change.on}, " + (text(history.describe(change.entry)) if change.entry else "no plan") + ".")


@org_cli.command("set-plan")
@click.argument("organization")
@click.argument("plan")
@click.option("--from", "starts_on", type=DAY, required=True, help="First day of the plan, YYYY-MM-DD.")
@click.option("--until", "ends_on", type=DAY, help="Last day of the plan, included (default: open-ended, or the "
                                                   "plan's own validity).")
@click.option("--trial", is_flag=True, help="A trial (needs --until).")
@click.option("--note", help="Why, e.g. the order or invoice number.")
def set_plan(organization, plan, starts_on, ends_on, trial, note):
    """Give ORGANIZATION the plan PLAN from a day. An open-ended plan running then ends the day
    before; dates that overlap any other entry are refused."""
    from ..plans import history

    org = _organization(organization)
    try:
        change = history.set_plan(org, plan, starts_on.date(), ends_on.date() if ends_on else None, trial, note)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{org.name}: {text(history.describe(change.entry))}{' (trial)' if change.entry.trial else ''}.")
    if change.ended is not None:
        click.echo(f"The previous plan now ends on {change.ended.ends_on}: {text(history.describe(change.ended))}.")


@org_cli.command("set-go-live")
@click.argument("organization")
@click.argument("day", type=DAY)
def set_go_live(organization, day):
    """Correct the go-live date; the go-live plan (the first entry) moves with it."""
    from ..plans import history

    org = _organization(organization)
    try:
        history.set_go_live(org, day.date())
    except DomainError as exc:
        _fail(exc)
    entries = history.history(org)
    click.echo(f"{org.name}: go-live {org.started_on}" + (f"; {text(history.describe(entries[0]))}." if entries else "."))


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
