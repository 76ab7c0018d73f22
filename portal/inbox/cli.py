"""``portal mail fetch`` (IMAP mailboxes, from cron or watching) and ``portal mail receive``
(one message on standard input, for the mail server's pipe), added to ``portal mail``."""

from __future__ import annotations

import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..mail import imap
from ..mail.cli import mail_cli
from . import services

EX_TEMPFAIL = 75  # sysexits.h: "try again later", which Postfix and every MTA understand
EX_DATAERR = 65  # "the input data was incorrect": an MTA bounces it


def _mailboxes(names=()) -> list[imap.Mailbox]:
    try:
        boxes = imap.mailboxes_from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if names:
        unknown = set(names) - {b.name for b in boxes}
        if unknown:
            raise click.ClickException(f"No mailbox named {', '.join(sorted(unknown))}; configured: "
                                       f"{', '.join(b.name for b in boxes) or 'none'}.")
        boxes = [b for b in boxes if b.name in names]
    return boxes


def handler(app, mailbox: imap.Mailbox, counts: dict | None = None):
    """What fetch hands each message to: True once it is stored (the mailbox may let it go)."""
    def handle(raw: bytes) -> bool:
        with app.app_context():
            try:
                result = services.receive(raw, source=f"imap:{mailbox.name}")
            finally:
                db.session.remove()
        if counts is not None:
            counts[result.outcome] = counts.get(result.outcome, 0) + 1
        return not result.retry
    return handle


def _summary(counts: dict) -> str:
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing new"


@mail_cli.command("fetch")
@click.option("--mailbox", "names", multiple=True, help="Only this mailbox (repeatable); default: every one.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many messages per mailbox.")
@click.option("--watch", is_flag=True, help="Keep running, waiting for new mail with IMAP IDLE (or polling).")
@with_appcontext
def fetch_command(names, limit, watch):
    """Take the mail of the IMAP mailboxes (PORTAL_MAIL_IMAP_* or [[mailboxes]] in
    PORTAL_MAIL_MAILBOXES_FILE): each message becomes a ticket, a reply or an entry of
    "Unmatched email", then moves to the mailbox's processed folder. A message that cannot be
    taken now stays for the next run. Safe from cron and on several servers at once."""
    boxes = _mailboxes(names)
    if not boxes:
        raise click.ClickException("No mailbox is configured: set PORTAL_MAIL_IMAP_HOST (and _USERNAME, "
                                   "_PASSWORD) or PORTAL_MAIL_MAILBOXES_FILE.")
    app = current_app._get_current_object()
    if watch:
        stop = threading.Event()
        _install_stop(stop)
        click.echo(f"Watching {', '.join(b.name for b in boxes)} (Ctrl+C stops).")
        watch_all(app, boxes, stop)
        return
    failed = False
    for box in boxes:
        counts: dict = {}
        try:
            result = imap.fetch(box, handler(app, box, counts), limit=limit)
        except imap.MailboxError as exc:
            click.echo(f"{box.name}: {exc}", err=True)
            failed = True
            continue
        click.echo(f"{box.name}: took {result.taken}, left {result.left + result.failed} for later "
                   f"({_summary(counts)}).")
    if failed:
        sys.exit(EX_TEMPFAIL)


def watch_all(app, boxes: list[imap.Mailbox], stop: threading.Event) -> None:
    """One thread per mailbox, each handing its messages on with its own name, until ``stop``."""
    threads = [threading.Thread(target=imap.watch, args=([box], handler(app, box)), kwargs={"stop": stop},
                                name=f"imap-{box.name}", daemon=True) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _install_stop(stop: threading.Event) -> None:
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())


@mail_cli.command("receive")
@click.option("--source", default="pipe", show_default=True, help="A label for the log, e.g. the address.")
@with_appcontext
def receive_command(source):
    """Take one message (RFC 822) on standard input, as a mail server's pipe delivers it
    (Postfix: a pipe transport running `portal mail receive`). Exits 0 once it is stored (a ticket,
    a reply, or a row saying why not) and 75 when it cannot be taken now, so the mail server keeps
    it and tries again."""
    # Read at most one byte over the limit (enough to know it is too large, and its headers), then
    # let the rest run through without keeping it: a mail server may pipe gigabytes.
    limit = current_app.config["MAIL_MAX_MESSAGE_MB"] * 2**20
    raw = sys.stdin.buffer.read(limit + 1)
    while len(raw) > limit and sys.stdin.buffer.read(2**20):
        pass
    if not raw.strip():
        click.echo("No message on standard input.", err=True)
        sys.exit(EX_DATAERR)
    result = services.receive(raw, source=source)
    if result.retry:
        click.echo("Could not take the message now; the mail server should try again later.", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(f"{result.outcome}" + (f" {result.reference}" if result.reference else ""))


def watch_job(app, stop: threading.Event) -> None:
    """The worker's thread: watch every configured mailbox until the worker stops."""
    with app.app_context():
        try:
            boxes = imap.mailboxes_from_config(app.config)
        except ValueError as exc:
            app.logger.error("the mailboxes are not configured right, so no mail is fetched: %s", exc)
            return
    if boxes:
        watch_all(app, boxes, stop)


def register(app) -> None:
    app.extensions.setdefault("portal.worker_jobs", []).append(watch_job)
