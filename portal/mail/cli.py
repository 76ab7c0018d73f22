"""``portal mail …`` and ``portal worker``: the outbox's delivery (the inbound commands join the group)."""

from __future__ import annotations

import signal
import threading

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import outbox


@click.group("mail", help="Email: deliver the outbox, read mailboxes, take piped messages.")
def mail_cli():
    pass


def _report(report: outbox.Report) -> str:
    return f"Sent {report.sent}, retrying {report.retrying} later, given up on {report.failed}."


@mail_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many messages.")
@with_appcontext
def send_command(limit):
    """Deliver the outbox's due messages once (for cron; `portal worker` does it continuously).
    Safe on several machines at once: each message is claimed by one of them."""
    click.echo(_report(outbox.deliver_due(limit=limit)))


@click.command("worker")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between looks at the outbox.")
@click.option("--once", is_flag=True, help="Deliver what is due and stop.")
@with_appcontext
def worker_command(poll, once):
    """The long-running process: delivers the outbox with retries (and reads the mailboxes
    configured for `portal mail fetch`, waiting with IMAP IDLE). Stops cleanly on SIGTERM or Ctrl+C.
    Run one or several, on one or several servers."""
    from flask import current_app

    if once:
        click.echo(_report(outbox.deliver_due()))
        return
    app = current_app._get_current_object()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # Jobs beside the outbox, each in its own thread: callables of (app, stop event), which the
    # packages above mail put in app.extensions["portal.worker_jobs"] (the inbox's mailbox watch).
    jobs = app.extensions.get("portal.worker_jobs", [])
    threads = [threading.Thread(target=job, args=(app, stop), daemon=True, name=getattr(job, "__name__", "job"))
               for job in jobs]
    for thread in threads:
        thread.start()
    click.echo(f"Worker {outbox.worker_name()} delivering the outbox every {poll:g} s (Ctrl+C stops it).")
    while not stop.is_set():
        report = outbox.Report()
        try:
            report = outbox.deliver_due(limit=app.config["MAIL_BATCH"])  # a batch, then a look at the stop event
            if report.sent or report.retrying or report.failed:
                click.echo(_report(report))
        except Exception:  # the database restarting, say: log it and try again at the next poll
            app.logger.exception("the outbox delivery failed; trying again")
            db.session.rollback()
        finally:
            db.session.remove()
        if not (report.sent or report.retrying or report.failed) or stop.is_set():
            stop.wait(poll)
    for thread in threads:
        thread.join(10)
