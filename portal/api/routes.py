"""The API's endpoints: authenticate, call the same services as the pages, answer JSON."""

import base64
import hashlib
import inspect
import logging
import secrets
import time
from datetime import UTC
from pathlib import Path

from flask import current_app, g, request, url_for
from spectree import Response
from werkzeug.exceptions import HTTPException

from ..auth.models import Role, User, utcnow
from ..errors import DomainError
from ..extensions import MAX_ID, db, limiter, parse_id
from ..kb import search as kb_index
from ..kb import services as kb_services
from ..onboarding import services as onboarding
from ..plans import hours
from ..plans import services as plan_services
from ..tickets import billing, priorities
from ..tickets import services as tickets
from ..tickets.attachments import StorageError, Upload, path_of
from ..tickets.models import Attachment, Category, Priority, Status, Ticket
from . import bp, serialize, services, spec
from .problems import Problem, ProblemOut, field_errors, problem_response
from .schemas import (ArticleOut, AttachmentsIn, AttachmentsOut, IdempotencyHeaders, MessageOut, OnboardingOut,
                      OrgOut, PriorityRequestIn, PriorityRequestOut, ReopenIn, ReplyIn, SearchQuery, SearchResults, TicketDetail, TicketIn, TicketListQuery,
                      TicketPage)

log = logging.getLogger(__name__)

TOKEN = {"bearer": []}
TOKEN_OPTIONAL = [{}, {"bearer": []}]
PUBLIC_ENDPOINTS = {"api.openapi", "api.kb_search", "api.kb_article"}
# Field names of the ticket services -> the API's names for them.
TICKET_FIELDS = {"affected_account": "affected_user", "priority_override": "priority"}


def _errors(*statuses: int) -> dict:
    return {f"HTTP_{status}": ProblemOut for status in statuses}


# --- authentication and limits --------------------------------------------------------

def current_token():
    """The request's token, checked once per request (the rate limiter asks first)."""
    if "api_token" not in g:
        g.api_token, g.api_auth_error = None, None
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, secret = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                g.api_auth_error = "Send the token as: Authorization: Bearer pat_…"
            else:
                try:
                    g.api_token = services.authenticate(secret.strip())
                except services.InvalidToken as exc:
                    db.session.rollback()
                    g.api_auth_error = str(exc)
    return g.api_token


def api_user() -> User | None:
    token = current_token()
    return token.user if token is not None else None


def _rate_key() -> str:
    token = current_token()
    return f"token:{token.id}" if token is not None else f"address:{request.remote_addr}"


def _rate_limit() -> str:
    config = current_app.config
    return config["API_RATE_LIMIT"] if current_token() is not None else config["API_RATE_LIMIT_ANONYMOUS"]


# One budget per token across the whole API (not per endpoint): a script cannot multiply it.
limiter.shared_limit(_rate_limit, scope="api", key_func=_rate_key)(bp)


@bp.before_request
def authenticate():
    current_token()
    if g.api_auth_error:
        raise Problem(401, g.api_auth_error, headers={"WWW-Authenticate": 'Bearer realm="portal"'})
    if g.api_token is None and request.endpoint not in PUBLIC_ENDPOINTS:
        raise Problem(401, "This endpoint needs a personal API token: Authorization: Bearer pat_…",
                      headers={"WWW-Authenticate": 'Bearer realm="portal"'})
    if request.method in ("POST", "PATCH"):
        _check_body()
    if _has_nul():
        raise Problem(400, "Text may not contain NUL characters (\\u0000).")


def _check_body() -> None:
    """A body the endpoint can read: JSON that parses (nested deeper than the parser goes is no JSON
    anyone sends), and JSON, not a form, for the endpoints that take JSON."""
    if request.is_json and request.get_data():
        try:
            parsed = request.get_json(silent=True)
        except RecursionError:
            raise Problem(400, "The body is not valid JSON: it is nested too deeply.") from None
        if parsed is None:
            raise Problem(400, "The body is not valid JSON.")
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and _takes_json():
        raise Problem(400, "This endpoint takes a JSON body: send it with Content-Type: application/json.")


def _takes_json() -> bool:
    view = current_app.view_functions.get(request.endpoint)
    return view is not None and "json" in inspect.signature(view).parameters  # as spectree reads the body


