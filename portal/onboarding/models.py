"""Onboarding: experts' availability, booked sessions, and the customer's feedback."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organization, User, utcnow
from ..extensions import db


class SessionStatus(str, enum.Enum):
    BOOKED = "booked"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


ACTIVE = "status <> 'cancelled'"
ACTIVE_IN_PROGRAM = ACTIVE + " AND week IS NOT NULL"


class ExpertProfile(db.Model):
    """An agent who runs onboarding sessions: their time zone, meeting link, and the country
    (ISO code) and region (the ``holidays`` package's subdivision code) whose public holidays
    they take no sessions on; no country, no public holidays."""

    __tablename__ = "onboarding_experts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    meeting_url: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    holiday_country: Mapped[str | None] = mapped_column(String(3))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()
    rules: Mapped[list[AvailabilityRule]] = relationship(
        order_by=lambda: (AvailabilityRule.weekday, AvailabilityRule.start_minute), cascade="all, delete-orphan")
    days_off: Mapped[list[DayOff]] = relationship(order_by="DayOff.starts_on", cascade="all, delete-orphan")

    @property
    def holiday_region(self) -> str | None:
        """``ES-MD``, ``CO``, or None: how the pages name the holidays followed."""
        if not self.holiday_country:
            return None
        return self.holiday_country + (f"-{self.holiday_subdivision}" if self.holiday_subdivision else "")


class AvailabilityRule(db.Model):
    """Every week on ``weekday`` (0 = Monday) from ``start_minute`` to ``end_minute`` in the expert's time zone."""

    __tablename__ = "onboarding_availability"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("onboarding_experts.user_id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    start_minute: Mapped[int]
    end_minute: Mapped[int]


class DayOff(db.Model):
    """An exception to the weekly availability: no sessions on these days (inclusive)."""

    __tablename__ = "onboarding_days_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("onboarding_experts.user_id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(200))


class OnboardingSession(db.Model):
    """One booked hour with an expert. The database refuses a second active
    booking of the same expert at the same start, and a second program session
    in the same week of an organization: two customers racing for one slot get
    one booking and one IntegrityError."""

    __tablename__ = "onboarding_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("onboarding_experts.user_id"), index=True)
    starts_at: Mapped[datetime]  # naive UTC
    ends_at: Mapped[datetime]
    week: Mapped[int | None]  # 1..n in the program; None for an extra session
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))  # training request
    feature_area: Mapped[str] = mapped_column(String(60))
    questions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=SessionStatus.BOOKED.value)
    sequence: Mapped[int] = mapped_column(default=0)  # the .ics SEQUENCE: bumped on every change
    notes: Mapped[str | None] = mapped_column(Text)  # the expert's, shown to the customer
    follow_up: Mapped[str | None] = mapped_column(Text)  # article slugs, one per line
    rating: Mapped[int | None]  # the customer's quick 1-5 rating of this session
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    booked_by: Mapped[User] = relationship(foreign_keys=[booked_by_id])
    expert: Mapped[ExpertProfile] = relationship()

    __table_args__ = (
        Index("uq_onboarding_sessions_expert_slot", "expert_id", "starts_at", unique=True,
              postgresql_where=text(ACTIVE), sqlite_where=text(ACTIVE)),
        Index("uq_onboarding_sessions_org_week", "organization_id", "week", unique=True,
              postgresql_where=text(ACTIVE_IN_PROGRAM), sqlite_where=text(ACTIVE_IN_PROGRAM)),
    )

    @property
    def active(self) -> bool:
        return self.status != SessionStatus.CANCELLED.value

    @property
    def follow_up_slugs(self) -> list[str]:
        return [s.strip() for s in (self.follow_up or "").splitlines() if s.strip()]


class ProgramFeedback(db.Model):
    """The customer's feedback on the whole program: one per organization, editable for a few days."""

    __tablename__ = "onboarding_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    usefulness: Mapped[int]
    clarity: Mapped[int]
    pace: Mapped[int]
    expert_score: Mapped[int]
    comments: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship()
