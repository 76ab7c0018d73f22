"""The hours balance of an organization and the cost of a ticket: the plan's billing rules
(``portal.plans.hours``) applied to the tickets. Filing reads it too (prepaid hours used up),
so it needs nothing from the ticket services."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..auth.models import Organization
from ..extensions import db
from ..plans import hours
from ..plans.services import local_day
from .models import Ticket


def balance(organization: Organization, day: date | None = None) -> hours.Balance | None:
    """The organization's hours in the period holding ``day`` (today), or None without a ledger."""
    found = hours.ledger(organization, day or local_day(organization))
    if found is None:
        return None
    spec, period, entries, purchases = found
    ids = {entry.ticket_id for entry in entries if entry.ticket_id is not None}
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ids)))} if ids else {}
    return hours.make_balance(spec, period, entries, purchases, tickets)


def preview(ticket: Ticket, extra_minutes: int = 0) -> tuple[int, int] | None:
    """(logged, billed) minutes for the ticket in the current period if ``extra_minutes`` were
    logged now; None when the plan keeps no hours ledger (time is recorded, not billed)."""
    found = hours.ledger(ticket.organization, local_day(ticket.organization))
    if found is None:
        return None
    spec, period, _entries, _purchases = found
    logged = hours.logged_minutes(ticket.id, period) + max(0, extra_minutes)
    return logged, hours.billed_minutes(spec, logged, ticket.escalated_to_development, ticket.caused_by_bug)
