"""The agents' side of the JSON API, under ``/api/v1/agent/``: the queue, any ticket with its internal
notes, several changes at once, replies and notes, time, organizations. The same tokens, limits and
problem documents as the rest of the API; the token's user's role decides: for a customer's or a
writer's token these endpoints do not exist (404), as /agent/ does not for them.

Concurrency: GET of a ticket answers an ETag (its last history entry and message, what the agent's
page calls ``seen``); a PATCH or a reply sent with ``If-Match`` is refused with 412 when someone else
changed the same thing, or wrote, since (portal.tickets.meanwhile). Without If-Match it is made.

Teams: ``GET /agent/teams`` lists them, the queue filters by ``team`` and PATCH moves a ticket
(portal.tickets.changes). ``POST /agent/tickets`` files for a customer (through
portal.tickets.services.file_ticket with ``filed_by``) and ``POST /agent/organizations/{id}/time``
logs time without a ticket (portal.plans.hours), both once per Idempotency-Key like the replies.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re

from flask import Blueprint, request, url_for
from spectree import Response, Tag
from sqlalchemy import select

from .. import audit
from ..agent import services as agent_services
from ..auth.models import Organization, User, utcnow
from ..errors import DomainError
from ..extensions import MAX_ID, db
from ..plans import hours
from ..plans import services as plan_services
from ..plans.models import TimeEntry
from ..teams import services as teams
from ..tickets import billing, changes
from ..tickets import services as tickets
from ..tickets.meanwhile import ChangedMeanwhile, Seen, seen
from ..tickets.models import Message, Ticket
from . import agent_serialize, bp, serialize, services, spec
from .agent_schemas import (AgentMessageIn, AgentOrgOut, AgentTicketDetail, AgentTicketIn, ChangedOut,
                            IfMatchHeaders, MessageHeaders, OrgListQuery, OrgSummaryPage, OrgTimeIn, OrgTimeLoggedOut,
                            QueuePage, QueueQuery, TeamList, TicketChangeIn, TimeIn, TimeLoggedOut)
from .problems import Problem, field_errors
from .routes import TOKEN, _errors, _invalid, api_user, file_ticket, ticket_draft
from .schemas import EventOut, IdempotencyHeaders, MessageOut, utc

agent_bp = Blueprint("agent", __name__, url_prefix="/agent")
bp.register_blueprint(agent_bp)

TAGS = [Tag(name="Agents", description=(
    "The agents' side: for an agent's or an admin's token; for everyone else these endpoints do not exist (404). "
    "GET of a ticket answers an ETag: sent back as If-Match with a change or a reply, it has them refused (412, "
    "changed-meanwhile) when someone else changed the same thing, or wrote, since; without it they are made."))]
# The API's names -> the services' (and back, for the field errors).
CHANGE_FIELDS = {"evaluation": "feature_state"}
API_NAMES = {service: api for api, service in CHANGE_FIELDS.items()}
NULLABLE = {"assignee", "team"}  # null means "nobody", "no team"
ETAG = re.compile(r'\s*(?:W/)?"(\d{1,10})\.(\d{1,10})"\s*')


@agent_bp.before_request
def agents_only():
    """After the API's own checks (a token, 401 without one): agents and admins only, everyone else 404."""
    if not tickets.can_work_tickets(api_user()):
        raise Problem(404, "No such resource, or not one you may see.")


def _ticket(reference: str) -> Ticket:
    try:
        return tickets.get_ticket(api_user(), reference)
    except tickets.TicketNotFound:
        raise Problem(404, f"No ticket {reference}.") from None


def _origin() -> audit.Origin:
    return audit.Origin.of(api_user(), request.remote_addr, "api")


# --- cursors and versions -------------------------------------------------------------------

def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _bad_cursor() -> Problem:
    return Problem(422, "This cursor is not one the API gave out.", "validation-error",
                   errors=field_errors({"cursor": "Use next_cursor from the previous page."}))


