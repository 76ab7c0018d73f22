"""Ticket rules: the priority matrix, filing, the lifecycle and its history, who sees what."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..auth.models import Role, User, utcnow
from ..errors import DomainError, lazy_gettext as _l, lazy_number, text
from ..extensions import db, insert_for_dialect
from ..kb.content import SLUG_LENGTH
from ..plans import services as plan_services
from ..plans import hours, sla
from ..plans.catalog import TECHNICAL_FIELDS, Plan, PrioritySpec, channel_open, channel_opens_at, includes_channel
from ..teams import services as teams
from ..teams.models import Team
from . import ledger, meanwhile, notify
from .meanwhile import ChangedMeanwhile, Seen  # noqa: F401  (callers catch and pass them from here)
from .models import (NO_CLOCK, Category, Channel, FeatureState, Level, Message, Priority, PriorityRequest, SavedDraft,
                     Status, Suggestion, Ticket, TicketCounter, TicketEvent, TicketViewer)

# Impact x urgency -> priority (PRODUCT.md, seed 004).
PRIORITY_MATRIX = {
    (Level.HIGH, Level.HIGH): Priority.P1,
    (Level.HIGH, Level.MEDIUM): Priority.P2,
    (Level.HIGH, Level.LOW): Priority.P3,
    (Level.MEDIUM, Level.HIGH): Priority.P2,
    (Level.MEDIUM, Level.MEDIUM): Priority.P3,
    (Level.MEDIUM, Level.LOW): Priority.P4,
    (Level.LOW, Level.HIGH): Priority.P3,
    (Level.LOW, Level.MEDIUM): Priority.P4,
    (Level.LOW, Level.LOW): Priority.P4,
}  # keyed (urgency, impact)

SUBJECT_MIN, DESCRIPTION_MIN, STEPS_MIN = 5, 10, 10
SUBJECT_MAX, DESCRIPTION_MAX, STEPS_MAX, ACCOUNT_MAX = 200, 20_000, 10_000, 200
REPLY_MAX = 20_000


class TicketNotFound(DomainError):
    pass


def compute_priority(impact: Level | str, urgency: Level | str) -> Priority:
    return PRIORITY_MATRIX[(Level(urgency), Level(impact))]


def priority_scheme(plan) -> PrioritySpec:
    """How the plan sets a ticket's priority; without a plan, the matrix."""
    return plan.spec.priority if plan is not None else PrioritySpec()


def technical_issue_requires(plan) -> tuple[str, ...]:
    return tuple(plan.spec.tickets.technical_issue_requires) if plan is not None else TECHNICAL_FIELDS


def _choice(enum_cls, value, field_name: str, message):
    try:
        return enum_cls(value)
    except ValueError:
        raise DomainError(message, field_name) from None


# --- who sees what -------------------------------------------------------------

def can_work_tickets(user: User) -> bool:
    return user.role in (Role.AGENT, Role.ADMIN)


def visible_tickets(user: User):
    """A select() of the tickets this user may see."""
    query = select(Ticket)
    if can_work_tickets(user):
        return query
    if user.role is Role.CUSTOMER_ADMIN:
        return query.where(Ticket.organization_id == user.organization_id)
    if user.role is Role.CUSTOMER:
        return query.where(Ticket.requester_id == user.id)
    return query.where(False)


def get_ticket(user: User, reference: str) -> Ticket:
    """The ticket if this user may see it; otherwise not found, never "forbidden"
    (another organization's ticket must not even be confirmed to exist)."""
    ticket = db.session.scalar(visible_tickets(user).where(Ticket.reference == reference.strip().upper()))
    if ticket is None:
        raise TicketNotFound(_l("No ticket %(reference)s.", reference=reference))
    return ticket


def public_history(ticket: Ticket, user: User) -> list[TicketEvent]:
    return [e for e in ticket.events if can_work_tickets(user) or not e.internal]


def thread(ticket: Ticket, user: User) -> list[Message]:
    return [m for m in ticket.messages if can_work_tickets(user) or not m.internal]


# --- filing --------------------------------------------------------------------

@dataclass
class TicketDraft:
    category: str
    subject: str
    description: str
    impact: str
    urgency: str
    submission_key: str
    priority_override: str | None = None
    severity: str | None = None  # plans with severity levels: the chosen level's priority (P1-P4)
    severity_confirmed: bool = False  # the customer confirmed the level's "not for" cases do not apply
    steps_to_reproduce: str | None = None
    affected_account: str | None = None
    lang: str = "en"
    # Mail cannot be sent back for a longer subject: by email, the minimum lengths do not apply,
    # and a ticket without a chosen priority gets the plan's default.
    channel: str = Channel.WEB.value
    follow_up_of: Ticket | None = None  # the closed ticket an answer by email came to
    in_reply_to: str | None = None  # the Message-ID of the mail it came from: the acknowledgement answers it
    area: str | None = None  # the product area chosen on the form (portal.teams routes by it); None: not sure
    on_behalf: bool = False  # an agent typed it for the customer: every field is asked for, whatever the channel
    errors: dict[str, str] = field(default_factory=dict)


