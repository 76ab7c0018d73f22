"""From the services' values to the agents' API schemas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ..agent.services import ACTIVE
from ..auth.models import Organization
from ..extensions import db
from ..plans import history as plan_changes
from ..plans import hours
from ..plans import sla
from ..plans import services as plan_services
from ..plans.models import TimeEntry
from ..tickets import billing, priorities
from ..teams.models import Team
from ..tickets.models import NO_CLOCK, Ticket
from . import serialize
from .agent_schemas import (AgentOrgOut, AgentTicketDetail, OrganizationRef, OrgSummaryOut, OrgTimeEntryOut,
                            OrgTimeLoggedOut, PersonOut, PlanInForceOut, QueueTicketOut, TeamOut, TeamRef,
                            TicketTimeOut, TimeEntryOut)
from .schemas import utc


def person(user) -> PersonOut | None:
    return PersonOut(id=user.id, name=user.name, email=user.email) if user is not None else None


def team_ref(team: Team | None) -> TeamRef | None:
    return TeamRef(id=team.id, key=team.key, name=team.name) if team is not None else None


def team(found: Team) -> TeamOut:
    return TeamOut(id=found.id, key=found.key, name=found.name, active=found.active,
                   members=[person(u) for u in found.members])


def _routed(ticket: Ticket) -> dict:
    return {"team": team_ref(ticket.team), "area": ticket.area}


def queue_row(ticket: Ticket, requested, now: datetime) -> QueueTicketOut:
    running = sla.clock(ticket, now)
    return QueueTicketOut(
        **serialize.ticket_fields(ticket), **_routed(ticket),
        organization=OrganizationRef(id=ticket.organization.id, name=ticket.organization.name),
        requester=person(ticket.requester), assignee=person(ticket.assignee),
        sla=serialize.sla_clock(running) if running else None,
        sla_next_due=utc(ticket.sla_next_due) if ticket.sla_next_due != NO_CLOCK else None,
        priority_requested=requested.requested_priority.value if requested is not None else None)


def queue_rows(rows: list[Ticket], now: datetime) -> list[QueueTicketOut]:
    requested = priorities.open_requests(rows)
    return [queue_row(t, requested.get(t.id), now) for t in rows]


def time_entry(entry: TimeEntry) -> TimeEntryOut:
    return TimeEntryOut(id=entry.id, minutes=entry.minutes, worked_on=entry.worked_on, note=entry.note,
                        agent=entry.agent.name, created_at=utc(entry.created_at))


def organization_time(entry: TimeEntry, org: Organization) -> OrgTimeLoggedOut:
    """An entry without a ticket and what it bills: it is a query of its own (portal.plans.hours)."""
    found = hours.ledger(org, entry.worked_on)
    billed = hours.preview_organization_time(org, entry.kind, entry.minutes,
                                             entry.escalated_to_development, entry.caused_by_bug, entry.worked_on)
    return OrgTimeLoggedOut(
        entry=OrgTimeEntryOut(**dict(time_entry(entry)), kind=entry.kind,
                              escalated_to_development=entry.escalated_to_development,
                              caused_by_bug=entry.caused_by_bug),
        billable=entry.kind in found[0].billable_kinds if found is not None else None, billed_minutes=billed,
        hours=serialize.hours_of(billing.balance(org)))


def ticket_time(ticket: Ticket) -> TicketTimeOut:
    entries = db.session.scalars(select(TimeEntry).where(TimeEntry.ticket_id == ticket.id)
                                 .order_by(TimeEntry.worked_on, TimeEntry.id)).all()
    period = billing.preview(ticket)
    return TicketTimeOut(entries=[time_entry(e) for e in entries], logged_minutes=sum(e.minutes for e in entries),
                         period_logged_minutes=period[0] if period else None,
                         period_billed_minutes=period[1] if period else None,
                         escalated_to_development=ticket.escalated_to_development, caused_by_bug=ticket.caused_by_bug)


def ticket_detail(ticket: Ticket, agent) -> AgentTicketDetail:
    # The customer's view with the agent as viewer (internal notes and history included), and more.
    shown = dict(serialize.ticket_detail(ticket, agent))
    shown.update(organization=OrganizationRef(id=ticket.organization.id, name=ticket.organization.name),
                 requester=person(ticket.requester))
    return AgentTicketDetail(**shown, **_routed(ticket), assignee=person(ticket.assignee), plan=ticket.plan,
                             clocks=[serialize.sla_clock(c) for c in sla.clocks(ticket)], time=ticket_time(ticket))


def _open_tickets(organization_ids: list[int]) -> dict[int, int]:
    if not organization_ids:
        return {}
    return dict(db.session.execute(
        select(Ticket.organization_id, func.count(Ticket.id))
        .where(Ticket.organization_id.in_(organization_ids), Ticket.status.in_(ACTIVE))
        .group_by(Ticket.organization_id)).all())


def organization_summaries(organizations: list[Organization], now: datetime) -> list[OrgSummaryOut]:
    counts = _open_tickets([o.id for o in organizations])
    items = []
    for org in organizations:
        entry = plan_services.entry_in_force(org, now)
        items.append(OrgSummaryOut(
            id=org.id, name=org.name, timezone=org.timezone,
            plan=PlanInForceOut(key=entry.plan, name=plan_changes.plan_name(entry.plan), starts_on=entry.starts_on,
                                ends_on=entry.ends_on, trial=entry.trial) if entry else None,
            quota=serialize.quota_of(plan_services.quota(org, now)),
            hours=serialize.hours_of(billing.balance(org)), open_tickets=counts.get(org.id, 0)))
    return items


def organization(org: Organization, now: datetime) -> AgentOrgOut:
    # Agents see the hours balance, as on the ticket page's side panel.
    shown = serialize.organization(org, plan_services.quota(org, now), billing.balance(org), now)
    return AgentOrgOut(**dict(shown), id=org.id, domains=[d.domain for d in org.domains],
                       open_tickets=_open_tickets([org.id]).get(org.id, 0))