def _decode(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        text = None
    if not text or "\x00" in text:  # PostgreSQL refuses NUL in text
        raise _bad_cursor()
    return text


def _next_page(endpoint: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return url_for(endpoint, _external=True, **{**request.args.to_dict(flat=False), "cursor": cursor})


def etag(ticket: Ticket) -> dict[str, str]:
    shown = seen(ticket)
    return {"ETag": f'"{shown.event_id}.{shown.message_id}"'}


def _seen(if_match: str | None) -> Seen | None:
    """If-Match -> what the client was shown; None (no check) without one, or for ``*``."""
    if if_match is None or if_match.strip() == "*":
        return None
    found = ETAG.fullmatch(if_match)
    if found is None:
        raise Problem(400, 'If-Match takes the ETag of a GET of this ticket, such as "12.7".',
                      errors=field_errors({"If-Match": "Send the ETag exactly as GET answered it."}))
    return Seen(int(found[1]), int(found[2]))


def _stale(exc: ChangedMeanwhile) -> Problem:
    db.session.rollback()
    return Problem(412, str(exc.message), "changed-meanwhile",
                   changes=[EventOut(at=utc(e.created_at), kind=API_NAMES.get(e.kind, e.kind),
                                     by=e.actor.name if e.actor else None, old=e.old_value, new=e.new_value,
                                     reason=e.reason).model_dump(mode="json") for e in exc.changes.events],
                   messages=[serialize.message(m).model_dump(mode="json") for m in exc.changes.messages])


def _once(kind: str, target: str, body, key: str | None, make) -> tuple[int, dict[str, str]]:
    """``make`` once per Idempotency-Key: the id of what it made (for ``target``, a ticket's reference
    or an organization), and the answer's headers."""
    fingerprint = hashlib.sha256(f"{kind} {target} {body.model_dump_json()}".encode()).hexdigest()
    try:
        made, replayed = services.once(api_user(), key, fingerprint, kind, make)
    except services.IdempotencyKeyReused as exc:
        db.session.rollback()
        raise Problem(422, str(exc), "idempotency-key-reused") from None
    except services.RequestInProgress as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "idempotency-request-in-progress", headers={"Retry-After": "2"}) from None
    except ChangedMeanwhile as exc:
        raise _stale(exc) from None
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    return made, {"Idempotent-Replayed": "true"} if replayed else {}


# --- the queue and a ticket --------------------------------------------------------------------

def _filters(query: QueueQuery) -> agent_services.Filters:
    """The page's filters from the query: every field of Filters by its name, as the page's form sends it."""
    values = {}
    for name in (f.name for f in dataclasses.fields(agent_services.Filters)):
        value = getattr(query, name)
        values[name] = "" if value is None else str(value)
    return agent_services.Filters(**values)


def _after(cursor: str | None):
    if not cursor:
        return None
    after = agent_services.parse_cursor(_decode(cursor))
    if after is None or after[0].tzinfo is not None:
        raise _bad_cursor()
    return after


@agent_bp.get("/tickets")
@spec.validate(resp=Response(HTTP_200=QueuePage, **_errors(401, 404, 422, 429)), tags=TAGS, security=TOKEN)
def queue(query: QueueQuery):
    """The queue, as /agent/ shows it.

    Open tickets by time left on the SLA (overdue first, then due soonest, then those with no
    running clock), with the page's filters and search; follow next_cursor for more."""
    now = utcnow()
    try:
        rows, following = agent_services.queue(api_user(), _filters(query), _after(query.cursor), query.limit, now)
    except DomainError as exc:
        raise _invalid(exc) from None
    cursor = _encode(following) if following else None
    return QueuePage(items=agent_serialize.queue_rows(rows, now), next_cursor=cursor,
                     next=_next_page("api.agent.queue", cursor))


@agent_bp.get("/tickets/<reference>")
@spec.validate(resp=Response(HTTP_200=AgentTicketDetail, **_errors(401, 404, 429)), tags=TAGS, security=TOKEN)
def ticket(reference: str):
    """Any ticket, with internal notes, history, files, SLA clocks, billing and time.

    The ETag header is the version to send back as If-Match with a change or a reply."""
    found = _ticket(reference)
    return agent_serialize.ticket_detail(found, api_user()), 200, etag(found)


@agent_bp.patch("/tickets/<reference>")
@spec.validate(resp=Response(HTTP_200=ChangedOut, **_errors(400, 401, 404, 412, 422, 429)), tags=TAGS,
               security=TOKEN)
def change(reference: str, json: TicketChangeIn, headers: IfMatchHeaders):
    """Change status, priority, category, evaluation, team and assignee, any of them at once.

    All are made in one transaction, or none: each refusal is a field of one 422 problem (a new
    priority needs a reason; a ticket nobody answered cannot be solved). With If-Match, a change
    to something another agent changed since that GET is a 412 of type changed-meanwhile that
    lists what they did; changes to other things do not stand in the way. The team is an id of
    GET /agent/teams (null: no team); an assignee is one of the ticket's team."""
    found, agent = _ticket(reference), api_user()
    wanted = {CHANGE_FIELDS.get(name, name): getattr(json, name) for name in json.model_fields_set
              if name != "reason" and (getattr(json, name) is not None or name in NULLABLE)}
    if not wanted:
        raise Problem(422, "Say what to change.", "validation-error", errors=field_errors(
            {"body": "Send at least one of status, priority, category, evaluation, team or assignee."}))
    try:
        applied = changes.apply(found, agent, wanted, json.reason, _seen(headers.if_match), _origin())
    except ChangedMeanwhile as exc:
        raise _stale(exc) from None
    except changes.ChangesRefused as exc:
        db.session.rollback()
        raise _invalid(exc, {API_NAMES.get(name, name): message for name, message in exc.errors.items()}) from None
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc, {API_NAMES.get(exc.field, exc.field or "body"): exc.message}) from None
    return ChangedOut(changed={API_NAMES.get(name, name): list(values) for name, values in applied.changed.items()},
                      ticket=agent_serialize.ticket_detail(found, agent)), 200, etag(found)