def validate_draft(draft: TicketDraft, plan=None) -> dict[str, str]:
    """Field -> message for everything wrong with the draft (empty when it may be filed);
    the plan says how the priority is chosen and what a technical issue must carry."""
    errors: dict[str, str] = {}
    scheme = priority_scheme(plan)

    def length(value) -> int:
        return len((value or "").strip())

    by_email = draft.channel == Channel.EMAIL.value and not draft.on_behalf
    # One whole sentence per field and case, for the translators.
    checks = [("category", Category, _l("Choose a category."))]
    if scheme.scheme == "matrix" and not by_email:
        checks += [("impact", Level, _l("Choose an impact.")), ("urgency", Level, _l("Choose an urgency."))]
    for name, enum_cls, message in checks:
        try:
            enum_cls(getattr(draft, name))
        except ValueError:
            errors[name] = message
    n = length(draft.subject)
    if n < (1 if by_email else SUBJECT_MIN):
        errors["subject"] = _l("The subject needs at least %(min)s characters.", min=SUBJECT_MIN)
    elif n > SUBJECT_MAX:
        errors["subject"] = _l("The subject can have at most %(max)s characters (it has %(length)s).",
                               max=lazy_number(SUBJECT_MAX), length=lazy_number(n))
    n = length(draft.description)
    if n < (1 if by_email else DESCRIPTION_MIN):
        errors["description"] = _l("The description needs at least %(min)s characters.", min=DESCRIPTION_MIN)
    elif n > DESCRIPTION_MAX:
        errors["description"] = _l("The description can have at most %(max)s characters (it has %(length)s).",
                                   max=lazy_number(DESCRIPTION_MAX), length=lazy_number(n))
    if draft.priority_override and scheme.scheme != "matrix":
        errors["priority_override"] = _l("Your plan does not let you choose the priority this way: "
                                         "choose a severity level instead.") if scheme.scheme == "severity" else \
            _l("Your plan gives every ticket the same priority: leave it out.")
    elif draft.priority_override:
        try:
            Priority(draft.priority_override)
        except ValueError:
            errors["priority_override"] = _l("Choose P1, P2, P3 or P4, or keep the computed priority.")
    if scheme.scheme == "severity" and not (by_email and not draft.severity):
        level = scheme.level(draft.severity or "")
        if level is None:
            errors["severity"] = _l("Choose one of the severity levels your plan defines.")
        elif level.not_for and not draft.severity_confirmed:
            errors["severity_confirmed"] = _l("%(level)s is never for the cases listed under it: confirm that your "
                                              "problem is none of them, or choose a lower severity.", level=level.name)
    required = technical_issue_requires(plan) if draft.category == Category.TECHNICAL_ISSUE.value and not by_email \
        else ()
    n = length(draft.steps_to_reproduce)
    if "steps_to_reproduce" in required and n < STEPS_MIN:
        errors["steps_to_reproduce"] = _l("Steps to reproduce needs at least %(min)s characters.", min=STEPS_MIN)
    elif n > STEPS_MAX:
        errors["steps_to_reproduce"] = _l("Steps to reproduce can have at most %(max)s characters "
                                          "(it has %(length)s).", max=lazy_number(STEPS_MAX), length=lazy_number(n))
    n = length(draft.affected_account)
    if "affected_account" in required and n < 1:
        errors["affected_account"] = _l("The affected user account is required.")
    elif n > ACCOUNT_MAX:
        errors["affected_account"] = _l("The affected user account can have at most %(max)s characters "
                                        "(it has %(length)s).", max=lazy_number(ACCOUNT_MAX),
                                        length=lazy_number(n))
    try:
        teams.check_area(draft.area, plan.key if plan is not None else None)
    except DomainError as exc:
        errors["area"] = exc.message
    if not draft.submission_key or len(draft.submission_key) > 64:
        errors["submission_key"] = _l("The form is incomplete: reload the page.")
    return errors


def next_reference(year: int) -> str:
    """The next readable reference of the year, e.g. 2026-00042; safe under concurrency
    (the counter row is updated in place, so concurrent filings queue on it)."""
    for _ in range(3):
        number = db.session.execute(
            update(TicketCounter).where(TicketCounter.year == year).values(last=TicketCounter.last + 1)
            .returning(TicketCounter.last).execution_options(synchronize_session=False)
        ).scalar()
        if number is not None:
            return f"{year}-{number:05d}"
        try:
            with db.session.begin_nested():
                db.session.add(TicketCounter(year=year, last=0))
        except IntegrityError:
            pass  # another filing created the year's row first
    raise RuntimeError("could not allocate a ticket reference")


def ticket_by_submission(key: str) -> Ticket | None:
    return db.session.scalar(select(Ticket).where(Ticket.submission_key == key))


class ChannelNotInPlan(DomainError):
    pass


