"""SLA clocks on tickets: policy only.

Three promises, each from the plan the ticket was filed under:
- the **first response**, stopped by the first public agent reply. It never pauses: a
  ticket nobody has answered cannot dodge it by waiting on the customer or being solved
  (the lifecycle refuses both before an answer; this clock would keep running anyway);
- the **resolution**, when the plan has one, stopped when the ticket is solved;
- **updates** (seed 000's "periodic updates"): after the first response, while the ticket
  is with the agents, the customer hears from them again within the plan's interval. The
  clock runs from the last public agent message, or from the moment the ticket came back
  to the agents (the customer answered, or reopened it), whichever is later.

While a ticket waits on the customer the resolution clock pauses (if the plan says so),
and the time spent paused pushes its due time back. Due times are always recomputed from
the start, the target and the paused time, so a priority or category change gives the
right answer too. A target is in business hours, calendar hours or business days
(``catalog.Target``).

This module knows a ticket only as an object with the SLA fields of
``portal.tickets.models.Ticket`` and a status value; it never imports ``portal.tickets``:
tickets call plans, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..auth.models import utcnow
from . import services as plan_services
from .calendar import BusinessCalendar
from .catalog import BUSINESS_DAYS, CALENDAR, Plan, Target

# The lifecycle stages the clocks react to (values of portal.tickets.models.Status).
NEW, OPEN, WAITING, SOLVED, CLOSED = "new", "open", "waiting_on_customer", "solved", "closed"
WITH_AGENTS = (NEW, OPEN)
RESPONSE, RESOLUTION, UPDATE = "first_response", "resolution", "update"
KINDS = (RESPONSE, RESOLUTION, UPDATE)
FAR = timedelta(days=14)
# Tickets with no running SLA clock (paused, answered without a resolution target, best
# effort, solved, closed) sort after every due time in the agents' queue.
NO_CLOCK = datetime(9999, 12, 31)


@dataclass(frozen=True)
class Clock:
    """One SLA clock as a ticket page shows it."""

    kind: str  # first_response | resolution | update
    due: datetime  # naive UTC
    target: Target
    left: timedelta  # time until due (business time unless the target is in calendar hours); negative when overdue
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


def _status(ticket) -> str:
    return getattr(ticket.status, "value", ticket.status)


def _pauses(plan: Plan, status: str) -> bool:
    return status == SOLVED or (status == WAITING and plan.spec.sla.pause_while_waiting)


def deadline(calendar: BusinessCalendar, start: datetime, target: Target, paused: timedelta = timedelta(0),
             paused_calendar: timedelta = timedelta(0)) -> datetime:
    """When ``target`` is due for a clock started at ``start``, pushed back by the time paused
    (business time for business units, real time for calendar hours)."""
    if target.unit == CALENDAR:
        return start + target.due + paused_calendar
    if target.unit == BUSINESS_DAYS:
        return calendar.add(calendar.add_days(start, target.days), paused)
    return calendar.add(start, target.due + paused)


def _left(calendar: BusinessCalendar, target: Target, since: datetime, due: datetime) -> timedelta:
    return due - since if target.unit == CALENDAR else calendar.between(since, due)


def start(ticket, plan_key: str | None, best_effort: bool = False) -> None:
    """At filing: the plan in force is the ticket's, and its clocks start. ``best_effort``
    files without any clock (e.g. prepaid hours used up, on a plan that says so)."""
    ticket.plan = plan_key
    plan = plan_services.get_plan(plan_key)
    ticket.best_effort = bool(best_effort or (plan is not None and plan.best_effort))
    recompute(ticket)


def recompute(ticket) -> None:
    """Due times from their start + target + paused time (after a priority or category change too)."""
    found = _plan_and_calendar(ticket)
    if found is None or ticket.best_effort:
        ticket.first_response_due = ticket.resolution_due = ticket.next_update_due = None
        refresh_queue_due(ticket)
        return
    plan, calendar = found
    priority, category = ticket.priority.value, ticket.category.value
    response = plan.response_target(priority, category)
    resolution = plan.resolution_target(priority, category)
    update = plan.update_target(priority, category)
    paused = timedelta(seconds=ticket.sla_paused_seconds or 0)
    paused_calendar = timedelta(seconds=ticket.sla_paused_calendar_seconds or 0)
    ticket.first_response_due = deadline(calendar, ticket.created_at, response) if response else None
    ticket.resolution_due = (deadline(calendar, ticket.created_at, resolution, paused, paused_calendar)
                             if resolution else None)
    since = ticket.update_clock_since
    ticket.next_update_due = (deadline(calendar, since, update)
                              if update and since is not None and ticket.first_response_at is not None else None)
    refresh_queue_due(ticket)


def _running(ticket) -> list[tuple[str, datetime, bool]]:
    """(kind, due, paused) of the clocks that apply now."""
    status = _status(ticket)
    if status == CLOSED:
        return []
    found = []
    if ticket.first_response_at is None:
        if ticket.first_response_due is not None:
            found.append((RESPONSE, ticket.first_response_due, False))
    elif ticket.next_update_due is not None and status in WITH_AGENTS and ticket.sla_paused_since is None:
        found.append((UPDATE, ticket.next_update_due, False))
    if ticket.resolution_due is not None and status != SOLVED:
        found.append((RESOLUTION, ticket.resolution_due, ticket.sla_paused_since is not None))
    return found


def refresh_queue_due(ticket) -> None:
    """Keep ``sla_next_due``, the agents' queue order, on whichever running promise is due first."""
    dues = [due for _, due, paused in _running(ticket) if not paused]
    ticket.sla_next_due = min(dues, default=NO_CLOCK)


