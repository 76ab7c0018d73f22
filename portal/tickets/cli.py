import click
from flask import current_app
from flask.cli import with_appcontext

from . import services


@click.group("tickets", help="Tickets: periodic jobs.")
def tickets_cli():
    pass


@tickets_cli.command("autoclose")
@with_appcontext
def autoclose_command():
    """Close tickets waiting on the customer's answer, or on the confirmation of their solution,
    longer than their plan allows (TICKET_AUTOCLOSE_DAYS, TICKET_SOLVED_AUTOCLOSE_DAYS unless the
    plan sets its own), and remind customers before. Safe to run from cron, often, on several machines."""
    closed, reminded = services.autoclose(remind_days=current_app.config["TICKET_AUTOCLOSE_REMIND_DAYS"])
    click.echo(f"Closed {len(closed)} ticket(s) left without an answer or a confirmation"
               + (f": {', '.join(closed)}" if closed else "."))
    click.echo(f"Reminded {len(reminded)} customer(s) that their ticket closes soon"
               + (f": {', '.join(reminded)}" if reminded else "."))


@click.group("sla", help="SLA clocks: periodic jobs.")
def sla_cli():
    pass


@sla_cli.command("sweep")
@with_appcontext
def sweep_command():
    """Mark first responses, resolutions and update promises at risk or breached, and notify agents.
    Safe to run from cron, often, on several machines."""
    from .clocks import sweep

    marked = sweep()
    for state, label in (("at_risk", "at risk"), ("breached", "breached")):
        refs = marked[state]
        click.echo(f"{len(refs)} ticket(s) newly {label}" + (f": {', '.join(refs)}" if refs else "."))