def filing_refusal(user: User, now: datetime, channel: str = Channel.WEB.value) -> DomainError | None:
    """Why the organization cannot file a ticket now (plan ended, quota or hours used up, or the
    plan takes no tickets through this channel), or None; the same checks as ``file_ticket``,
    without writing, for a caller that must know before (the email channel)."""
    organization = user.organization
    try:
        plan_services.check_can_file(organization, now)
    except DomainError as exc:
        return exc
    plan = plan_services.plan_for(organization, now)
    if channel != Channel.WEB.value and plan is not None and not includes_channel(plan, channel):
        return ChannelNotInPlan(_l("Your plan (%(plan)s) takes new tickets through %(channels)s, not by email.",
                                   plan=plan.spec.name, channels=", ".join(plan.spec.channels)))
    balance = ledger.balance(organization, plan_services.local_day(organization, now))
    if balance is not None and balance.new_tickets == "refuse":
        return hours.HoursUsedUp(balance)
    quota = plan_services.quota(organization, now)
    if quota is not None and quota.exhausted:
        return plan_services.QuotaExceeded(quota)
    return None


# The channels an agent files through for a customer (the API and mail file by themselves).
ON_BEHALF_CHANNELS = (Channel.PHONE, Channel.CHAT, Channel.VISIT, Channel.EMAIL, Channel.WEB)


def channel_not_in_plan(organization, plan, channel: str) -> ChannelNotInPlan | None:
    """Why an agent may not file through ``channel`` for the organization's plan, or None."""
    if plan is None or includes_channel(plan, channel):
        return None
    return ChannelNotInPlan(_l("%(organization)s's plan (%(plan)s) takes new tickets through %(channels)s, "
                               "not %(channel)s.", organization=organization.name, plan=plan.spec.name,
                               channels=", ".join(plan.spec.channels), channel=channel), "channel")


def _on_behalf_refusal(user: User | None, channel: str) -> DomainError | None:
    """A requester who is not an active customer of an organization, or a channel agents do not file through."""
    if user is None or not user.role.is_customer or user.organization_id is None or not user.active:
        return DomainError(_l("Choose an active customer of an organization as the requester."), "requester")
    if channel not in {c.value for c in ON_BEHALF_CHANNELS}:
        return DomainError(_l("Choose how the customer reached you: phone, chat, visit, email or web."), "channel")
    return None


def _check_on_behalf(user: User, draft: TicketDraft, filed_by: User) -> None:
    if not can_work_tickets(filed_by):
        raise DomainError(_l("Only agents file tickets on a customer's behalf."))
    if refusal := _on_behalf_refusal(user, draft.channel):
        raise refusal
    draft.on_behalf = True


@dataclass(frozen=True)
class OnBehalfNotice:
    """What the agent's form says before filing for a customer through a channel: why it would
    be refused, or that the channel is outside the plan's hours now (the ticket is filed anyway)."""
    plan: Plan | None = None
    refusal: DomainError | None = None  # the requester, the channel, the plan, the quota or the hours
    opens_at: datetime | None = None  # the channel is closed now and opens then (naive UTC)


def on_behalf_notice(user: User | None, channel: str, now: datetime) -> OnBehalfNotice:
    """The checks ``file_ticket(..., filed_by=agent)`` makes that do not depend on the fields, without
    writing; and whether ``channel`` is inside its hours on the customer's plan at ``now``."""
    if refusal := _on_behalf_refusal(user, channel):
        return OnBehalfNotice(refusal=refusal)
    organization = user.organization
    plan = plan_services.plan_for(organization, now)
    refusal = channel_not_in_plan(organization, plan, channel) or filing_refusal(user, now)
    if refusal is not None or plan is None or channel_open(plan, channel, organization.timezone, now):
        return OnBehalfNotice(plan, refusal)
    return OnBehalfNotice(plan, opens_at=channel_opens_at(plan, channel, organization.timezone, now))