def status_changed(ticket, old_status, new_status, now: datetime) -> None:
    """Pause or resume the resolution clock as the ticket moves through its lifecycle, and
    restart the update promise when the ticket comes back to the agents."""
    old_status, new_status = getattr(old_status, "value", old_status), getattr(new_status, "value", new_status)
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
        ticket.sla_paused_calendar_seconds = ((ticket.sla_paused_calendar_seconds or 0)
                                              + int((now - ticket.sla_paused_since).total_seconds()))
        ticket.sla_paused_since = None
    if new_status in WITH_AGENTS and old_status not in WITH_AGENTS:
        _restart_updates(ticket, now)
    recompute(ticket)


def _restart_updates(ticket, now: datetime) -> None:
    ticket.update_clock_since = now
    ticket.update_at_risk_at = ticket.update_breached_at = None


def agent_replied(ticket, now: datetime) -> None:
    """A public agent reply: the first one stops the first-response clock; each one restarts
    the update promise."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    _restart_updates(ticket, now)
    recompute(ticket)


def _clock(plan: Plan, calendar: BusinessCalendar, ticket, kind: str, due: datetime, paused: bool,
           now: datetime) -> Clock | None:
    priority, category = ticket.priority.value, ticket.category.value
    target = {RESPONSE: plan.response_target, RESOLUTION: plan.resolution_target,
              UPDATE: plan.update_target}[kind](priority, category)
    if target is None:
        return None
    # A paused clock stands still: its time left is what was left when it paused.
    since = ticket.sla_paused_since if paused else now
    if abs(due - since) > FAR:
        return Clock(kind, due, target, due - since, paused, False, approximate=True)
    left = _left(calendar, target, since, due)
    length = target.due
    if target.unit == BUSINESS_DAYS:
        began = ticket.update_clock_since if kind == UPDATE else ticket.created_at
        length = calendar.between(began, due)
    at_risk = timedelta(0) <= left <= length * plan.spec.sla.at_risk_when_left
    return Clock(kind, due, target, left, paused, at_risk)


def clocks(ticket, now: datetime | None = None) -> list[Clock]:
    """Every clock that applies now (running or paused), the most urgent first."""
    found = _plan_and_calendar(ticket)
    if found is None or ticket.best_effort:
        return []
    plan, calendar = found
    now = now or utcnow()
    result = [_clock(plan, calendar, ticket, kind, due, paused, now) for kind, due, paused in _running(ticket)]
    return sorted((c for c in result if c is not None), key=lambda c: (c.paused, c.due))


def clock(ticket, now: datetime | None = None) -> Clock | None:
    """The clock to show: the one due first among those running (or the paused one), or None."""
    found = clocks(ticket, now)
    return found[0] if found else None


def update_clock(ticket, now: datetime | None = None) -> Clock | None:
    """The running update promise ("next update by …"), or None."""
    return next((c for c in clocks(ticket, now) if c.kind == UPDATE), None)


def is_best_effort(ticket) -> bool:
    """Served without a guaranteed response time: a best-effort plan, or filed as such."""
    return bool(ticket.best_effort) and ticket.status != CLOSED


def assess(ticket, now: datetime) -> list[tuple[str, str]]:
    """(kind, "at_risk" | "breached") for each running clock the sweep should flag now."""
    marks = []
    for current in clocks(ticket, now):
        if current.paused:
            continue
        if current.overdue:
            marks.append((current.kind, "breached"))
        elif current.at_risk:
            marks.append((current.kind, "at_risk"))
    return marks
