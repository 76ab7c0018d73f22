"""Tickets, their conversation, attachments, history, and what the customer tried first."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organization, User, utcnow
from ..extensions import db
from ..plans.sla import NO_CLOCK  # noqa: F401  (the queue's "no running clock": callers import it from here)
from ..teams.models import Team


def _enum(cls):
    return db.Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class Category(str, enum.Enum):
    TECHNICAL_ISSUE = "technical_issue"
    FEATURE_REQUEST = "feature_request"
    TRAINING_REQUEST = "training_request"
    QUESTION = "question"


class Level(str, enum.Enum):
    """Impact and urgency."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(str, enum.Enum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Channel(str, enum.Enum):
    """How a ticket or a message reached us."""

    WEB = "web"
    EMAIL = "email"
    API = "api"
    # Filed by an agent on the customer's behalf (tickets.services.file_ticket's filed_by).
    PHONE = "phone"
    CHAT = "chat"
    VISIT = "visit"


class Status(str, enum.Enum):
    NEW = "new"
    OPEN = "open"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    SOLVED = "solved"  # awaiting the customer's confirmation
    CLOSED = "closed"


class FeatureState(str, enum.Enum):
    UNDER_REVIEW = "under_review"
    PLANNED = "planned"
    DECLINED = "declined"
    SHIPPED = "shipped"


class TicketCounter(db.Model):
    """The last reference number handed out in a year."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The team (functional area) it belongs to, routed when filed (portal.teams); None: every agent's.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    area: Mapped[str | None] = mapped_column(String(40))  # the product area chosen on the form, if any
    # The agent who filed the ticket on the requester's behalf (by phone, chat, a visit…); None: the requester did.
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[Category] = mapped_column(_enum(Category))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    steps_to_reproduce: Mapped[str | None] = mapped_column(Text)
    affected_account: Mapped[str | None] = mapped_column(String(200))
    # Asked only on plans whose priority scheme is the impact x urgency matrix.
    impact: Mapped[Level | None] = mapped_column(_enum(Level))
    urgency: Mapped[Level | None] = mapped_column(_enum(Level))
    computed_priority: Mapped[Priority] = mapped_column(_enum(Priority))
    priority: Mapped[Priority] = mapped_column(_enum(Priority))
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.NEW)
    feature_state: Mapped[FeatureState | None] = mapped_column(_enum(FeatureState))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.WEB)
    # An answer by email to a closed ticket opens a new one that names the old one.
    follow_up_of_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # The form's one-time key: a double-clicked "Submit" files one ticket.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[datetime | None]
    # Set when the "closes soon" mail went out, so each wait reminds once.
    autoclose_reminded_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # The SLA (portal.plans.sla): the plan in force when filed, and its clocks.
    # Due times are recomputed from created_at + target + paused business time.
    plan: Mapped[str | None] = mapped_column(String(80))
    first_response_due: Mapped[datetime | None] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    sla_paused_since: Mapped[datetime | None]
    sla_paused_seconds: Mapped[int] = mapped_column(default=0)  # business time spent paused
    sla_paused_calendar_seconds: Mapped[int] = mapped_column(default=0)  # the same in real time (calendar-hour targets)
    # Served without any guaranteed time: a best-effort plan (or filed as best effort).
    best_effort: Mapped[bool] = mapped_column(default=False)
    # The update promise: runs from the last public agent message or the ticket's return to the agents.
    update_clock_since: Mapped[datetime | None]
    next_update_due: Mapped[datetime | None]
    update_at_risk_at: Mapped[datetime | None]
    update_breached_at: Mapped[datetime | None]
    response_at_risk_at: Mapped[datetime | None]
    response_breached_at: Mapped[datetime | None]
    resolution_at_risk_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    # When the clock that runs now is due: the agents' queue sorts on it (NO_CLOCK when none runs).
    sla_next_due: Mapped[datetime] = mapped_column(default=lambda: NO_CLOCK)
    # Billing (portal.plans.hours): development stepped in; the cause was our bug.
    escalated_to_development: Mapped[bool] = mapped_column(default=False)
    caused_by_bug: Mapped[bool] = mapped_column(default=False)

    organization: Mapped[Organization] = relationship()
    follow_up_of: Mapped[Ticket | None] = relationship(remote_side=[id])
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    team: Mapped[Team | None] = relationship()
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id")
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="ticket", order_by="Attachment.id")

    # No index leads with ``status``: the queue's "status in (…) order by sla_next_due"
    # must walk ix_tickets_queue (active tickets come first in it), not sort a status range.
    __table_args__ = (
        Index("ix_tickets_waiting_since", "waiting_since"),  # auto-close: only waiting tickets have one
        Index("ix_tickets_solved_at", "solved_at"),  # auto-close of solved tickets nobody confirmed
        Index("ix_tickets_queue", "sla_next_due", "id"),
    )

    @property
    def priority_overridden(self) -> bool:
        return self.priority != self.computed_priority


class Message(db.Model):
    """One entry of the conversation: the description is not one, replies are."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)  # agents' notes, never shown to customers
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.WEB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id")


class Attachment(db.Model):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="CASCADE"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))  # as the customer named it, for display
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)  # random, under UPLOAD_DIR
    content_type: Mapped[str] = mapped_column(String(100))  # detected from the content
    size: Mapped[int]
    is_image: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
    message: Mapped[Message | None] = relationship(back_populates="attachments")


class TicketEvent(db.Model):
    """The ticket's history: every change, with who and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the portal itself
    kind: Mapped[str] = mapped_column(String(30))  # created, status, priority, override, category, assignee, team, feature_state
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class PriorityRequest(db.Model):
    """A customer's request for another priority after filing, and the agent's decision.
    A ticket has at most one open (undecided) request: a partial unique index says so."""

    __tablename__ = "ticket_priority_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    current_priority: Mapped[Priority] = mapped_column(_enum(Priority))  # when asked
    requested_priority: Mapped[Priority] = mapped_column(_enum(Priority))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))  # accepted, declined; None while open
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        Index("uq_ticket_priority_requests_open", "ticket_id", unique=True,
              sqlite_where=decision.is_(None), postgresql_where=decision.is_(None)),
    )


class Suggestion(db.Model):
    """An article the new-ticket form suggested, and what the customer did with it.

    Rows are keyed by the form's draft key while the customer types; filing the
    ticket attaches them to it. ``action`` is shown, opened, rejected or solved
    (a deflection: no ticket was filed)."""

    __tablename__ = "ticket_suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_key: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(10))
    rank: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("draft_key", "slug", "action", name="uq_ticket_suggestions_draft_slug_action"),
        Index("ix_ticket_suggestions_action_created_at", "action", "created_at"),
    )


class SavedDraft(db.Model):
    """A ticket the customer could not file (quota used up, plan ended), kept
    so the form is filled in again the next time they open it. One per user."""

    __tablename__ = "ticket_saved_drafts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    impact: Mapped[str | None] = mapped_column(String(10))
    urgency: Mapped[str | None] = mapped_column(String(10))
    priority_override: Mapped[str | None] = mapped_column(String(2))
    steps_to_reproduce: Mapped[str | None] = mapped_column(Text)
    affected_account: Mapped[str | None] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(40))  # the product area chosen (a key of the routing file)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketViewer(db.Model):
    """Who of the staff has a ticket open right now: the page reports in every few seconds."""

    __tablename__ = "ticket_viewers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()