def file_ticket(user: User, draft: TicketDraft, files: list = (), now: datetime | None = None,
                remarks: list[str] = (), commit: bool = True, filed_by: User | None = None) -> Ticket:
    """File a ticket for a customer. Submitting the same form twice returns the first ticket.
    ``remarks`` join the acknowledgement (e.g. the attachments of a mail that were refused);
    ``commit=False`` leaves the commit to the caller, whose transaction the ticket joins.
    ``filed_by``: the agent who files it on the customer's (``user``'s) behalf, through
    ``draft.channel``; the customer's plan, quota, hours and SLA apply as if they had filed,
    and a channel their plan does not include is refused (nothing is written)."""
    if filed_by is not None:
        _check_on_behalf(user, draft, filed_by)
    elif not user.role.is_customer or user.organization_id is None:
        raise DomainError(_l("Only customers of an organization can file tickets."))
    existing = ticket_by_submission(draft.submission_key)
    if existing is not None:
        return existing
    now = now or utcnow()
    organization = user.organization
    plan = plan_services.plan_for(organization, now)
    if filed_by is not None and (refusal := channel_not_in_plan(organization, plan, draft.channel)):
        raise refusal
    errors = validate_draft(draft, plan)
    from .attachments import check_files

    try:
        check_files(list(files))
    except DomainError as exc:
        errors.setdefault("files", exc.message)
    if errors:
        draft.errors = {name: text(message) for name, message in errors.items()}  # in the reader's language
        raise DomainError(next(iter(errors.values())), next(iter(errors)))
    from .attachments import store_files

    plan_services.check_can_file(organization, now)
    # Prepaid hours used up: the plan says whether the ticket is served as usual, without a clock, or not filed.
    balance = ledger.balance(organization, plan_services.local_day(organization, now))
    new_tickets = balance.new_tickets if balance is not None else "clock"
    if new_tickets == "refuse":
        raise hours.HoursUsedUp(balance)
    plan_services.consume_quota(organization, now)
    scheme = priority_scheme(plan)
    impact = urgency = None
    if scheme.scheme == "matrix" and draft.impact and draft.urgency:
        impact, urgency = Level(draft.impact), Level(draft.urgency)
        computed = compute_priority(impact, urgency)
        chosen = Priority(draft.priority_override) if draft.priority_override else computed
    elif scheme.scheme == "matrix":  # by email: the plan's default, or the one the mail asked for
        computed = Priority(scheme.default_priority())
        chosen = Priority(draft.priority_override) if draft.priority_override else computed
    elif scheme.scheme == "severity":
        # The customer's level is the priority (by email without one: the plan's default).
        computed = chosen = Priority(draft.severity or scheme.default_priority())
    else:
        computed = chosen = Priority(scheme.fixed)
    category = Category(draft.category)
    team = teams.route(draft.area, category.value, organization.id, plan.key if plan is not None else None)
    ticket = Ticket(
        reference=next_reference(now.year),
        organization_id=user.organization_id,
        requester_id=user.id,
        filed_by_id=filed_by.id if filed_by is not None else None,
        category=category,
        subject=" ".join(draft.subject.split()),  # one line: it heads every mail about the ticket
        description=draft.description.strip(),
        # Required for technical issues, kept for any category when given.
        steps_to_reproduce=(draft.steps_to_reproduce or "").strip() or None,
        affected_account=(draft.affected_account or "").strip() or None,
        impact=impact,
        urgency=urgency,
        computed_priority=computed,
        priority=chosen,
        status=Status.NEW,
        feature_state=FeatureState.UNDER_REVIEW if category is Category.FEATURE_REQUEST else None,
        lang=draft.lang,
        channel=Channel(draft.channel),
        follow_up_of_id=draft.follow_up_of.id if draft.follow_up_of is not None else None,
        area=(draft.area or "").strip() or None,
        team_id=team.id if team is not None else None,
        submission_key=draft.submission_key,
        created_at=now,
        updated_at=now,
    )
    ticket.organization = organization
    sla.start(ticket, plan_services.plan_key_for(organization, ticket.created_at),
              best_effort=new_tickets == "best_effort")
    db.session.add(ticket)
    try:
        db.session.flush()
    except IntegrityError:
        return _submitted_meanwhile(draft)
    _event(ticket, filed_by or user, "created", new=ticket.priority.value, now=now)
    if new_tickets == "best_effort":
        _event(ticket, None, "best_effort", new="hours_used_up", now=now)
    if chosen != computed:
        _event(ticket, filed_by or user, "override", old=computed.value, new=chosen.value, now=now,
               reason=f"impact {impact.value}, urgency {urgency.value}" if impact else "asked for by email")
    if draft.follow_up_of is not None:
        _event(ticket, None, "follow_up", old=draft.follow_up_of.reference, now=now)
    if team is not None:  # routed: the staff's history says where it went and why
        _event(ticket, None, "team", new=team.name, reason=f"product area {ticket.area}" if ticket.area else None,
               internal=True, now=now)
    store_files(ticket, filed_by or user, None, files)
    if filed_by is None:  # the customer's own draft is theirs: an agent's filing leaves it
        db.session.execute(delete(SavedDraft).where(SavedDraft.user_id == user.id))
    db.session.execute(
        update(Suggestion).where(Suggestion.draft_key == draft.submission_key, Suggestion.user_id == user.id)
        .values(ticket_id=ticket.id).execution_options(synchronize_session=False)
    )
    if filed_by is not None:
        audit.record("ticket.file_for", audit.Origin.of(filed_by), now, target=("ticket", ticket.id, ticket.reference),
                     organization_id=organization.id, detail={"channel": ticket.channel.value, "requester": user.email})
    # Queued in this transaction: the ticket and its mail are saved together.
    notify.filed(ticket, remarks, in_reply_to=draft.in_reply_to)
    try:
        db.session.commit() if commit else db.session.flush()
    except IntegrityError:
        return _submitted_meanwhile(draft)
    return ticket


def _submitted_meanwhile(draft: TicketDraft) -> Ticket:
    """The same form submitted twice at the same moment: the other request won, and its ticket
    is the answer (this one's quota use and mail go with the rollback)."""
    db.session.rollback()
    existing = ticket_by_submission(draft.submission_key)
    if existing is None:
        raise
    return existing


DRAFT_FIELDS = ("category", "subject", "description", "impact", "urgency", "priority_override",
                "steps_to_reproduce", "affected_account", "area")


