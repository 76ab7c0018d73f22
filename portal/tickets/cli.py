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


@click.group("attachments", help="Ticket attachments: the upload folder against the database.")
def attachments_cli():
    pass


@attachments_cli.command("check")
@click.option("--repair", is_flag=True, help="Delete the orphaned files (missing files can only be reported).")
@click.option("--min-age", "min_age", type=click.IntRange(min=1), default=60, show_default=True,
              help="Minutes a file without a row must be old to count as orphaned (younger ones may be committing).")
@with_appcontext
def attachments_check_command(repair, min_age):
    """Find files in UPLOAD_DIR that no attachment names (left by a full disk or a killed upload),
    and attachments whose file is gone. Exits 1 while problems remain; safe to run from cron."""
    from datetime import timedelta
    from pathlib import Path

    from ..auth.models import utcnow
    from .attachments import check_storage

    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    report = check_storage(upload_dir, utcnow(), timedelta(minutes=min_age), repair=repair)
    for path in report.orphans:
        click.echo(f"{'removed' if path in report.removed else 'orphan'}: {path}")
    for reference, attachment_id, filename in report.missing:
        click.secho(f"missing: {reference} attachment {attachment_id} ({filename})", fg="red")
    click.echo(f"{upload_dir}: {len(report.orphans)} orphaned file(s), {len(report.removed)} removed, "
               f"{len(report.missing)} missing, {len(report.recent)} too recent to judge.")
    if report.problems:
        raise SystemExit(1)
