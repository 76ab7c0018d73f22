"""Every message that reached the support address, what became of it, and its original."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import User, utcnow
from ..extensions import db
from ..tickets.models import Message, Ticket

# What became of a message. Only UNMATCHED waits for an agent (assign it to a customer, or discard it).
TICKET, REPLY, NOTE, FOLLOW_UP, DRAFT = "ticket", "reply", "note", "follow_up", "draft"
UNMATCHED, ASSIGNED, DISCARDED = "unmatched", "assigned", "discarded"
IGNORED, BOUNCE, REFUSED, RATE_LIMITED = "ignored", "bounce", "refused", "rate_limited"
# Taking it failed (a bug, a value the database refuses): tried again at each run, and after
# MAIL_MAX_FAILURES it waits as UNMATCHED, its original kept, instead of coming back forever.
FAILING = "failing"


class InboundMessage(db.Model):
    __tablename__ = "mail_inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID (or a digest of the message when it has none): the same mail fetched twice,
    # by two servers at once or after a crash, is one row, so one ticket or one reply.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(80))  # "pipe", "imap:<mailbox>"
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # arrival: the SLA clock starts here
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_address: Mapped[str | None] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(400), default="")
    size: Mapped[int] = mapped_column(default=0)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # the whole message (None when refused as too large)
    outcome: Mapped[str] = mapped_column(String(20))
    failures: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)  # why, for the agents (and the log)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    ticket_message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id", ondelete="SET NULL"))
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handled_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])
    ticket: Mapped[Ticket | None] = relationship()
    ticket_message: Mapped[Message | None] = relationship()

    __table_args__ = (
        Index("ix_mail_inbound_outcome", "outcome", "id"),  # the agents' "Unmatched email" list
        Index("ix_mail_inbound_sender", "from_address", "received_at"),  # the per-sender rate limit
    )
