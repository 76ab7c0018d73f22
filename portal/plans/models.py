"""What plans count: tickets per month, and support hours bought and spent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Numeric, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import Organization, User, utcnow
from ..extensions import db


class QuotaUsage(db.Model):
    """Tickets filed by an organization in one calendar month of its plan's time
    zone. Filing increments ``used`` with a conditional UPDATE, so concurrent
    filings queue on this row and never pass the limit."""

    __tablename__ = "ticket_quota_usage"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-11"
    used: Mapped[int] = mapped_column(default=0)


class TimeEntry(db.Model):
    """Time an agent spent on a ticket (kind "ticket"), or with the organization without one (a call,
    a video call, a visit, an onboarding or guided setup session). What is billed is worked out per
    ticket, or per entry without a ticket, and contract period from the plan's rules (portal.plans.hours)."""

    __tablename__ = "ticket_time_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="ticket", server_default="ticket")
    # Without a ticket the entry is its own query and carries the ticket's billing flags itself.
    escalated_to_development: Mapped[bool] = mapped_column(default=False, server_default=false())
    caused_by_bug: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The visit or onboarding session it was logged for: at most one entry each.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"), unique=True)
    onboarding_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("onboarding_sessions.id", ondelete="SET NULL"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    minutes: Mapped[int]
    worked_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[User] = relationship()


class HoursPurchase(db.Model):
    """Support hours an organization bought on top of its plan's allowance."""

    __tablename__ = "support_hour_purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    hours: Mapped[float] = mapped_column(Numeric(8, 2, asdecimal=False))
    purchased_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship()


class OrganizationPlan(db.Model):
    """One entry of an organization's plan history: ``plan`` applies from ``starts_on``
    to ``ends_on``, both days included, in the organization's time zone; no ``ends_on``
    means until further notice. Entries of one organization never overlap
    (``portal.plans.history`` refuses it), so on any day at most one is in force."""

    __tablename__ = "organization_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(String(80))  # a key of the plans file
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]  # the last day included; None: open-ended
    trial: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    set_by: Mapped[User | None] = relationship()

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)

    def __repr__(self) -> str:
        return f"<OrganizationPlan {self.plan!r} {self.starts_on}..{self.ends_on or ''}>"
