"""The answers to mail that did not simply become a ticket or a reply: each says what happened and
what to do. Automatic ("auto-replied", RFC 3834), never to automatic mail, bounces or ourselves,
and to a stranger at most once a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from .. import mail
from ..errors import text
from ..extensions import db
from .models import ASSIGNED, DISCARDED, UNMATCHED, InboundMessage


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def _answer(row: InboundMessage, locale: str | None, subject, lines, thread: str | None = None,
            to: str | None = None) -> None:
    """To the sender, or ``to``: the customer an agent assigned the mail to (never the stranger)."""
    recipient = to or row.from_address
    if not recipient:
        return
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        original = row.subject or _("(no subject)")
        body = "\n\n".join(str(line()) if callable(line) else str(line) for line in lines)
        mail.queue(recipient, subject(original), body + "\n\n-- \nPortal · " + _("Self-service support"),
                   thread=thread, in_reply_to=row.message_id if recipient == row.from_address else None)


def unmatched(row: InboundMessage, now: datetime) -> None:
    """A stranger's mail waits for an agent: say so, once a day per address."""
    earlier = db.session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.from_address == row.from_address, InboundMessage.id != row.id,
        InboundMessage.user_id.is_(None), InboundMessage.received_at >= now - timedelta(days=1),
        InboundMessage.outcome.in_([UNMATCHED, ASSIGNED, DISCARDED])))
    if earlier:
        return  # that one was answered
    _answer(row, None, lambda s: _("We received your email: %(s)s", s=s), [
        lambda: _("Hello,"),
        lambda: _("Thank you for writing to support. We could not match %(address)s to a customer account, so a "
                  "support agent will look at your message and answer it.", address=row.from_address),
        lambda: _("If you have an account with another address, write from that one, or sign in and file a ticket "
                  "at %(link)s: it reaches the right team sooner.", link=f"{_base()}/tickets/new"),
    ])


def refused_remark(refused: list[tuple[str, str]]):
    """A line for the acknowledgement that names each refused file and why."""
    def line():
        names = "; ".join(f"{name}: {why}" for name, why in refused)
        return ngettext("This file was not attached: %(files)s.", "These files were not attached: %(files)s.",
                        len(refused), files=names) + " " + _("You can add files on the ticket's page.")
    return _Lazy(line)


class _Lazy:
    """Rendered when the mail is, in the recipient's language."""

    def __init__(self, render):
        self.render = render

    def __str__(self) -> str:
        return self.render()


def files_refused(row: InboundMessage, user, ticket, refused: list[tuple[str, str]]) -> None:
    _answer(row, user.locale or ticket.lang, lambda s: f"[{ticket.reference}] " + _("Files not attached: %(s)s", s=s),
            [lambda: _("Hello %(name)s,", name=user.name),
             lambda: _("Your answer joined ticket %(ref)s.", ref=ticket.reference), refused_remark(refused),
             f"{_base()}/tickets/{ticket.reference}"], thread=ticket.reference, to=user.email)


def kept_as_draft(row: InboundMessage, user, refusal, kept: bool = True) -> None:
    """Over the quota, the plan ended, or the prepaid hours used up: kept as a draft, and why."""
    _answer(row, user.locale, lambda s: _("Not filed yet: %(s)s", s=s), [
        lambda: _("Hello %(name)s,", name=user.name),
        lambda: _("Your email was not filed as a ticket: %(reason)s", reason=text(refusal.message)),
        (lambda: _("It is kept as a draft: sign in and open %(link)s to file it when you can, or ask your account "
                   "manager about your plan.", link=f"{_base()}/tickets/new")) if kept else
        (lambda: _("Your account already keeps another draft at %(link)s, so this email is not saved there: send "
                   "it again once you can file tickets, or ask your account manager about your plan.",
                   link=f"{_base()}/tickets/new")),
    ], to=user.email)


def too_large(row: InboundMessage, limit: int) -> None:
    _answer(row, None, lambda s: _("Too large to take: %(s)s", s=s), [
        lambda: _("Hello,"),
        lambda: _("Your email is %(size)s MB, and we take messages of up to %(limit)s MB, so it did not reach "
                  "support.", size=f"{row.size / 2**20:.1f}", limit=limit // 2**20),
        lambda: _("Send it again without the largest files, and add them on the ticket's page (up to %(mb)s MB "
                  "each) or as links.", mb=current_app.config["TICKET_MAX_FILE_MB"]),
    ])
