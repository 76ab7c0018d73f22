"""A consultant's visit to an organization on one day."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organization, User, utcnow
from ..extensions import db


class VisitStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


ACTIVE = "status <> 'cancelled'"


class Visit(db.Model):
    """One on-site day. The database refuses a second visit of the same consultant on the same day
    (cancelled ones aside): two agents booking one consultant at once get one visit and one
    IntegrityError."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    day: Mapped[date]  # the organization's local day
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=VisitStatus.SCHEDULED.value)
    minutes: Mapped[int | None]  # the time spent, once held (logged in the hours ledger)
    report: Mapped[str | None] = mapped_column(Text)  # what was done, once held; the customer sees it
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    consultant: Mapped[User] = relationship(foreign_keys=[consultant_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        Index("uq_visits_consultant_day", "consultant_id", "day", unique=True,
              postgresql_where=text(ACTIVE), sqlite_where=text(ACTIVE)),
    )

    @property
    def scheduled(self) -> bool:
        return self.status == VisitStatus.SCHEDULED.value