def _has_nul() -> bool:
    """A NUL character is no text anyone types, and PostgreSQL refuses it in strings. (Form fields and
    the parsed query string have lost theirs already, portal.web.TypedText: the raw one is asked.)"""
    if "\x00" in request.path or "\x00" in request.headers.get("Idempotency-Key", ""):
        return True
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        return True
    if request.is_json:
        body = request.get_data().lower()
        return b"\x00" in body or b"\\u0000" in body
    return False


@bp.after_request
def rate_limit_headers(response):
    limit = limiter.current_limit
    if limit is not None:
        response.headers["X-RateLimit-Limit"] = str(limit.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(limit.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(limit.reset_at))
    return response


@bp.errorhandler(Problem)
def problem(exc: Problem):
    return problem_response(exc)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return problem_for(exc)


def problem_for(exc: HTTPException):
    """Any HTTP error inside /api/, even one raised before routing, as a problem document."""
    code = exc.code or 500
    if code == 429:
        limit = getattr(limiter, "current_limit", None)
        wait = max(1, int(limit.reset_at - time.time())) if limit else 60
        return problem_response(Problem(429, f"Limit of {exc.description} reached. Retry in {wait} seconds.",
                                        headers={"Retry-After": str(wait)}))
    if code == 503:
        wait = getattr(exc, "retry_after", None)
        return problem_response(Problem(503, "The portal cannot reach its database right now; nothing was saved. "
                                             "Retry in a few seconds.",
                                        headers={"Retry-After": str(wait)} if wait else {}))
    if code >= 500:
        error_id = secrets.token_hex(6)
        log.error("API error %s on %s %s", error_id, request.method, request.path,
                  exc_info=getattr(exc, "original_exception", None))
        return problem_response(Problem(500, f"Something went wrong on our side (error ID {error_id}). "
                                             "Quote it in a ticket if it keeps happening."))
    details = {404: "No such resource, or not one you may see.",
               405: f"{request.path} does not accept {request.method}.",
               413: "What you sent is larger than the portal accepts."}
    headers = {"Allow": ", ".join(exc.valid_methods)} if code == 405 and getattr(exc, "valid_methods", None) else {}
    return problem_response(Problem(code, details.get(code, exc.description or "The request was refused."),
                                    headers=headers))


# --- the OpenAPI document ----------------------------------------------------------------

@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    """The OpenAPI 3.1 document of this API, generated from its schemas."""
    return current_app.json.response(serialize.openapi_document())


# --- knowledge base ---------------------------------------------------------------------

def _lang(requested: str | None) -> str:
    user = api_user()
    if requested:
        return requested
    return user.locale if user is not None and user.locale in current_app.config["LANGUAGES"] else "en"


def _can_see_drafts() -> bool:
    user = api_user()
    return user is not None and user.can_see_drafts


@bp.get("/kb/search")
@spec.validate(resp=Response(HTTP_200=SearchResults, **_errors(401, 429, 503)), tags=["Knowledge base"],
               security=TOKEN_OPTIONAL)
def kb_search(query: SearchQuery):
    """Search the knowledge base.

    The same search as the portal's search box: stemming per language, typo tolerance,
    "did you mean" and highlighted snippets. Public articles need no token; writers and
    admins also find drafts."""
    lang = _lang(query.lang)
    results = kb_index.search(Path(current_app.config["INDEX_DIR"]), query.q, lang=lang, type=query.type,
                               category=(query.category or "").strip().lower() or None,
                               include_drafts=_can_see_drafts(), page=query.page, pagelen=query.limit)
    if results.unavailable:
        raise Problem(503, "The search index is being rebuilt; try again in a minute.", "search-unavailable",
                      headers={"Retry-After": "60"})
    user = api_user()
    if results.query and query.page == 1:
        kb_services.record_search(results.query, lang, results.total, user.id if user else None, query.type,
                                  query.category)
    following = None
    if results.has_next and query.page < 100:
        following = url_for("api.kb_search", _external=True,
                            **{**query.model_dump(exclude_none=True), "page": query.page + 1})
    return serialize.search_results(results, query, following)



@bp.get("/kb/articles/<slug>")
@spec.validate(resp=Response(HTTP_200=ArticleOut, **_errors(401, 404, 429)), tags=["Knowledge base"],
               security=TOKEN_OPTIONAL)
def kb_article(slug: str):
    """One article: its metadata and its HTML."""
    try:
        article, rendered = kb_services.get_article(Path(current_app.config["KB_DIR"]), slug, _can_see_drafts())
    except kb_services.ArticleNotFound:
        raise Problem(404, f"No article {slug!r}.") from None
    user = api_user()
    kb_services.record_view(slug, article.lang, user.id if user else None)
    return serialize.article(article, rendered)


# --- tickets -------------------------------------------------------------------------------

def _ticket_user() -> User:
    user = api_user()
    if user.role is Role.WRITER:
        raise Problem(403, "Writers have no access to tickets.")
    return user


def _ticket(reference: str) -> Ticket:
    try:
        return tickets.get_ticket(_ticket_user(), reference)
    except tickets.TicketNotFound:
        raise Problem(404, f"No ticket {reference}, or not one you may see.") from None


def _customer() -> User:
    user = _ticket_user()
    if not user.role.is_customer:
        raise Problem(403, "Only the customer's side can do this.")
    return user


def _invalid(exc: DomainError, errors: dict[str, str] | None = None) -> Problem:
    if isinstance(exc, StorageError):  # the portal's disk, not the request: retrying later can work
        return Problem(exc.status, str(exc), "storage-full" if exc.status == 507 else "service-unavailable",
                       headers={"Retry-After": "60"})
    # str(): a rule's message may be a lazy translation; it becomes text in the reader's language here.
    errors = errors or {exc.field or "body": str(exc)}
    renamed = {TICKET_FIELDS.get(name, name): str(message) for name, message in errors.items()}
    count = len(renamed)
    return Problem(422, next(iter(renamed.values())) if count == 1 else f"{count} fields need attention.",
                   "validation-error",
                   errors=field_errors(renamed))


@bp.post("/tickets")
@limiter.limit(lambda: current_app.config["API_RATE_LIMIT_FILING"], key_func=_rate_key)
@spec.validate(resp=Response(HTTP_201=TicketDetail, **_errors(400, 401, 403, 409, 422, 429)), tags=["Tickets"],
               security=TOKEN)
def create_ticket(json: TicketIn, headers: IdempotencyHeaders):
    """File a ticket.

    As the form on the portal does: the priority comes from impact and urgency (unless
    overridden), the plan's response target applies, and the ticket counts against the
    monthly quota. With an Idempotency-Key a retry returns the same ticket; the same key
    with another body is refused (422). A refused quota is a 409 of type
    ticket-quota-exceeded."""
    user = _ticket_user()
    if not user.role.is_customer or user.organization_id is None:
        raise Problem(403, "Only customers of an organization file tickets.")
    draft = ticket_draft(json, user.locale or "en", "api")
    fingerprint = hashlib.sha256(json.model_dump_json().encode()).hexdigest()
    ticket, response_headers = file_ticket(user, draft, headers.idempotency_key, fingerprint)
    return serialize.ticket_detail(ticket, user), 201, response_headers


def ticket_draft(json: TicketIn, lang: str, channel: str, area: str | None = None) -> tickets.TicketDraft:
    return tickets.TicketDraft(
        category=json.category, subject=json.subject, description=json.description, impact=json.impact,
        urgency=json.urgency, submission_key="", priority_override=json.priority, severity=json.severity,
        severity_confirmed=json.severity_confirmed, steps_to_reproduce=json.steps_to_reproduce,
        affected_account=json.affected_user, lang=lang, channel=channel, area=area)


def file_ticket(user: User, draft: tickets.TicketDraft, idempotency_key: str | None, fingerprint: str,
                filed_by: User | None = None, endpoint: str = "api.get_ticket") -> tuple[Ticket, dict[str, str]]:
    """File once per Idempotency-Key (the customer's POST and the agents' filing on their behalf):
    the ticket and the answer's headers; every refusal a problem (409 for the plan's limits)."""
    try:
        ticket, replayed = services.file_ticket(user, draft, idempotency_key, fingerprint, filed_by=filed_by)
    except plan_services.QuotaExceeded as exc:
        db.session.rollback()
        raise Problem(409, f"{exc} The count starts again at {exc.quota.resets_at.isoformat()}Z.",
                      "ticket-quota-exceeded", limit=exc.quota.limit, used=exc.quota.used,
                      resets_at=f"{exc.quota.resets_at.isoformat()}Z") from None
    except plan_services.PlanExpired as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "plan-expired") from None
    except hours.HoursUsedUp as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "hours-used-up", left_minutes=exc.balance.left_minutes,
                      period_ends=exc.balance.period.last_day.isoformat()) from None
    except services.IdempotencyKeyReused as exc:
        raise Problem(422, str(exc), "idempotency-key-reused") from None
    except services.RequestInProgress as exc:
        raise Problem(409, str(exc), "idempotency-request-in-progress", headers={"Retry-After": "2"}) from None
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc, draft.errors) from None
    response_headers = {"Location": url_for(endpoint, reference=ticket.reference)}
    if replayed:
        response_headers["Idempotent-Replayed"] = "true"
    return ticket, response_headers