@agent_bp.post("/tickets/<reference>/messages")
@spec.validate(resp=Response(HTTP_201=MessageOut, **_errors(400, 401, 404, 409, 412, 422, 429)), tags=TAGS,
               security=TOKEN)
def add_message(reference: str, json: AgentMessageIn, headers: MessageHeaders):
    """Reply to the customer, or add an internal note.

    A public reply is mailed to the customer and stops the first-response clock. With If-Match, a
    public reply is refused (412) when the customer wrote or the status changed since that GET;
    a note never is. With an Idempotency-Key a retry returns the same message."""
    found, agent, shown = _ticket(reference), api_user(), _seen(headers.if_match)

    def make():
        message = tickets.reply(found, agent, json.body, internal=json.internal, channel="api", commit=False,
                                seen=shown)
        return found.id, message.id

    message_id, answer_headers = _once("message", found.reference, json, headers.idempotency_key, make)
    return serialize.message(db.session.get(Message, message_id)), 201, {**answer_headers, **etag(found)}


@agent_bp.post("/tickets/<reference>/time")
@spec.validate(resp=Response(HTTP_201=TimeLoggedOut, **_errors(400, 401, 404, 409, 422, 429)), tags=TAGS,
               security=TOKEN)
def log_time(reference: str, json: TimeIn, headers: IdempotencyHeaders):
    """Log time spent on a ticket.

    The plan's billing rules decide what is billed (a minimum per ticket and period, more once
    escalated to development, nothing for our own bugs): the answer gives the ticket's logged and
    billed minutes and the organization's hours left. With an Idempotency-Key a retry logs nothing."""
    found, agent = _ticket(reference), api_user()

    def make():
        entry = billing.log_time(found, agent, json.minutes, json.worked_on, json.note, commit=False)
        audit.record("time.log", _origin(), target=("ticket", found.id, found.reference),
                     organization_id=found.organization_id,
                     detail={"minutes": entry.minutes, "worked_on": entry.worked_on.isoformat()})
        return found.id, entry.id

    entry_id, answer_headers = _once("time", found.reference, json, headers.idempotency_key, make)
    return TimeLoggedOut(entry=agent_serialize.time_entry(db.session.get(TimeEntry, entry_id)),
                         time=agent_serialize.ticket_time(found),
                         hours=serialize.hours_of(billing.balance(found.organization))), 201, answer_headers


@agent_bp.post("/tickets")
@spec.validate(resp=Response(HTTP_201=AgentTicketDetail, **_errors(400, 401, 404, 409, 422, 429)), tags=TAGS,
               security=TOKEN)
