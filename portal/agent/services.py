"""The queue: open tickets by time left on the SLA, with filters, search and keyset pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import selectinload

from ..auth.models import Role, User, utcnow
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db, parse_id
from ..tickets import meanwhile
from ..tickets import services as tickets
from ..teams import services as team_services
from ..teams.models import Team
from ..tickets.models import Category, Priority, Status, Ticket

PAGE = 50
ACTIVE = (Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER)
REFERENCE = re.compile(r"^\d{4}-\d{5}$")
SEARCH_DOCUMENT = func.to_tsvector(literal_column("'simple'"),
                                   Ticket.subject + literal_column("' '") + Ticket.description)


@dataclass
class Filters:
    status: str = "active"  # active, new, open, waiting_on_customer, solved, closed, all
    priority: str = ""
    category: str = ""
    organization: str = ""  # an organization id
    assignee: str = ""  # "", "mine", "none" or a user id
    # "" (the default: "mine" for an agent in a team, else "all"), "mine" (my teams' tickets, those of no
    # team, and those assigned to me), "all", "none" (no team) or a team id
    team: str = ""
    risk: str = ""  # "", "at_risk", "breached"
    q: str = ""

    @classmethod
    def from_args(cls, args) -> Filters:
        return cls(**{name: (args.get(name) or "").strip()[:200] for name in cls.__dataclass_fields__})

    def query_args(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v and not (k == "status" and v == "active")}


def cursor(ticket: Ticket) -> str:
    """A ticket's place in the queue, for keyset pages."""
    return f"{ticket.sla_next_due.isoformat()}~{ticket.id}"


def parse_cursor(value: str | None) -> tuple[datetime, int] | None:
    try:
        due, ticket_id = (value or "").split("~", 1)
        ticket_id = parse_id(ticket_id)
        return (datetime.fromisoformat(due), ticket_id) if ticket_id else None
    except ValueError:
        return None


def _search(q: str):
    if REFERENCE.match(q):
        return Ticket.reference == q
    if db.session.get_bind().dialect.name == "postgresql":
        # Written exactly as ix_tickets_search (migration 0006) so PostgreSQL uses that GIN index.
        return SEARCH_DOCUMENT.op("@@")(func.plainto_tsquery(literal_column("'simple'"), q))
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    words = [w for w in escaped.split() if w][:8]
    return and_(*[or_(Ticket.subject.ilike(f"%{w}%", escape="\\"), Ticket.description.ilike(f"%{w}%", escape="\\"))
                  for w in words])


