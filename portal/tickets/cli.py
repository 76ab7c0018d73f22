import click
from flask import current_app
from flask.cli import with_appcontext

from . import services


@click.group("tickets", help="Tickets: periodic jobs.")
def tickets_cli():
    pass


@tickets_cli.command("autoclose")
@click.option("--days", type=int, help="Days without an answer (default: TICKET_AUTOCLOSE_DAYS).")
@with_appcontext
def autoclose_command(days):
    """Close tickets waiting on the customer too long. Safe to run from cron, often, on several machines."""
    days = days or current_app.config["TICKET_AUTOCLOSE_DAYS"]
    closed, reminded = services.autoclose(days, remind_days=current_app.config["TICKET_AUTOCLOSE_REMIND_DAYS"])
    click.echo(f"Closed {len(closed)} ticket(s) after {days} days without an answer"
               + (f": {', '.join(closed)}" if closed else "."))
    click.echo(f"Reminded {len(reminded)} customer(s) that their ticket closes soon"
               + (f": {', '.join(reminded)}" if reminded else "."))