def file_for(json: AgentTicketIn, headers: IdempotencyHeaders):
    """File a ticket on a customer's behalf (they phoned, chatted, were visited or wrote).

    Their plan, quota, hours and SLA apply as if they had filed, and they get the usual
    acknowledgement; the channel is recorded. A requester who is not an active customer of an
    organization, or a channel their plan does not include, is a 422 problem naming the field;
    the plan's limits are 409s as for a customer's POST /tickets. With an Idempotency-Key a
    retry returns the same ticket."""
    agent = api_user()
    requester = db.session.get(User, json.requester)
    if requester is None:
        raise Problem(422, "No such customer.", "validation-error",
                      errors=field_errors({"requester": "Choose an active customer of an organization."}))
    draft = ticket_draft(json, requester.locale or "en", json.channel, area=json.area)
    fingerprint = hashlib.sha256(f"file-for {json.model_dump_json()}".encode()).hexdigest()
    ticket, answer_headers = file_ticket(requester, draft, headers.idempotency_key, fingerprint, filed_by=agent,
                                         endpoint="api.agent.ticket")
    return agent_serialize.ticket_detail(ticket, agent), 201, {**answer_headers, **etag(ticket)}


# --- teams ------------------------------------------------------------------------------------

@agent_bp.get("/teams")
@spec.validate(resp=Response(HTTP_200=TeamList, **_errors(401, 404, 429)), tags=TAGS, security=TOKEN)
def team_list():
    """The teams (functional areas) tickets are routed to, by name, with their members: the ids
    the queue's team filter and a change of team take."""
    return TeamList(items=[agent_serialize.team(t) for t in teams.all_teams()])


# --- organizations ------------------------------------------------------------------------------

@agent_bp.get("/organizations")
@spec.validate(resp=Response(HTTP_200=OrgSummaryPage, **_errors(401, 404, 422, 429)), tags=TAGS, security=TOKEN)
def organizations(query: OrgListQuery):
    """The customer organizations, by name: plan in force, this month's quota, hours left, open tickets."""
    statement = select(Organization).order_by(Organization.name)
    if query.q:
        pattern = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Organization.name.ilike(f"%{pattern}%", escape="\\"))
    if query.cursor:
        statement = statement.where(Organization.name > _decode(query.cursor))  # names are unique
    rows = db.session.scalars(statement.limit(query.limit + 1)).all()
    more, rows = len(rows) > query.limit, rows[:query.limit]
    cursor = _encode(rows[-1].name) if more else None
    return OrgSummaryPage(items=agent_serialize.organization_summaries(rows, utcnow()), next_cursor=cursor,
                          next=_next_page("api.agent.organizations", cursor))


def _organization(org_id: int) -> Organization:
    found = db.session.get(Organization, org_id)
    if found is None:
        raise Problem(404, f"No organization {org_id}.")
    return found


@agent_bp.get(f"/organizations/<int(max={MAX_ID}):org_id>")  # the maximum, written out for the OpenAPI document
@spec.validate(resp=Response(HTTP_200=AgentOrgOut, **_errors(401, 404, 429)), tags=TAGS, security=TOKEN)
def organization(org_id: int):
    """One organization: its plan in force and what changes next, targets, support hours, quota,
    hours balance, mail domains and open tickets."""
    return agent_serialize.organization(_organization(org_id), utcnow())


@agent_bp.post(f"/organizations/<int(max={MAX_ID}):org_id>/time")
@spec.validate(resp=Response(HTTP_201=OrgTimeLoggedOut, **_errors(400, 401, 404, 409, 422, 429)), tags=TAGS,
               security=TOKEN)
def log_organization_time(org_id: int, json: OrgTimeIn, headers: IdempotencyHeaders):
    """Log time spent with an organization without a ticket: a call, a video call, a visit, an
    onboarding or guided setup session.

    The plan's billing rules apply as to a ticket's time (minimums, development, our bugs), to
    the kinds the plan bills: the answer gives what this entry bills and the hours left. With an
    Idempotency-Key a retry logs nothing."""
    found, agent = _organization(org_id), api_user()

    def make():
        entry = hours.log_organization_time(found, agent, json.kind, json.minutes, json.worked_on, json.note,
                                            plan_services.local_day(found), escalated=json.escalated_to_development,
                                            bug=json.caused_by_bug, origin=_origin(), commit=False)
        db.session.flush()  # its id, recorded with the Idempotency-Key
        return None, entry.id

    entry_id, answer_headers = _once("organization-time", f"organization {found.id}", json,
                                     headers.idempotency_key, make)
    return agent_serialize.organization_time(db.session.get(TimeEntry, entry_id), found), 201, answer_headers
