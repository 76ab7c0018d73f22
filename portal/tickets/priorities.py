"""After filing, the customer may ask for another priority, with a reason; an agent accepts
(the priority changes and the SLA is recomputed, as for any re-classification) or declines.
Both steps are kept in the ticket's history, which the customer reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..auth.models import User, utcnow
from ..errors import DomainError, lazy_gettext as _l, lazy_number
from ..extensions import db
from ..plans import services as plan_services
from . import notify
from .models import Priority, PriorityRequest, Status, Ticket
from .services import _event, can_work_tickets, change_priority, priority_scheme

REASON_MAX = 2000
ACCEPTED, DECLINED = "accepted", "declined"


class PriorityRequestConflict(DomainError):
    """The ticket's or the request's state does not allow this step now (the API's 409)."""


class PriorityRequestNotFound(DomainError):
    pass


def open_request(ticket: Ticket) -> PriorityRequest | None:
    return db.session.scalar(select(PriorityRequest).where(PriorityRequest.ticket_id == ticket.id,
                                                           PriorityRequest.decision.is_(None)))


def open_requests(tickets) -> dict[int, PriorityRequest]:
    """The open request of each of these tickets that has one (the agent's queue marks them)."""
    ids = [t.id for t in tickets]
    if not ids:
        return {}
    return {r.ticket_id: r for r in db.session.scalars(
        select(PriorityRequest).where(PriorityRequest.ticket_id.in_(ids), PriorityRequest.decision.is_(None)))}


def requestable(ticket: Ticket) -> tuple[str, ...]:
    """The priorities the customer may ask for: the plan's choices other than the current one."""
    scheme = priority_scheme(plan_services.get_plan(ticket.plan))
    return tuple(p for p in scheme.choices() if p != ticket.priority.value)


def _reason(text: str | None, field: str, required: bool) -> str | None:
    text = (text or "").strip()
    if required and not text:
        raise DomainError(_l("Say why the ticket needs another priority: the agent decides on your reason."), field)
    if len(text) > REASON_MAX:
        raise DomainError(_l("A reason can have at most %(max)s characters.", max=lazy_number(REASON_MAX)), field)
    return text or None


def request_change(ticket: Ticket, customer: User, priority: str, reason: str,
                   now: datetime | None = None) -> PriorityRequest:
    """The customer asks for ``priority``. One open request per ticket."""
    if not customer.role.is_customer:
        raise DomainError(_l("Only the customer's side asks for another priority; agents change it."), "priority")
    if ticket.status is Status.CLOSED:
        raise PriorityRequestConflict(_l("This ticket is closed, so its priority no longer changes. File a new "
                                         "ticket and mention this reference."), "priority")
    scheme = priority_scheme(plan_services.get_plan(ticket.plan))
    if scheme.scheme == "fixed":
        raise PriorityRequestConflict(_l("Your plan gives every ticket the same priority."), "priority")
    if open_request(ticket) is not None:
        raise PriorityRequestConflict(_l("This ticket already has a priority request waiting for an agent's "
                                         "decision. You can ask again once it is decided."), "priority")
    if priority not in scheme.choices():
        raise DomainError(_l("Choose one of the severity levels your plan defines.") if scheme.scheme == "severity"
                          else _l("Choose P1, P2, P3 or P4."), "priority")
    if priority == ticket.priority.value:
        raise DomainError(_l("The ticket already has this priority."), "priority")
    reason = _reason(reason, "reason", required=True)
    now = now or utcnow()
    request = PriorityRequest(ticket_id=ticket.id, requested_by_id=customer.id, current_priority=ticket.priority,
                              requested_priority=Priority(priority), reason=reason, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:  # another request of the same moment won the ticket's one open slot
        raise PriorityRequestConflict(_l("This ticket already has a priority request waiting for an agent's "
                                         "decision. You can ask again once it is decided."), "priority") from None
    _event(ticket, customer, "priority_requested", old=ticket.priority.value, new=priority, reason=reason, now=now)
    ticket.updated_at = now
    notify.priority_requested(ticket, request)
    db.session.commit()
    return request


def decide(ticket: Ticket, agent: User, request_id: int, accept: bool, reason: str | None = None,
           now: datetime | None = None) -> PriorityRequest:
    """Accept (the priority changes through change_priority, which recomputes the SLA) or decline
    (with an optional reason). A request is decided once: the second click is refused."""
    if not can_work_tickets(agent):
        raise DomainError(_l("Only agents decide on priority requests."))
    request = db.session.get(PriorityRequest, request_id)
    if request is None or request.ticket_id != ticket.id:
        raise PriorityRequestNotFound(_l("No such priority request on this ticket."))
    reason = _reason(reason, "decline_reason", required=False)
    if accept and ticket.status is Status.CLOSED:
        raise PriorityRequestConflict(_l("This ticket is closed, so its priority no longer changes."), "decision")
    now = now or utcnow()
    decided = db.session.execute(
        update(PriorityRequest).where(PriorityRequest.id == request.id, PriorityRequest.decision.is_(None))
        .values(decision=ACCEPTED if accept else DECLINED, decided_by_id=agent.id, decided_at=now,
                decline_reason=None if accept else reason)
        .returning(PriorityRequest.id).execution_options(synchronize_session=False)
    ).scalar()
    if decided is None:
        db.session.rollback()
        raise PriorityRequestConflict(_l("This priority request was already decided."), "decision")
    requested = request.requested_priority.value
    db.session.refresh(request)  # the decision, as the UPDATE wrote it
    if accept:
        _event(ticket, agent, "priority_request_accepted", old=ticket.priority.value, new=requested, now=now)
        notify.priority_decided(ticket, request)  # queued: change_priority's commit saves it with the change
        change_priority(ticket, agent, requested, request.reason, now=now)  # commits; recomputes the SLA
        db.session.commit()  # the decision and its mail, even if the priority was already the one asked for
    else:
        _event(ticket, agent, "priority_request_declined", old=ticket.priority.value, new=requested, reason=reason,
               now=now)
        ticket.updated_at = now
        notify.priority_decided(ticket, request)
        db.session.commit()
    return request


def requests_of(ticket: Ticket) -> list[PriorityRequest]:
    return list(db.session.scalars(select(PriorityRequest).where(PriorityRequest.ticket_id == ticket.id)
                                   .order_by(PriorityRequest.id)))
