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
                   f"{'hours ' + str(plan.spec.support_hours.hours) if plan.spec.support_hours else 'no hours ledger'} | "
                   "channels " + ", ".join(
                       channel + (" " + " ".join(plan.spec.channel_hours[channel])
                                  if channel in plan.spec.channel_hours else "")
                       for channel in plan.spec.channels))
