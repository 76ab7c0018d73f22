"""SLA clocks on tickets, counted in the plan's business hours.

Two clocks: the first response (stopped by the first public agent reply) and,
when the plan has one, the resolution (stopped when the ticket is solved).
While a ticket waits on the customer the clocks pause (if the plan says so)
and the business time spent paused pushes the due times back. Due times are
always recomputed from the filing time, the target and the paused time, so a
priority or category change gives the right answer too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from ..auth.models import Organization, Role, User, utcnow
from ..extensions import db
from . import services as plan_services
from .calendar import BusinessCalendar
from .catalog import Plan, Target

log = logging.getLogger(__name__)

RESPONSE, RESOLUTION = "first_response", "resolution"
FAR = timedelta(days=14)


@dataclass(frozen=True)
class Clock:
    """One SLA clock as a ticket page shows it."""

    kind: str  # first_response | resolution
    due: datetime  # naive UTC
    target: Target
    left: timedelta  # business time until due; negative when overdue
    paused: bool
    at_risk: bool
    # More than FAR from the due time, ``left`` is plain real time: to within an hour it
    # would not change what anyone does, and counting business days over months is slow.
    approximate: bool = False

    @property
    def overdue(self) -> bool:
        return self.left < timedelta(0)


def _plan_and_calendar(ticket) -> tuple[Plan, BusinessCalendar] | None:
    plan = plan_services.get_plan(ticket.plan)
    if plan is None:
        return None
    return plan, plan.calendar(ticket.organization.timezone)


def _pauses(plan: Plan, status) -> bool:
    from ..tickets.models import Status

    return status is Status.SOLVED or (status is Status.WAITING_ON_CUSTOMER and plan.spec.sla.pause_while_waiting)


def start(ticket, organization: Organization) -> None:
    """At filing: the organization's plan is the ticket's, and its clocks start."""
    ticket.plan = plan_services.plan_key_for(organization, ticket.created_at)
    recompute(ticket)


def recompute(ticket) -> None:
    """Due times from created_at + target + paused time (after a priority or category change too)."""
    found = _plan_and_calendar(ticket)
    if found is None:
        ticket.first_response_due = ticket.resolution_due = None
        refresh_queue_due(ticket)
        return
    plan, calendar = found
    paused = timedelta(seconds=ticket.sla_paused_seconds or 0)
    response = plan.response_target(ticket.priority.value, ticket.category.value)
    resolution = plan.resolution_target(ticket.priority.value, ticket.category.value)
    ticket.first_response_due = calendar.add(ticket.created_at, response.due + paused) if response else None
    ticket.resolution_due = calendar.add(ticket.created_at, resolution.due + paused) if resolution else None
    refresh_queue_due(ticket)


def refresh_queue_due(ticket) -> None:
    """Keep ``sla_next_due``, the agents' queue order, on the clock that runs now."""
    from ..tickets.models import NO_CLOCK, Status

    due = None
    if ticket.status not in (Status.SOLVED, Status.CLOSED) and ticket.sla_paused_since is None:
        due = ticket.first_response_due if ticket.first_response_at is None else ticket.resolution_due
    ticket.sla_next_due = due or NO_CLOCK


def status_changed(ticket, old_status, new_status, now: datetime) -> None:
    """Pause or resume the clocks as the ticket moves through its lifecycle."""
    found = _plan_and_calendar(ticket)
    if found is None:
        return
    plan, calendar = found
    was, becomes = _pauses(plan, old_status), _pauses(plan, new_status)
    if becomes and not was:
        ticket.sla_paused_since = now
    elif was and not becomes and ticket.sla_paused_since is not None:
        paused = calendar.between(ticket.sla_paused_since, now)
        ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + int(paused.total_seconds())
        ticket.sla_paused_since = None
        recompute(ticket)


def agent_replied(ticket, now: datetime) -> None:
    """The first public reply from an agent stops the first-response clock."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        refresh_queue_due(ticket)


def clock(ticket, now: datetime | None = None) -> Clock | None:
    """The clock that is running (or paused) now, or None when no target applies."""
    from ..tickets.models import Status

    found = _plan_and_calendar(ticket)
    if found is None or ticket.status is Status.CLOSED:
        return None
    plan, calendar = found
    now = now or utcnow()
    if ticket.first_response_at is None and ticket.first_response_due is not None:
        kind, due = RESPONSE, ticket.first_response_due
        target = plan.response_target(ticket.priority.value, ticket.category.value)
    elif ticket.resolution_due is not None and ticket.status is not Status.SOLVED:
        kind, due = RESOLUTION, ticket.resolution_due
        target = plan.resolution_target(ticket.priority.value, ticket.category.value)
    else:
        return None
    if target is None:
        return None
    paused = ticket.sla_paused_since is not None
    # A paused clock stands still: its time left is what was left when it paused.
    since = ticket.sla_paused_since if paused else now
    if abs(due - since) > FAR:
        return Clock(kind, due, target, due - since, paused, False, approximate=True)
    left = calendar.between(since, due)
    at_risk = timedelta(0) <= left <= target.due * plan.spec.sla.at_risk_when_left
    return Clock(kind, due, target, left, paused, at_risk)


def sweep(now: datetime | None = None) -> dict[str, list[str]]:
    """Mark running clocks at risk or breached, once each, and tell the assigned
    agent (or every agent when nobody is assigned). Every mark is a conditional
    UPDATE, so any number of concurrent sweeps mark and notify exactly once."""
    from ..tickets.models import Status, Ticket, TicketEvent

    now = now or utcnow()
    marked: dict[str, list[str]] = {"at_risk": [], "breached": []}
    candidates = db.session.scalars(
        select(Ticket).where(
            Ticket.status.not_in([Status.CLOSED, Status.SOLVED]),
            Ticket.sla_paused_since.is_(None),
            or_(
                Ticket.first_response_at.is_(None) & Ticket.first_response_due.is_not(None)
                & Ticket.response_breached_at.is_(None),
                Ticket.first_response_at.is_not(None) & Ticket.resolution_due.is_not(None)
                & Ticket.resolution_breached_at.is_(None),
            ),
        ).order_by(Ticket.id)
    ).all()
    for ticket in candidates:
        current = clock(ticket, now)
        if current is None or current.paused:
            continue
        if current.overdue:
            state = "breached"
        elif current.at_risk:
            state = "at_risk"
        else:
            continue
        column = {("first_response", "at_risk"): Ticket.response_at_risk_at,
                  ("first_response", "breached"): Ticket.response_breached_at,
                  ("resolution", "at_risk"): Ticket.resolution_at_risk_at,
                  ("resolution", "breached"): Ticket.resolution_breached_at}[(current.kind, state)]
        won = db.session.execute(
            update(Ticket).where(Ticket.id == ticket.id, column.is_(None)).values({column: now})
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            db.session.rollback()
            continue
        db.session.add(TicketEvent(ticket_id=ticket.id, kind="sla", new_value=f"{current.kind}:{state}",
                                   internal=True, created_at=now))
        db.session.commit()
        marked[state].append(ticket.reference)
        _notify(ticket, current, state)
    return marked


def _notify(ticket, current: Clock, state: str) -> None:
    from ..tickets import notify

    if ticket.assignee is not None and ticket.assignee.active:
        recipients = [ticket.assignee]
    else:
        recipients = list(db.session.scalars(
            select(User).where(User.role.in_([Role.AGENT, Role.ADMIN]), User.active.is_(True)).order_by(User.id)))
    for agent in recipients:
        notify.sla_alert(ticket, agent, current, state)
