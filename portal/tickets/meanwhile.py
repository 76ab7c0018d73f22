"""Two people on one ticket: every change takes the ticket's row lock and reads it fresh, and a
form tells what it was shown, so a change made from a stale page is shown, not applied blindly.

Why a lock taken before reading, on both databases, rather than a version column compared in
``UPDATE … WHERE version = :seen``: a version only refuses the second writer, it does not give it
the state to act on, and every change here computes from that state (the SLA pause runs from the
old status, the history records old → new). Under the lock, the second change reads what the
first one committed. What the page was shown is then compared field by field (``changes_since``),
so another agent's priority change does not refuse my status change, while a second status change
over one I have not seen is refused with what happened instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..auth.models import Role, User
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from .models import Message, Ticket, TicketEvent


def lock(ticket: Ticket) -> Ticket:
    """Wait for the ticket's row lock, then read it fresh (its relationships too, on access).

    PostgreSQL: ``SELECT … FOR UPDATE``, which waits for the other change's commit and returns
    the row as it committed it. SQLite has no row locks and ignores FOR UPDATE: its one write lock
    is taken by the first write of a transaction, so a write to the row comes first (SQLite
    re-reads after waiting for it); the reads after it see every committed change."""
    db.session.flush()  # pending changes to the ticket are written, not thrown away by expire()
    statement = select(Ticket).where(Ticket.id == ticket.id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(id=Ticket.id)
                           .execution_options(synchronize_session=False))
    else:
        statement = statement.with_for_update(of=Ticket)
    db.session.expire(ticket)
    db.session.scalar(statement)
    return ticket


@dataclass(frozen=True)
class Seen:
    """The last history entry and message a page showed: what its forms were filled in from."""

    event_id: int = 0
    message_id: int = 0


def seen(ticket: Ticket) -> Seen:
    return Seen(max((e.id for e in ticket.events), default=0), max((m.id for m in ticket.messages), default=0))


# The form -> the history entries that make it stale. Status and replies also go stale when a
# public message came in: a solved ticket over an unread answer, or a second answer to the customer.
CONFLICTS = {
    "status": ("status",),
    "priority": ("priority",),
    "assignee": ("assignee",),
    "team": ("team",),
    "category": ("category",),
    "feature_state": ("feature_state",),
    "reply": ("status",),
}
WITH_MESSAGES = ("status", "reply")
SHOWN = ("status", "priority", "assignee", "team", "category", "feature_state")  # what the page's poll tells


@dataclass
class Changes:
    events: list[TicketEvent] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.messages)

    @property
    def from_customer(self) -> bool:
        return any(m.author.role.is_customer for m in self.messages)


def changes_since(ticket: Ticket, seen: Seen, viewer: User, kinds=SHOWN, messages: bool = True,
                  internal: bool = True) -> Changes:
    """What others changed on the ticket after the page ``viewer`` was shown (their own changes,
    made in another tab, are no news): history entries of these kinds, and messages (internal
    notes too if ``internal`` and the viewer is staff)."""
    events = list(db.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.id > seen.event_id,
                                  TicketEvent.kind.in_(kinds),
                                  (TicketEvent.actor_id != viewer.id) | TicketEvent.actor_id.is_(None))
        .order_by(TicketEvent.id))) if kinds else []
    found = []
    if messages:
        query = select(Message).where(Message.ticket_id == ticket.id, Message.id > seen.message_id,
                                      Message.author_id != viewer.id)
        if not (internal and viewer.role in (Role.AGENT, Role.ADMIN)):
            query = query.where(Message.internal.is_(False))
        found = list(db.session.scalars(query.order_by(Message.id)))
    return Changes(events, found)


class ChangedMeanwhile(DomainError):
    """The form was filled in from a page older than the ticket: ``changes`` says what happened."""

    def __init__(self, changes: Changes, form: str):
        if form == "reply" and changes.from_customer:
            message = _l("The customer wrote again while you were typing. Read the new message above, "
                         "then send your reply again.")
        elif form == "reply":
            message = _l("This ticket changed while you were typing: read what changed, then send your reply "
                         "again if it is still needed.")
        else:
            message = _l("This ticket changed meanwhile, so your change was not saved. Check what changed, "
                         "then save again if it is still needed.")
        super().__init__(message, "body" if form == "reply" else form)
        self.changes = changes
        self.form = form


def check_fresh(ticket: Ticket, seen: Seen | None, user: User, form: str) -> None:
    """Refuse a change made from a page that did not show what others changed since (call it under
    ``lock``). ``seen`` None: the caller shows no page (the API, the CLI, the queue's bulk actions)."""
    if seen is None:
        return
    changes = changes_since(ticket, seen, user, CONFLICTS[form], messages=form in WITH_MESSAGES, internal=False)
    if changes:
        raise ChangedMeanwhile(changes, form)