def save_draft(user: User, draft: TicketDraft, commit: bool = True) -> None:
    """Keep what the customer typed for a ticket that could not be filed now."""
    values = {name: (getattr(draft, name) or None) for name in DRAFT_FIELDS}
    # A plan uses one scheme: a severity level (P1-P4) is kept where the matrix's override goes.
    values["priority_override"] = values["priority_override"] or draft.severity
    values["category"] = (values["category"] or "")[:30]
    values["subject"] = (values["subject"] or "")[:200]
    values["description"] = values["description"] or ""
    for name, longest in (("impact", 10), ("urgency", 10), ("priority_override", 10), ("area", 40)):
        if values[name] and len(values[name]) > longest:
            values[name] = None
    saved = db.session.get(SavedDraft, user.id)
    if saved is None:
        saved = SavedDraft(user_id=user.id)
        db.session.add(saved)
    for name, value in values.items():
        setattr(saved, name, value)
    saved.saved_at = utcnow()
    if commit:
        db.session.commit()


def saved_draft(user: User) -> SavedDraft | None:
    return db.session.get(SavedDraft, user.id)


def discard_draft(user: User) -> None:
    db.session.execute(delete(SavedDraft).where(SavedDraft.user_id == user.id))
    db.session.commit()


def _event(ticket, actor, kind, old=None, new=None, reason=None, internal=False, now=None):
    db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=actor.id if actor else None, kind=kind,
                               old_value=old, new_value=new, reason=reason, internal=internal,
                               created_at=now or utcnow()))


def _set_status(ticket: Ticket, actor: User | None, status: Status, now: datetime, reason: str | None = None):
    if ticket.status is status:
        return
    _event(ticket, actor, "status", old=ticket.status.value, new=status.value, reason=reason, now=now)
    old = ticket.status
    ticket.status = status
    ticket.updated_at = now
    ticket.waiting_since = now if status is Status.WAITING_ON_CUSTOMER else None
    ticket.autoclose_reminded_at = None
    if status is Status.SOLVED:
        ticket.solved_at = now  # the last time: the confirmation window runs from it
    if status is Status.CLOSED:
        ticket.closed_at = now
        _settle_priority_request(ticket, actor, now)
    sla.status_changed(ticket, old, status, now)


def _settle_priority_request(ticket: Ticket, actor: User | None, now: datetime, priority: Priority | None = None):
    """The ticket's open priority request ends with the ticket (declined: its priority no longer changes),
    or is accepted when an agent sets by hand the priority it asked for."""
    accept = priority is not None
    query = update(PriorityRequest).where(PriorityRequest.ticket_id == ticket.id, PriorityRequest.decision.is_(None))
    if accept:
        query = query.where(PriorityRequest.requested_priority == priority)
    settled = db.session.execute(
        query.values(decision="accepted" if accept else "declined", decided_by_id=actor.id if actor else None,
                     decided_at=now)
        .returning(PriorityRequest.requested_priority).execution_options(synchronize_session=False)
    ).scalar()
    if settled is not None:
        _event(ticket, actor, "priority_request_accepted" if accept else "priority_request_declined",
               old=ticket.priority.value, new=settled.value,
               reason=None if accept else "the ticket closed", now=now)


# --- the conversation and the lifecycle ---------------------------------------

def reply(ticket: Ticket, author: User, body: str, internal: bool = False, files: list = (),
          now: datetime | None = None, channel: str = Channel.WEB.value, commit: bool = True,
          seen: Seen | None = None) -> Message:
    """Add to the conversation. A customer's answer puts the ticket back with the agents;
    an agent's first public answer opens a new ticket. ``seen``: what the agent's page showed; a
    public reply over a message or a status change not shown there is refused (ChangedMeanwhile)."""
    from .attachments import store_files

    now = now or utcnow()
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Write a message first."), "body")
    if len(body) > REPLY_MAX:
        raise DomainError(_l("A message can have at most %(max)s characters.", max=lazy_number(REPLY_MAX)), "body")
    staff = can_work_tickets(author)
    if internal and not staff:
        raise DomainError(_l("Only agents can add internal notes."), "internal")
    meanwhile.lock(ticket)  # the status it moves from is the one committed last
    if staff and not internal:
        meanwhile.check_fresh(ticket, seen, author, "reply")
    if ticket.status is Status.CLOSED:
        raise DomainError(_l("This ticket is closed. File a new ticket and mention this reference."), "body")
    from .attachments import check_files

    check_files(list(files))
    message = Message(ticket_id=ticket.id, author_id=author.id, body=body, internal=internal, created_at=now,
                      channel=Channel(channel))
    db.session.add(message)
    db.session.flush()
    store_files(ticket, author, message, files)
    if not internal:
        if staff:
            sla.agent_replied(ticket, now)
        if staff and ticket.status is Status.NEW:
            _set_status(ticket, author, Status.OPEN, now)
        elif not staff and ticket.status in (Status.WAITING_ON_CUSTOMER, Status.SOLVED):
            _set_status(ticket, author, Status.OPEN, now, reason="the customer answered")
    ticket.updated_at = now
    notify.replied(ticket, message)
    if commit:
        db.session.commit()
    return message


