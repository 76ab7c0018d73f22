"""The SLA sweep: flags each promise (first response, resolution, update) at risk or
breached, once, records it in the ticket's history and tells the agents. The rules of the
clocks are in ``portal.plans.sla``; this module applies them to the tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, true, update

from ..auth.models import utcnow
from ..extensions import db
from ..plans import sla
from . import notify
from .models import Status, Ticket, TicketEvent

# (clock, state) -> the column that records it once
MARKS = {
    (sla.RESPONSE, "at_risk"): Ticket.response_at_risk_at,
    (sla.RESPONSE, "breached"): Ticket.response_breached_at,
    (sla.RESOLUTION, "at_risk"): Ticket.resolution_at_risk_at,
    (sla.RESOLUTION, "breached"): Ticket.resolution_breached_at,
    (sla.UPDATE, "at_risk"): Ticket.update_at_risk_at,
    (sla.UPDATE, "breached"): Ticket.update_breached_at,
}


def sweep(now: datetime | None = None) -> dict[str, list[str]]:
    """Mark running clocks at risk or breached, once each, and tell the assigned
    agent (or every agent when nobody is assigned). Every mark is a conditional
    UPDATE, so any number of concurrent sweeps mark and notify exactly once.

    An unanswered ticket's first response is swept whatever its status: that
    promise never pauses, so a breach is always recorded when its target passes."""
    now = now or utcnow()
    marked: dict[str, list[str]] = {"at_risk": [], "breached": []}
    running = Ticket.sla_paused_since.is_(None) & Ticket.status.not_in([Status.SOLVED, Status.CLOSED])
    candidates = db.session.scalars(
        select(Ticket).where(
            Ticket.status != Status.CLOSED,
            Ticket.best_effort.is_(False),
            or_(
                Ticket.first_response_at.is_(None) & Ticket.first_response_due.is_not(None)
                & Ticket.response_breached_at.is_(None),
                running & Ticket.resolution_due.is_not(None) & Ticket.resolution_breached_at.is_(None),
                running & Ticket.first_response_at.is_not(None) & Ticket.next_update_due.is_not(None)
                & Ticket.update_breached_at.is_(None) & Ticket.status.in_([Status.NEW, Status.OPEN]),
            ),
        ).order_by(Ticket.id)
    ).all()
    for ticket in candidates:
        clocks = {c.kind: c for c in sla.clocks(ticket, now)}
        for kind, state in sla.assess(ticket, now):
            column = MARKS[(kind, state)]
            if getattr(ticket, column.key) is not None:
                continue
            # The update promise restarts with each agent message: its mark belongs to one due time.
            guard = Ticket.next_update_due == ticket.next_update_due if kind == sla.UPDATE else true()
            won = db.session.execute(
                update(Ticket).where(Ticket.id == ticket.id, column.is_(None), guard).values({column: now})
                .execution_options(synchronize_session=False)
            ).rowcount
            if not won:
                db.session.rollback()
                continue
            db.session.add(TicketEvent(ticket_id=ticket.id, kind="sla", new_value=f"{kind}:{state}",
                                       internal=True, created_at=now))
            _notify(ticket, clocks[kind], state)
            db.session.commit()
            marked[state].append(ticket.reference)
    return marked


def _notify(ticket: Ticket, current: sla.Clock, state: str) -> None:
    for agent in notify.agents_for(ticket):
        notify.sla_alert(ticket, agent, current, state)