def queue(agent: User, filters: Filters, after: tuple[datetime, int] | None = None, limit: int = PAGE,
          now: datetime | None = None) -> tuple[list[Ticket], str | None]:
    """One page of the queue, most urgent first: overdue, then due soonest, then tickets with no
    running clock. Returns the tickets and the cursor of the next page (None at the end)."""
    now = now or utcnow()
    query = select(Ticket).options(selectinload(Ticket.organization), selectinload(Ticket.requester),
                                   selectinload(Ticket.assignee), selectinload(Ticket.team))
    if filters.status in ("", "active"):
        query = query.where(Ticket.status.in_(ACTIVE))
    elif filters.status != "all":
        try:
            query = query.where(Ticket.status == Status(filters.status))
        except ValueError:
            raise DomainError(_l("Unknown status filter."), "status") from None
    for name, enum_cls, column, unknown in (
            ("priority", Priority, Ticket.priority, _l("Unknown priority filter.")),
            ("category", Category, Ticket.category, _l("Unknown category filter."))):
        value = getattr(filters, name)
        if value:
            try:
                query = query.where(column == enum_cls(value))
            except ValueError:
                raise DomainError(unknown, name) from None
    if (organization_id := parse_id(filters.organization)) is not None:
        query = query.where(Ticket.organization_id == organization_id)
    if filters.assignee == "mine":
        query = query.where(Ticket.assignee_id == agent.id)
    elif filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif (assignee_id := parse_id(filters.assignee)) is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    query = query.where(*_team_filter(agent, filters.team))
    if filters.risk == "breached":
        query = query.where(Ticket.sla_next_due < now)
    elif filters.risk == "at_risk":
        query = query.where(Ticket.sla_next_due >= now, or_(
            and_(Ticket.first_response_at.is_(None), Ticket.response_at_risk_at.is_not(None)),
            and_(Ticket.first_response_at.is_not(None), Ticket.resolution_at_risk_at.is_not(None)),
            and_(Ticket.first_response_at.is_not(None), Ticket.update_at_risk_at.is_not(None))))
    if filters.q:
        query = query.where(_search(filters.q))
    if after is not None:
        query = query.where(tuple_(Ticket.sla_next_due, Ticket.id) > tuple_(*after))
    rows = list(db.session.scalars(query.order_by(Ticket.sla_next_due, Ticket.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor(rows[-1]) if more and rows else None)


def team_scope(agent: User, value: str) -> str:
    """What the team filter means for this agent: "mine", "all", "none" or a team id. Its default is
    "mine" for an agent in at least one team (the queue opens on their teams' work), else "all"."""
    if value in ("mine", "all", "none") or parse_id(value) is not None:
        return value
    if value:
        raise DomainError(_l("Unknown team filter: choose a team from the list."), "team")
    return "mine" if team_services.team_ids_of(agent) else "all"


def _team_filter(agent: User, value: str) -> list:
    scope = team_scope(agent, value)
    if scope == "all":
        return []
    if scope == "none":
        return [Ticket.team_id.is_(None)]
    if scope == "mine":
        # Tickets of no team are everyone's, and an agent's own stay in view if they left the team.
        return [or_(Ticket.team_id.in_(team_services.team_ids_of(agent)), Ticket.team_id.is_(None),
                    Ticket.assignee_id == agent.id)]
    if db.session.get(Team, int(scope)) is None:
        raise DomainError(_l("That team does not exist (any more): choose one from the list."), "team")
    return [Ticket.team_id == int(scope)]


def agents() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role.in_([Role.AGENT, Role.ADMIN]),
                                                      User.active.is_(True)).order_by(User.name)))


def customers() -> list[User]:
    """The active customers an agent may file a ticket for, by organization, then name."""
    from ..auth.models import Organization

    return list(db.session.scalars(
        select(User).join(Organization, User.organization_id == Organization.id)
        .where(User.role.in_([Role.CUSTOMER, Role.CUSTOMER_ADMIN]), User.active.is_(True))
        .order_by(Organization.name, User.name, User.id).options(selectinload(User.organization))))


def claim(ticket: Ticket, agent: User) -> None:
    """Take the ticket: assign it to oneself (and open it if new). Under the ticket's lock: of two
    agents claiming it at once, the second is told who has it."""
    meanwhile.lock(ticket)
    if ticket.assignee_id is not None and ticket.assignee_id != agent.id:
        raise DomainError(_l("%(reference)s is already assigned to %(name)s.", reference=ticket.reference,
                             name=ticket.assignee.name))
    tickets.assign(ticket, agent, agent)


BULK_ACTIONS = ("assign", "status", "close")


def bulk(agent: User, references: list[str], action: str, value: str = "") -> tuple[list[str], dict[str, str]]:
    """Apply one action to many tickets; returns (changed references, {reference: why not})."""
    if action not in BULK_ACTIONS:
        raise DomainError(_l("Choose an action for the selected tickets."), "action")
    if not references:
        raise DomainError(_l("Select at least one ticket."), "ticket")
    assignee = None
    if action == "assign" and value:
        assignee = db.session.get(User, user_id) if (user_id := parse_id(value)) else None
        if assignee is None or assignee.role not in (Role.AGENT, Role.ADMIN):
            raise DomainError(_l("Choose an agent to assign the tickets to."), "value")
    changed, refused = [], {}
    for reference in dict.fromkeys(references):
        try:
            ticket = tickets.get_ticket(agent, reference)
            if action == "assign":
                tickets.assign(ticket, agent, assignee)
            elif action == "status":
                tickets.change_status(ticket, agent, value)
            else:
                tickets.change_status(ticket, agent, Status.CLOSED.value, "closed from the queue")
            changed.append(reference)
        except DomainError as exc:
            db.session.rollback()
            refused[reference] = exc.message
    return changed, refused