def attach(ticket: Ticket, user: User, files: list, now: datetime | None = None) -> list:
    """Add files to a ticket without a message (the API's upload), checked as on the ticket page."""
    from .attachments import check_files, store_files

    files = [f for f in files if f.filename or f.data]
    if not files:
        raise DomainError(_l("Choose at least one file."), "files")
    if ticket.status is Status.CLOSED:
        raise DomainError(_l("This ticket is closed. File a new ticket and mention this reference."), "files")
    check_files(files)
    saved = store_files(ticket, user, None, files)
    ticket.updated_at = now or utcnow()
    db.session.commit()
    return saved


def confirm_solution(ticket: Ticket, customer: User, now: datetime | None = None) -> None:
    """The customer's "Yes, close it"."""
    meanwhile.lock(ticket)
    if ticket.status is not Status.SOLVED:
        raise DomainError(_l("Only a solved ticket can be confirmed."))
    _set_status(ticket, customer, Status.CLOSED, now or utcnow(), reason="the customer confirmed the solution")
    notify.status_changed(ticket, customer, Status.CLOSED.value)
    db.session.commit()


def reopen(ticket: Ticket, customer: User, reason: str = "", now: datetime | None = None) -> None:
    meanwhile.lock(ticket)
    if ticket.status is not Status.SOLVED:
        raise DomainError(_l("Only a solved ticket can be reopened; a closed one needs a new ticket."))
    now = now or utcnow()
    reason = (reason or "").strip()
    if reason:
        db.session.add(Message(ticket_id=ticket.id, author_id=customer.id, body=reason, created_at=now))
    _set_status(ticket, customer, Status.OPEN, now, reason="reopened by the customer")
    notify.status_changed(ticket, customer, Status.OPEN.value)
    db.session.commit()


STAFF_STATUSES = (Status.OPEN, Status.WAITING_ON_CUSTOMER, Status.SOLVED, Status.CLOSED)
# The first response cannot be dodged: until an agent has answered in public, a ticket
# can be opened but not parked with the customer, solved or closed.
NEED_ANSWER = (Status.WAITING_ON_CUSTOMER, Status.SOLVED, Status.CLOSED)


class AnswerFirst(DomainError):
    pass


def check_status_change(ticket: Ticket, status: Status) -> None:
    if status in NEED_ANSWER and ticket.first_response_at is None:
        raise AnswerFirst(_l("Answer the customer first: a ticket nobody has answered cannot wait on the customer, "
                             "be solved or be closed. Send a public reply (it can ask your question), then change "
                             "the status."), "status")


def _saved(commit: bool) -> None:
    """``commit=False``: the caller makes several changes in one transaction (portal.tickets.changes)."""
    if commit:
        db.session.commit()


def _unchanged(commit: bool = True) -> None:
    _saved(commit)  # nothing to save: the lock is let go at once (bulk actions take one after another)


def change_status(ticket: Ticket, agent: User, status: str, reason: str | None = None,
                  now: datetime | None = None, seen: Seen | None = None, commit: bool = True) -> None:
    """Under the ticket's lock, from its committed state: two agents at once make one change after
    the other, and the second one's history and SLA pause start from the first one's status.
    ``seen``: what the agent's page showed (see ``meanwhile.check_fresh``)."""
    status = _choice(Status, status, "status", _l("Choose a valid status."))
    if status not in STAFF_STATUSES:
        raise DomainError(_l("A ticket cannot go back to new."), "status")
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "status")
    if status is ticket.status:
        return _unchanged(commit)
    check_status_change(ticket, status)
    _set_status(ticket, agent, status, now or utcnow(), reason=(reason or "").strip() or None)
    notify.status_changed(ticket, agent, status.value)
    _saved(commit)


def change_priority(ticket: Ticket, agent: User, priority: str, reason: str, now: datetime | None = None,
                    seen: Seen | None = None, commit: bool = True) -> None:
    priority = _choice(Priority, priority, "priority", _l("Choose a valid priority."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the priority changes: the customer reads it in the history."), "reason")
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "priority")
    if priority is ticket.priority:
        return _unchanged(commit)
    now = now or utcnow()
    _settle_priority_request(ticket, agent, now, priority)  # the customer asked for this one
    _event(ticket, agent, "priority", old=ticket.priority.value, new=priority.value, reason=reason, now=now)
    ticket.priority, ticket.updated_at = priority, now
    sla.recompute(ticket)
    _saved(commit)


def change_category(ticket: Ticket, agent: User, category: str, seen: Seen | None = None,
                    commit: bool = True) -> None:
    category = _choice(Category, category, "category", _l("Choose a valid category."))
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "category")
    if category is ticket.category:
        return _unchanged(commit)
    _event(ticket, agent, "category", old=ticket.category.value, new=category.value)
    ticket.category, ticket.updated_at = category, utcnow()
    sla.recompute(ticket)
    if category is Category.FEATURE_REQUEST and ticket.feature_state is None:
        ticket.feature_state = FeatureState.UNDER_REVIEW
    _saved(commit)


