import click
from flask.cli import with_appcontext

from .catalog import PlansError, load_plans


@click.group("plans", help="Support plans: check a plans file, list the plans in force.")
def plans_cli():
    pass


@plans_cli.command("check")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
@with_appcontext
def check_command(path):
    """Validate a plans file (default: the one in force); exits 1 listing each problem."""
    from flask import current_app

    path = path or current_app.config.get("PLANS_FILE")
    try:
        plans = load_plans(path)
    except PlansError as exc:
        click.echo(f"{exc.source}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise SystemExit(1) from None
    for plan in plans.values():
        quota = plan.spec.tickets_per_month
        targets = ", ".join(f"{key} {text}" for key, text in plan.spec.response.items())
        click.echo(f"{plan.key}: {plan.name} | response {targets} | "
                   f"{'quota ' + str(quota) + '/month' if quota else 'no quota'} | "
                   f"{'hours ' + str(plan.spec.support_hours.hours) if plan.spec.support_hours else 'no hours ledger'}")


@plans_cli.command("buy-hours")
@click.argument("organization")
@click.argument("hours")
@click.option("--on", "purchased_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Purchase date (default today).")
@click.option("--note", help="e.g. the invoice number.")
@with_appcontext
def buy_hours_command(organization, hours, purchased_on, note):
    """Record support hours an organization bought (on top of its plan's allowance)."""
    from sqlalchemy import select

    from ..auth.models import Organization
    from ..errors import DomainError
    from ..extensions import db
    from ..tickets import billing  # moves out of plans/ with the organization page
    from . import hours as ledger

    org = db.session.scalar(select(Organization).where(Organization.name == organization))
    if org is None:
        raise click.ClickException(f"No organization named {organization!r}.")
    try:
        purchase = ledger.buy_hours(org, hours, purchased_on.date() if purchased_on else None, note)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    balance = billing.balance(org, purchase.purchased_on)
    left = f"; {balance.left_minutes / 60:.2f} h left this period" if balance else " (its plan keeps no hours ledger)"
    click.echo(f"Recorded {purchase.hours:g} h for {org.name} on {purchase.purchased_on}{left}.")