@bp.get("/tickets")
@spec.validate(resp=Response(HTTP_200=TicketPage, **_errors(401, 403, 422, 429)), tags=["Tickets"], security=TOKEN)
def list_tickets(query: TicketListQuery):
    """List the tickets you may see.

    A customer's own tickets; every ticket of the organization for a customer admin;
    every ticket for agents and admins. Newest first; follow next_cursor for more."""
    user = _ticket_user()
    statement = tickets.visible_tickets(user)
    if query.status:
        statement = statement.where(Ticket.status.in_([Status(s) for s in query.status]))
    if query.category:
        statement = statement.where(Ticket.category == Category(query.category))
    if query.priority:
        statement = statement.where(Ticket.priority == Priority(query.priority))
    if query.updated_since:
        try:
            since = query.updated_since.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00
            raise Problem(422, "This time is out of range.", "validation-error",
                          errors=field_errors({"updated_since": "Give a time between the years 1 and 9999."})) from None
        statement = statement.where(Ticket.updated_at > since)
    if query.cursor:
        statement = statement.where(Ticket.id < _decode_cursor(query.cursor))
    rows = db.session.scalars(statement.order_by(Ticket.id.desc()).limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    cursor = _encode_cursor(rows[-1].id) if more else None
    following = url_for("api.list_tickets", _external=True, **{
        **request.args.to_dict(flat=False), "cursor": cursor}) if cursor else None
    return TicketPage(items=[serialize.ticket_summary(t) for t in rows], next_cursor=cursor, next=following)


def _encode_cursor(ticket_id: int) -> str:
    return base64.urlsafe_b64encode(f"t{ticket_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ticket_id = parse_id(text[1:]) if text.startswith("t") else None
        if ticket_id is not None:
            return ticket_id
    except (ValueError, UnicodeDecodeError):
        pass
    raise Problem(422, "This cursor is not one the API gave out.", "validation-error",
                  errors=field_errors({"cursor": "Use next_cursor from the previous page."}))


@bp.get("/tickets/<reference>")
@spec.validate(resp=Response(HTTP_200=TicketDetail, **_errors(401, 403, 404, 429)), tags=["Tickets"], security=TOKEN)
def get_ticket(reference: str):
    """One ticket with its conversation, history and SLA clock.

    Internal notes are never shown to customers. A ticket you may not see is a 404,
    whether or not it exists."""
    return serialize.ticket_detail(_ticket(reference), api_user())


@bp.post("/tickets/<reference>/replies")
@spec.validate(resp=Response(HTTP_201=MessageOut, **_errors(400, 401, 403, 404, 422, 429)), tags=["Tickets"],
               security=TOKEN)
def reply(reference: str, json: ReplyIn):
    """Reply on a ticket.

    A customer's answer puts a ticket that waits on the customer back with the agents; an
    agent's first public answer stops the first-response clock."""
    ticket = _ticket(reference)
    try:
        message = tickets.reply(ticket, api_user(), json.body, internal=json.internal, channel="api")
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    return serialize.message(message), 201


@bp.post("/tickets/<reference>/attachments")
@spec.validate(form=AttachmentsIn,
               resp=Response(HTTP_201=AttachmentsOut, **_errors(401, 403, 404, 413, 422, 429, 503, 507)),
               tags=["Tickets"], security=TOKEN, skip_validation=True)
def attach(reference: str):
    """Attach files to a ticket (multipart/form-data, field "files").

    The same checks as on the ticket page: by content, screenshots (PNG, JPEG, GIF,
    WebP), PDF, text logs and ZIP archives, within the per-file size and count limits."""
    ticket = _ticket(reference)
    uploads = [Upload(f.filename or "", f.read()) for f in request.files.getlist("files")]
    try:
        saved = tickets.attach(ticket, api_user(), uploads)
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    body = AttachmentsOut(attachments=[serialize.attachment(ticket, a) for a in saved])
    return current_app.response_class(body.model_dump_json(), status=201, mimetype="application/json")


@bp.get(f"/tickets/<reference>/attachments/<int(max={MAX_ID}):attachment_id>")  # written out for the OpenAPI document
@spec.validate(resp=Response("HTTP_200", **_errors(401, 403, 404, 410, 429)), tags=["Tickets"], security=TOKEN)
def download(reference: str, attachment_id: int):
    """Download one attached file, as uploaded.

    The answer is the file itself, with its detected content type. Files of internal
    notes are the agents' only."""
    ticket = _ticket(reference)
    item = db.session.get(Attachment, attachment_id)
    visible = item is not None and item.ticket_id == ticket.id and not (
        item.message is not None and item.message.internal and not tickets.can_work_tickets(api_user()))
    if not visible:
        raise Problem(404, f"No file {attachment_id} on ticket {ticket.reference}.")
    if not path_of(item).is_file():
        raise Problem(410, f"File {attachment_id} of ticket {ticket.reference} is no longer stored.", "file-missing")
    # Read whole (files are small, TICKET_MAX_FILE_MB): spectree's wrapper reads the body of every answer.
    response = current_app.response_class(path_of(item).read_bytes(), mimetype=item.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=item.filename)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _lifecycle_step(step) -> None:
    """Confirm or reopen: a step the ticket's current state does not allow is a 409."""
    try:
        step()
    except DomainError as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "ticket-state") from None


@bp.post("/tickets/<reference>/confirm")
@spec.validate(resp=Response(HTTP_200=TicketDetail, **_errors(401, 403, 404, 409, 429)), tags=["Tickets"],
               security=TOKEN)
def confirm(reference: str):
    """Confirm the solution of a solved ticket: it closes."""
    ticket, customer = _ticket(reference), _customer()
    _lifecycle_step(lambda: tickets.confirm_solution(ticket, customer))
    return serialize.ticket_detail(ticket, customer)


@bp.post("/tickets/<reference>/reopen")
@spec.validate(resp=Response(HTTP_200=TicketDetail, **_errors(400, 401, 403, 404, 409, 422, 429)), tags=["Tickets"],
               security=TOKEN)
def reopen(reference: str, json: ReopenIn):
    """Reopen a solved ticket; the reason, if given, joins the conversation."""
    ticket, customer = _ticket(reference), _customer()
    _lifecycle_step(lambda: tickets.reopen(ticket, customer, json.reason or ""))
    return serialize.ticket_detail(ticket, customer)


@bp.post("/tickets/<reference>/priority-request")
@spec.validate(resp=Response(HTTP_201=PriorityRequestOut, **_errors(400, 401, 403, 404, 409, 422, 429)),
               tags=["Tickets"], security=TOKEN)
def request_priority(reference: str, json: PriorityRequestIn):
    """Ask for another priority, with a reason.

    An agent accepts (the priority and the SLA targets change) or declines it; the ticket's
    history and priority_requests show both. One open request per ticket: a second one, or
    one on a closed ticket, is a 409 of type ticket-state."""
    ticket, customer = _ticket(reference), _customer()
    try:
        request_row = priorities.request_change(ticket, customer, json.priority, json.reason)
    except priorities.PriorityRequestConflict as exc:
        db.session.rollback()
        raise Problem(409, str(exc), "ticket-state") from None
    except DomainError as exc:
        db.session.rollback()
        raise _invalid(exc) from None
    return serialize.priority_request(request_row), 201


# --- the organization and its onboarding ------------------------------------------------------

@bp.get("/org")
@spec.validate(resp=Response(HTTP_200=OrgOut, **_errors(401, 404, 429)), tags=["Organization"], security=TOKEN)
def org():
    """Your organization: the plan in force and what changes next, response targets, support hours, quota and hours balance.

    The figures of the organization page, from the same services. The hours balance is
    for customer admins only, as on the page."""
    user = api_user()
    organization = user.organization
    if organization is None:
        raise Problem(404, "Your account does not belong to a customer organization.")
    now = utcnow()
    balance = billing.balance(organization) if user.role is Role.CUSTOMER_ADMIN else None
    return serialize.organization(organization, plan_services.quota(organization, now), balance, now)


@bp.get("/onboarding")
@spec.validate(resp=Response(HTTP_200=OnboardingOut, **_errors(401, 403, 429)), tags=["Organization"],
               security=TOKEN)
def onboarding_program():
    """Your organization's onboarding program: its weekly sessions and their state."""
    user = api_user()
    if not user.role.is_customer:
        raise Problem(403, "The onboarding program is the customer's.")
    try:
        program = onboarding.program(user.organization)
    except onboarding.NoOnboarding:
        return serialize.no_onboarding()
    return serialize.onboarding(program, onboarding.feedback_for(user.organization) is not None, utcnow())