def assign(ticket: Ticket, agent: User, assignee: User | None, seen: Seen | None = None,
           commit: bool = True) -> None:
    """A ticket with a team is assigned within it: someone outside the team is refused (move the
    ticket to their team first). The claim and the queue's bulk assignment come here too."""
    if assignee is not None and not can_work_tickets(assignee):
        raise DomainError(_l("Tickets are assigned to agents."), "assignee")
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "assignee")
    if assignee == ticket.assignee:
        return _unchanged(commit)
    if assignee is not None and ticket.team is not None and not teams.is_member(ticket.team, assignee):
        raise DomainError(_l("%(name)s is not in the %(team)s team, which has this ticket: move the ticket to "
                             "one of their teams first, or add them to %(team)s.", name=assignee.name,
                             team=ticket.team.name), "assignee")
    _event(ticket, agent, "assignee", old=ticket.assignee.name if ticket.assignee else None,
           new=assignee.name if assignee else None)
    ticket.assignee = assignee
    if ticket.status is Status.NEW and assignee is not None:
        _set_status(ticket, agent, Status.OPEN, utcnow())
    _saved(commit)


def change_team(ticket: Ticket, agent: User, team: Team | None, seen: Seen | None = None,
                origin: audit.Origin | None = None, now: datetime | None = None, commit: bool = True) -> None:
    """Move the ticket to another team (None: no team, every agent's). An assignee who is not in the
    new team lets go of it, in the history too: the ticket is assigned within its team."""
    if team is not None and not team.active:
        raise DomainError(_l("%(team)s is inactive: it takes no tickets.", team=team.name), "team")
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "team")
    if (team.id if team is not None else None) == ticket.team_id:
        return _unchanged(commit)
    now, old = now or utcnow(), ticket.team
    _event(ticket, agent, "team", old=old.name if old else None, new=team.name if team else None, internal=True,
           now=now)
    ticket.team, ticket.updated_at = team, now
    if team is not None and ticket.assignee is not None and not teams.is_member(team, ticket.assignee):
        _event(ticket, agent, "assignee", old=ticket.assignee.name, new=None, reason=f"not in {team.name}", now=now)
        ticket.assignee = None
    audit.record("ticket.team", origin or audit.Origin.of(agent), now, target=("ticket", ticket.id, ticket.reference),
                 organization_id=ticket.organization_id,
                 detail={"from": old.key if old else None, "to": team.key if team else None})
    _saved(commit)


def open_tickets_by_team() -> dict[int | None, int]:
    """Active tickets (new, open, waiting on the customer) per team id; None: no team."""
    return dict(db.session.execute(
        select(Ticket.team_id, func.count()).where(Ticket.status.in_(
            (Status.NEW, Status.OPEN, Status.WAITING_ON_CUSTOMER))).group_by(Ticket.team_id)).all())


def set_feature_state(ticket: Ticket, agent: User, state: str, reason: str | None = None,
                      seen: Seen | None = None, commit: bool = True) -> None:
    state = _choice(FeatureState, state, "feature_state", _l("Choose a valid evaluation state."))
    meanwhile.lock(ticket)
    meanwhile.check_fresh(ticket, seen, agent, "feature_state")
    if ticket.category is not Category.FEATURE_REQUEST:
        raise DomainError(_l("Only feature requests have an evaluation state."), "feature_state")
    if state is ticket.feature_state:
        return _unchanged(commit)
    _event(ticket, agent, "feature_state", old=ticket.feature_state.value if ticket.feature_state else None,
           new=state.value, reason=(reason or "").strip() or None)
    ticket.feature_state, ticket.updated_at = state, utcnow()
    _saved(commit)


def autoclose_days(plan_key: str | None) -> tuple[int, int]:
    """(waiting, solved): days a ticket waits on the customer's answer, or on the confirmation
    of its solution, before it closes by itself. The plan may set them; else the settings."""
    from flask import current_app

    config = current_app.config
    waiting, solved = config["TICKET_AUTOCLOSE_DAYS"], config["TICKET_SOLVED_AUTOCLOSE_DAYS"]
    plan = plan_services.get_plan(plan_key)
    if plan is not None:
        waiting = plan.spec.lifecycle.waiting_autoclose_days or waiting
        solved = plan.spec.lifecycle.solved_autoclose_days or solved
    return waiting, solved


def autoclose_due(ticket: Ticket) -> datetime | None:
    """When a ticket waiting on the customer, or solved and awaiting confirmation, closes by itself.
    Never for a ticket nobody answered: its first response is still owed."""
    if ticket.first_response_at is None:
        return None
    waiting, solved = autoclose_days(ticket.plan)
    if ticket.status is Status.WAITING_ON_CUSTOMER and ticket.waiting_since is not None:
        return ticket.waiting_since + timedelta(days=waiting)
    if ticket.status is Status.SOLVED and ticket.solved_at is not None:
        return ticket.solved_at + timedelta(days=solved)
    return None


# status -> (the column its wait runs from, the history's reason)
_AUTOCLOSING = {
    Status.WAITING_ON_CUSTOMER: (Ticket.waiting_since, "no answer for %s days"),
    Status.SOLVED: (Ticket.solved_at, "solution not confirmed in %s days"),
}


