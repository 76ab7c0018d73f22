"""Time on tickets and what it costs: agents log time and flag escalations and our bugs;
the balance applies the plan's billing rules (``portal.plans.hours``) to the tickets."""

from __future__ import annotations

from datetime import date


from ..auth.models import User
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from ..plans import hours
from ..plans.models import TimeEntry
from ..plans.services import local_day
from .ledger import balance, preview  # noqa: F401  (the billing of tickets, in one place for callers)
from .models import Ticket
from .services import _event, can_work_tickets


def log_time(ticket: Ticket, agent: User, minutes: int | str | None, worked_on: date | None = None,
             note: str | None = None, commit: bool = True) -> TimeEntry:
    """``commit=False`` leaves the commit to the caller, whose transaction the entry joins (the API
    records its Idempotency-Key with it)."""
    if not can_work_tickets(agent):
        raise DomainError(_l("Only agents log time."))
    # The organization's own day, as its ledger counts periods: in Madrid, 00:30 on the 1st of
    # January is in the new contract period although the UTC date still says December.
    today = local_day(ticket.organization)
    worked_on = worked_on or today
    minutes = hours.check_time(minutes, worked_on, ticket.created_at.date(), today)
    note = (note or "").strip()[:1000] or None
    entry = TimeEntry(ticket_id=ticket.id, organization_id=ticket.organization_id, agent_id=agent.id,
                      minutes=minutes, worked_on=worked_on, note=note)
    db.session.add(entry)
    if commit:
        db.session.commit()
    else:
        db.session.flush()  # the id, for the caller
    return entry


def set_billing_flags(ticket: Ticket, agent: User, escalated: bool | None = None, bug: bool | None = None) -> None:
    """Escalation to development and "caused by our bug": both change what is billed, both go in the history."""
    if not can_work_tickets(agent):
        raise DomainError(_l("Only agents change billing."))
    if escalated is not None and escalated != ticket.escalated_to_development:
        _event(ticket, agent, "escalated", old=str(ticket.escalated_to_development).lower(),
               new=str(escalated).lower())
        ticket.escalated_to_development = escalated
    if bug is not None and bug != ticket.caused_by_bug:
        _event(ticket, agent, "bug", old=str(ticket.caused_by_bug).lower(), new=str(bug).lower())
        ticket.caused_by_bug = bug
    db.session.commit()
