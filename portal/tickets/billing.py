"""Time on tickets and what it costs: agents log time and flag escalations and our bugs;
the balance applies the plan's billing rules (``portal.plans.hours``) to the tickets."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..auth.models import Organization, User, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from ..plans import hours
from ..plans.models import TimeEntry
from ..plans.services import local_day
from .models import Ticket
from .services import _event, can_work_tickets


def balance(organization: Organization, day: date | None = None) -> hours.Balance | None:
    """The organization's hours in the period holding ``day`` (today), or None without a ledger."""
    found = hours.ledger(organization, day or local_day(organization))
    if found is None:
        return None
    spec, period, entries, purchases = found
    ids = {entry.ticket_id for entry in entries}
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
    return hours.make_balance(spec, period, entries, purchases, tickets)


def log_time(ticket: Ticket, agent: User, minutes: int | str | None, worked_on: date | None = None,
             note: str | None = None) -> TimeEntry:
    if not can_work_tickets(agent):
        raise DomainError(_l("Only agents log time."))
    today = utcnow().date()
    worked_on = worked_on or today
    minutes = hours.check_time(minutes, worked_on, ticket.created_at.date(), today)
    note = (note or "").strip()[:1000] or None
    entry = TimeEntry(ticket_id=ticket.id, organization_id=ticket.organization_id, agent_id=agent.id,
                      minutes=minutes, worked_on=worked_on, note=note)
    db.session.add(entry)
    db.session.commit()
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


def preview(ticket: Ticket, extra_minutes: int = 0) -> tuple[int, int] | None:
    """(logged, billed) minutes for the ticket in the current period if ``extra_minutes`` were
    logged now; None when the plan keeps no hours ledger (time is recorded, not billed)."""
    found = hours.ledger(ticket.organization, local_day(ticket.organization))
    if found is None:
        return None
    spec, period, _entries, _purchases = found
    logged = hours.logged_minutes(ticket.id, period) + max(0, extra_minutes)
    return logged, hours.billed_minutes(spec, logged, ticket.escalated_to_development, ticket.caused_by_bug)
