"""Several changes to one ticket at once (the API's PATCH): all made, in one transaction under the
ticket's row lock, or none. Each goes through the same service as the ticket page's side panel, so
the rules (a reason for a new priority, no solving before the first answer, …) stay in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .. import audit
from ..auth.models import User
from ..errors import DomainError, lazy_gettext as _l
from ..extensions import db
from ..teams import services as teams
from . import meanwhile, services
from .meanwhile import Changes, ChangedMeanwhile, Seen
from .models import Ticket

NOT_AN_AGENT = _l("Tickets are assigned to agents.")


def _assignee(ticket: Ticket, agent: User, user_id: int | None, reason: str | None, seen: Seen | None) -> None:
    assignee = db.session.get(User, user_id) if user_id is not None else None
    if user_id is not None and (assignee is None or not assignee.active or not services.can_work_tickets(assignee)):
        raise DomainError(NOT_AN_AGENT, "assignee")  # an unknown id is no agent: never "unassigned" by mistake
    services.assign(ticket, agent, assignee, seen=seen, commit=False)


def _team(ticket: Ticket, agent: User, team_id: int | None, reason: str | None, seen: Seen | None) -> None:
    # An unknown or inactive id is refused (never "no team" by mistake), as the page's select does.
    team = teams.team_for_choice(str(team_id)) if team_id is not None else None
    services.change_team(ticket, agent, team, seen=seen, commit=False)


def _priority(ticket: Ticket, agent: User, value: str, reason: str | None, seen: Seen | None) -> None:
    if value == ticket.priority.value:
        return  # the priority it has: no change, so no reason is owed
    services.change_priority(ticket, agent, value, reason or "", seen=seen, commit=False)


# field -> how to make it, without committing. In this order: the category first (a feature request
# gets its evaluation), the team before the assignee (who is assigned within the new team), the
# status last (closing settles an open priority request). A new kind of change is one entry here.
APPLY: dict[str, Callable] = {
    "category": lambda t, agent, value, reason, seen: services.change_category(t, agent, value, seen=seen,
                                                                               commit=False),
    "priority": _priority,
    "team": _team,
    "assignee": _assignee,
    "feature_state": lambda t, agent, value, reason, seen: services.set_feature_state(t, agent, value, reason,
                                                                                     seen=seen, commit=False),
    "status": lambda t, agent, value, reason, seen: services.change_status(t, agent, value, reason, seen=seen,
                                                                           commit=False),
}


class ChangesRefused(DomainError):
    """At least one change was refused, so none was made: ``errors`` is field -> message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(next(iter(errors.values())), next(iter(errors)))
        self.errors = errors


@dataclass
class Applied:
    """What changed: field -> (old, new), as the ticket's history words it."""

    changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _values(ticket: Ticket) -> dict[str, str | None]:
    return {"category": ticket.category.value, "priority": ticket.priority.value,
            "team": str(ticket.team_id) if ticket.team_id else None,
            "assignee": str(ticket.assignee_id) if ticket.assignee_id else None,
            "feature_state": ticket.feature_state.value if ticket.feature_state else None,
            "status": ticket.status.value}


def apply(ticket: Ticket, agent: User, changes: Mapping[str, object], reason: str | None = None,
          seen: Seen | None = None, origin: audit.Origin | None = None) -> Applied:
    """Make ``changes`` (field -> new value; the assignee as a user id or None, the team as a team id
    or None) and commit once.
    Every change is tried, so every refusal is told at once: ChangesRefused with a message per
    field, or ChangedMeanwhile when someone else changed the same thing after ``seen``; either way
    nothing is saved. ``origin``, when given, records the change in the audit log."""
    if not services.can_work_tickets(agent):
        raise DomainError(_l("Only agents change tickets."))
    unknown = [name for name in changes if name not in APPLY]
    if unknown:
        raise DomainError(_l("This cannot be changed here."), unknown[0])
    if not changes:
        raise DomainError(_l("Say what to change."))
    meanwhile.lock(ticket)
    before = _values(ticket)
    errors: dict[str, str] = {}
    stale = Changes()
    for name, make in APPLY.items():
        if name not in changes:
            continue
        try:
            make(ticket, agent, changes[name], reason, seen)
        except ChangedMeanwhile as exc:  # raised before the service wrote anything: the next one may go on
            stale.events += [e for e in exc.changes.events if e not in stale.events]
            stale.messages += [m for m in exc.changes.messages if m not in stale.messages]
        except DomainError as exc:
            errors[exc.field or name] = exc.message
    if stale:
        db.session.rollback()
        raise ChangedMeanwhile(stale, "status" if "status" in changes else next(iter(changes)))
    if errors:
        db.session.rollback()
        raise ChangesRefused(errors)
    db.session.flush()
    after = _values(ticket)
    applied = Applied({name: (before[name], after[name]) for name in after if before[name] != after[name]})
    if origin is not None and applied.changed:
        audit.record("ticket.update", origin, target=("ticket", ticket.id, ticket.reference),
                     organization_id=ticket.organization_id,
                     detail={name: {"from": old, "to": new} for name, (old, new) in applied.changed.items()})
    db.session.commit()
    return applied