def autoclose(now: datetime | None = None, remind_days: int = 2) -> tuple[list[str], list[str]]:
    """Close tickets that waited on the customer's answer, or on the confirmation of their
    solution, longer than their plan allows (seed 001: 10 days), and remind the customers of
    those that close within ``remind_days``. Returns (closed, reminded) references.

    Each ticket is changed by a conditional UPDATE, so any number of runs, on
    any number of machines, close it and remind about it exactly once."""
    from ..plans.services import all_plans

    now = now or utcnow()
    # The shortest window of any plan bounds which tickets can be due; each is then checked on its own.
    shortest = min(min(autoclose_days(key)) for key in [None, *all_plans()])
    closed, reminded = [], []
    for status, (since_column, reason) in _AUTOCLOSING.items():
        candidates = db.session.scalars(
            select(Ticket).where(Ticket.status == status, Ticket.first_response_at.is_not(None),
                                 since_column <= now - timedelta(days=max(shortest - remind_days, 0)))
            .order_by(Ticket.id)
        ).all()
        for ticket in candidates:
            due, since = autoclose_due(ticket), getattr(ticket, since_column.key)
            if due is None:
                continue
            if due <= now:
                flipped = db.session.execute(
                    update(Ticket).where(Ticket.id == ticket.id, Ticket.status == status, since_column == since)
                    .values(status=Status.CLOSED, closed_at=now, updated_at=now, waiting_since=None,
                            sla_next_due=NO_CLOCK)
                    .returning(Ticket.reference).execution_options(synchronize_session=False)
                ).scalar()
                if flipped:
                    days = (due - since).days
                    db.session.add(TicketEvent(ticket_id=ticket.id, actor_id=None, kind="status",
                                               old_value=status.value, new_value=Status.CLOSED.value,
                                               reason=reason % days, created_at=now))
                    closed.append(flipped)
                    db.session.refresh(ticket)
                    notify.status_changed(ticket, None, Status.CLOSED.value)
                db.session.commit()
            elif due - timedelta(days=remind_days) <= now and ticket.autoclose_reminded_at is None:
                marked = db.session.execute(
                    update(Ticket).where(Ticket.id == ticket.id, Ticket.status == status, since_column == since,
                                         Ticket.autoclose_reminded_at.is_(None))
                    .values(autoclose_reminded_at=now)
                    .returning(Ticket.reference).execution_options(synchronize_session=False)
                ).scalar()
                if marked:
                    db.session.refresh(ticket)
                    notify.autoclose_reminder(ticket, due)
                    reminded.append(marked)
                db.session.commit()
    return closed, reminded


# --- suggestions and deflections ----------------------------------------------

SUGGESTION_ACTIONS = ("shown", "opened", "rejected", "solved")


# --- collisions: two agents on one ticket ------------------------------------------

VIEWING_WINDOW = timedelta(seconds=60)  # the page reports in every 20 s


def viewing(ticket: Ticket, agent: User, now: datetime | None = None) -> list[User]:
    """Record that ``agent`` has the ticket open; return the other staff who have it open too."""
    now = now or utcnow()
    statement = insert_for_dialect(TicketViewer).values(ticket_id=ticket.id, user_id=agent.id, seen_at=now)
    db.session.execute(statement.on_conflict_do_update(index_elements=["ticket_id", "user_id"],
                                                       set_={"seen_at": now}))
    db.session.commit()
    return list(db.session.scalars(
        select(User).join(TicketViewer, TicketViewer.user_id == User.id).where(
            TicketViewer.ticket_id == ticket.id, TicketViewer.user_id != agent.id,
            TicketViewer.seen_at >= now - VIEWING_WINDOW).order_by(User.name)))


def record_suggestions(user: User, draft_key: str, slugs: list[str], action: str = "shown") -> None:
    """Remember what the form showed or the customer did; repeats are ignored.

    One INSERT … ON CONFLICT DO NOTHING: the form asks for suggestions at
    every pause in typing, so this is on the hot path and races with itself."""
    if action not in SUGGESTION_ACTIONS:
        raise DomainError(_l("Unknown suggestion action."))
    slugs = [slug for slug in slugs if len(slug) <= SLUG_LENGTH]
    if not slugs or not draft_key or len(draft_key) > 64:
        return  # no form of ours sent that: nothing to remember
    now = utcnow()
    rows = [dict(draft_key=draft_key, user_id=user.id, organization_id=user.organization_id, slug=slug,
                 action=action, rank=rank, created_at=now) for rank, slug in enumerate(slugs, start=1)]
    db.session.execute(insert_for_dialect(Suggestion).values(rows).on_conflict_do_nothing(
        index_elements=["draft_key", "slug", "action"]))
    db.session.commit()


def tried_before_filing(ticket: Ticket) -> dict[str, list[str]]:
    """What the customer saw and did before filing: action -> slugs."""
    rows = db.session.execute(
        select(Suggestion.action, Suggestion.slug).where(Suggestion.ticket_id == ticket.id).order_by(Suggestion.id)
    ).all()
    tried: dict[str, list[str]] = {a: [] for a in SUGGESTION_ACTIONS}
    for action, slug in rows:
        tried[action].append(slug)
    return tried
