"""``portal org …`` (create, plans, set-plan, set-go-live) and ``portal plans buy-hours``: the commands
that set an organization's plan or read its hours balance, which the tickets' time entries bill."""

from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import audit
from ..auth import services as accounts
from ..auth.models import Organization, utcnow
from ..errors import DomainError, text
from ..extensions import db
from ..plans import history
from ..plans import hours as ledger
from ..plans.cli import plans_cli
from ..plans.services import all_plans, zone_day
from ..tickets import billing

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _fail(exc: DomainError):
    raise click.ClickException(str(exc))


def _organization(name: str):
    org = accounts.organization_by_name(name)
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
    if plan not in all_plans():
        raise click.ClickException(f"No plan {plan!r} in the plans file; known plans: {', '.join(all_plans())}.")
    try:
        org = history.create_organization(name, plan, started.date() if started else _today_in(timezone), timezone)
    except DomainError as exc:
        _fail(exc)
    first = history.history(org)[0]
    click.echo(f"Created organization {org.name!r} ({text(history.describe(first))}, go-live {org.started_on}, "
               f"{org.timezone}).")


def _today_in(timezone: str) -> date:
    """Today in the organization's zone (a bad zone is refused by create_organization, with its message)."""
    try:
        return zone_day(timezone)
    except (ValueError, KeyError):
        return utcnow().date()


@org_cli.command("plans")
@click.argument("organization")
def list_plans(organization):
    """An organization's plan history, oldest first, and what changes next."""
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
    org = _organization(organization)
    try:
        change = history.set_plan(org, plan, starts_on.date(), ends_on.date() if ends_on else None, trial, note,
                                  origin=audit.CLI)
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
    org = _organization(organization)
    try:
        history.set_go_live(org, day.date())
    except DomainError as exc:
        _fail(exc)
    entries = history.history(org)
    click.echo(f"{org.name}: go-live {org.started_on}" + (f"; {text(history.describe(entries[0]))}." if entries else "."))


@click.command("buy-hours")
@click.argument("organization")
@click.argument("hours")
@click.option("--on", "purchased_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Purchase date (default today).")
@click.option("--note", help="e.g. the invoice number.")
@with_appcontext
def buy_hours_command(organization, hours, purchased_on, note):
    """Record support hours an organization bought (on top of its plan's allowance)."""
    org = db.session.scalar(select(Organization).where(Organization.name == organization))
    if org is None:
        raise click.ClickException(f"No organization named {organization!r}.")
    try:
        purchase = ledger.buy_hours(org, hours, purchased_on.date() if purchased_on else None, note,
                                    origin=audit.CLI)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    balance = billing.balance(org, purchase.purchased_on)
    left = f"; {balance.left_minutes / 60:.2f} h left this period" if balance else " (its plan keeps no hours ledger)"
    click.echo(f"Recorded {purchase.hours:g} h for {org.name} on {purchase.purchased_on}{left}.")


@org_cli.command("domains")
@click.argument("organization")
@click.option("--add", "added", multiple=True, metavar="DOMAIN", help="Register a mail domain (repeatable).")
@click.option("--remove", "removed", multiple=True, metavar="DOMAIN", help="Remove one (repeatable).")
@with_appcontext
def domains_command(organization, added, removed):
    """An organization's mail domains: mail to support from an unknown address at one of them
    gets a customer account in the organization (otherwise it waits in "Unmatched email")."""
    org = _organization(organization)
    try:
        for domain in added:
            accounts.add_domain(org, domain)
        for domain in removed:
            accounts.remove_domain(org, domain)
    except DomainError as exc:
        _fail(exc)
    db.session.refresh(org)
    names = [d.domain for d in org.domains]
    click.echo(f"{org.name}: " + (", ".join(names) if names else "no mail domains."))


def register(cli) -> None:
    cli.add_command(org_cli)
    plans_cli.add_command(buy_hours_command)  # ``portal plans buy-hours``, as before the move
