"""Building a message and putting it in the outbox (the caller's transaction commits it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select

from ..auth.models import utcnow
from ..extensions import db
from .models import OutboxMessage

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: str) -> str:
    """Text fit for a mail header: control characters and line breaks become single spaces."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


# A Markdown link or image whose target is site-relative: "[text](/kb/slug)", "[text](</kb/slug> "title")".
_SITE_LINK = re.compile(r"(\]\(\s*<?)(/(?!/)[^)\s>]*)")


def absolute_links(text: str | None, base_url: str | None = None) -> str | None:
    """Site-relative Markdown links (what the portal inserts, so they work wherever it is served)
    made absolute against BASE_URL: a mail is read outside the portal."""
    if not text:
        return text
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    return _SITE_LINK.sub(lambda m: m.group(1) + base + m.group(2), text)


def sender_address() -> str:
    """The bare address of MAIL_SENDER, e.g. support@example.com."""
    return parseaddr(current_app.config["MAIL_SENDER"])[1] or "support@localhost"


def reply_address() -> str:
    """Where customers and agents answer a notification: MAIL_REPLY_TO, else the sender's address."""
    return current_app.config.get("MAIL_REPLY_TO") or sender_address()


def note_address() -> str:
    """Where an agent writes to add an internal note: MAIL_NOTE_ADDRESS, else reply+note@domain."""
    configured = current_app.config.get("MAIL_NOTE_ADDRESS")
    if configured:
        return configured
    local, _, domain = reply_address().partition("@")
    return f"{local}+note@{domain}"


def thread_root(thread: str) -> str | None:
    """The Message-ID of the first message sent about this thread, for In-Reply-To."""
    return db.session.scalar(select(OutboxMessage.message_id).where(OutboxMessage.thread == thread)
                             .order_by(OutboxMessage.id).limit(1))


def queue(to: str, subject: str, text: str, html: str | None = None, attachments=(), *,
          thread: str | None = None, automatic: bool = True, in_reply_to: str | None = None,
          now: datetime | None = None) -> OutboxMessage:
    """Put a message in the outbox. It joins the session: the caller's commit is what sends it,
    so a change and its mail are saved together or not at all.

    ``thread`` names what the message is about (a ticket's reference): an answer to it goes there.
    ``automatic`` marks a notification no person wrote (RFC 3834), so auto-responders keep quiet;
    a message that carries an agent's own answer is not one. ``in_reply_to``: the Message-ID of
    the mail this one answers (an automatic answer to it is "auto-replied"). A subject typed by a
    customer may hold line breaks: they become spaces (a header cannot carry them)."""
    config = current_app.config
    now = now or utcnow()
    subject, to = one_line(subject), one_line(to)
    domain = sender_address().rsplit("@", 1)[-1]
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now.replace(tzinfo=UTC))
    message["Message-ID"] = message_id = make_msgid(domain=domain)
    message["Reply-To"] = reply_address()
    root = in_reply_to or (thread_root(thread) if thread else None)
    if root:
        message["In-Reply-To"] = root
        message["References"] = root
    if automatic:
        message["Auto-Submitted"] = "auto-replied" if in_reply_to else "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"  # Exchange's out-of-office replies
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, mimetype, data in attachments:  # e.g. ("session.ics", "text/calendar", b"...")
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    row = OutboxMessage(message_id=message_id, recipient=to, subject=subject[:400], thread=thread,
                        raw=message.as_bytes(policy=policy.SMTP), created_at=now, next_attempt_at=now)
    db.session.add(row)
    return row

