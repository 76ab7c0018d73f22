"""``portal audit prune``."""


import click
from flask import current_app

from . import services


@click.group("audit", help="The audit log of security-relevant and staff actions.")
def audit_cli():
    pass


@audit_cli.command("prune")
@click.option("--days", type=click.IntRange(min=0), help="Keep this many days (default: AUDIT_RETENTION_DAYS; "
                                                          "0 keeps everything).")
@click.option("--now", "now", type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
              help="Count the days back from this UTC moment instead of the clock (YYYY-MM-DDTHH:MM).")
def prune(days, now):
    """Delete the audit entries older than the retention period."""
    days = current_app.config["AUDIT_RETENTION_DAYS"] if days is None else days
    removed = services.prune(now or services.utcnow(), int(days or 0))
    click.echo(f"Removed {removed} audit entr{'y' if removed == 1 else 'ies'} older than {days} days."
               if days else "AUDIT_RETENTION_DAYS is 0: the audit log is kept whole.")
