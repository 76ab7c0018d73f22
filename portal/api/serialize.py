"""From the services' values to the API's schemas, and the OpenAPI document."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from flask import current_app, url_for

from ..plans import history as plan_changes
from ..plans import services as plan_services
from ..plans import sla
from ..tickets import priorities
from ..tickets import services as tickets
from .schemas import (ArticleOut, AttachmentOut, EventOut, HoursOut, MessageOut, NextChangeOut, OnboardingOut,
                      OpeningHours, OrgOut, PlanEntryOut, PlanHistoryOut, PlanOut, PriorityRequestOut, QuotaOut,
                      SearchHit, SearchResults, SessionOut, SeverityLevelOut, SlaClock, SupportHoursOut, TargetOut,
                      TicketDetail, TicketOut, WeekOut, utc)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def search_results(results, query, following: str | None) -> SearchResults:
    return SearchResults(
        query=results.query, total=results.total, total_exact=results.total_exact, page=results.page,
        limit=results.pagelen, did_you_mean=results.did_you_mean, next=following,
        results=[SearchHit(slug=h.slug, title=h.title, summary=h.summary, type=h.type, category=h.category,
                           lang=h.lang, score=h.score, snippet=h.snippet,
                           url=url_for("kb.article", slug=h.slug, _external=True)) for h in results.hits],
    )


def article(art, rendered) -> ArticleOut:
    return ArticleOut(slug=art.slug, title=art.title, summary=art.summary, type=art.type, category=art.category,
                      lang=art.lang, tags=list(art.tags), updated=art.updated, related=list(art.related),
                      video=art.video, url=url_for("kb.article", slug=art.slug, _external=True), html=rendered.html)


# --- tickets --------------------------------------------------------------------------------

def ticket_fields(ticket) -> dict:
    return dict(
        reference=ticket.reference, subject=ticket.subject, category=ticket.category.value,
        status=ticket.status.value, priority=ticket.priority.value, priority_computed=ticket.computed_priority.value,
        impact=ticket.impact.value if ticket.impact else None, urgency=ticket.urgency.value if ticket.urgency else None,
        evaluation=ticket.feature_state.value if ticket.feature_state else None,
        created_at=utc(ticket.created_at), updated_at=utc(ticket.updated_at),
        first_response_due=utc(ticket.first_response_due), first_response_at=utc(ticket.first_response_at),
        resolution_due=utc(ticket.resolution_due),
        next_update_due=utc(ticket.next_update_due) if ticket.first_response_at and not ticket.best_effort else None,
        best_effort=bool(ticket.best_effort),
        auto_close_at=utc(tickets.autoclose_due(ticket)),
        url=url_for("tickets.detail", reference=ticket.reference, _external=True), channel=ticket.channel.value,
    )


def ticket_summary(ticket) -> TicketOut:
    return TicketOut(**ticket_fields(ticket))


def attachment(ticket, item) -> AttachmentOut:
    return AttachmentOut(id=item.id, filename=item.filename, content_type=item.content_type, size=item.size,
                         url=url_for("api.download", reference=ticket.reference, attachment_id=item.id,
                                     _external=True))


def message(item) -> MessageOut:
    return MessageOut(id=item.id, author=item.author.name, body=item.body, internal=item.internal,
                      created_at=utc(item.created_at), channel=item.channel.value,
                      attachments=[attachment(item.ticket, a) for a in item.attachments])


def sla_clock(running) -> SlaClock:
    return SlaClock(kind=running.kind, due=utc(running.due), left_seconds=int(running.left.total_seconds()),
                    paused=running.paused, at_risk=running.at_risk, overdue=running.overdue)


def clock(ticket) -> SlaClock | None:
    running = sla.clock(ticket)
    return sla_clock(running) if running is not None else None


def ticket_detail(ticket, viewer) -> TicketDetail:
    return TicketDetail(
        **ticket_fields(ticket),
        description=ticket.description, steps_to_reproduce=ticket.steps_to_reproduce,
        affected_user=ticket.affected_account, organization=ticket.organization.name,
        requester=ticket.requester.name, sla=clock(ticket),
        attachments=[attachment(ticket, a) for a in ticket.attachments if a.message_id is None],
        messages=[message(m) for m in tickets.thread(ticket, viewer)],
        history=[EventOut(at=utc(e.created_at), kind=e.kind, by=e.actor.name if e.actor else None, old=e.old_value,
                          new=e.new_value, reason=e.reason) for e in tickets.public_history(ticket, viewer)],
        priority_requests=[priority_request(r) for r in priorities.requests_of(ticket)],
    )


def priority_request(item) -> PriorityRequestOut:
    return PriorityRequestOut(
        id=item.id, current=item.current_priority.value, requested=item.requested_priority.value, reason=item.reason,
        requested_by=item.requested_by.name, created_at=utc(item.created_at), decision=item.decision,
        decided_by=item.decided_by.name if item.decided_by else None, decided_at=utc(item.decided_at),
        decline_reason=item.decline_reason)


# --- the organization -------------------------------------------------------------------------

def _minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def _targets(pairs) -> list[TargetOut]:
    return [TargetOut(applies_to=key, due_minutes=_minutes(t.due), expected_minutes=_minutes(t.expected))
            for key, t in pairs]


def _support_hours(plan, organization) -> SupportHoursOut:
    calendar = plan.calendar(organization.timezone)
    spec = plan.spec.calendar
    always = spec.hours == ["always"]
    windows = [] if always else [
        OpeningHours(days=[DAYS[d] for d in sorted(w.weekdays)],
                     opens=f"{w.open_minute // 60:02d}:{w.open_minute % 60:02d}",
                     closes=f"{w.close_minute // 60:02d}:{w.close_minute % 60:02d}")
        for w in calendar.windows]
    holidays = spec.holidays
    where = None
    if holidays:
        where = holidays.country + (f"-{holidays.subdivision}" if holidays.subdivision else "")
    return SupportHoursOut(always=always, timezone=str(calendar.timezone), windows=windows, holidays=where)


def plan_entry(entry) -> PlanEntryOut:
    return PlanEntryOut(id=entry.id, plan=entry.plan, name=plan_changes.plan_name(entry.plan),
                        starts_on=entry.starts_on, ends_on=entry.ends_on, trial=entry.trial, note=entry.note,
                        set_by=entry.set_by.email if entry.set_by else None, created_at=utc(entry.created_at))


def next_change(change) -> NextChangeOut | None:
    if change is None:
        return None
    return NextChangeOut(on=change.on, plan=plan_entry(change.entry) if change.entry else None)


def plan_history(org, now) -> PlanHistoryOut:
    current = plan_services.entry_in_force(org, now)
    return PlanHistoryOut(go_live=org.started_on, in_force=current.id if current else None,
                          next_change=next_change(plan_changes.next_change(org, now)),
                          entries=[plan_entry(e) for e in plan_services.history(org)])


def organization(org, quota, balance, now) -> OrgOut:
    entry = plan_services.entry_in_force(org, now)
    plan = plan_services.get_plan(entry.plan) if entry else None
    plan_out = None
    if plan is not None:
        plan_out = PlanOut(
            key=plan.key, name=plan.name, summary=plan.spec.summary, started_on=entry.starts_on,
            ends_on=entry.ends_on, trial=entry.trial, channels=list(plan.spec.channels),
            onboarding=plan.spec.onboarding, tickets_per_month=plan.spec.tickets_per_month,
            response_targets=_targets(plan.response_targets()),
            resolution_targets=_targets(plan.resolution_targets()),
            support_hours=_support_hours(plan, org),
            priority_scheme=plan.spec.priority.scheme, fixed_priority=plan.spec.priority.fixed,
            severity_levels=[SeverityLevelOut(priority=level.priority, name=level.name, definition=level.definition,
                                              not_for=list(level.not_for)) for level in plan.spec.priority.levels],
            technical_issue_requires=[{"affected_account": "affected_user"}.get(name, name)
                                      for name in plan.spec.tickets.technical_issue_requires],
        )
    return OrgOut(name=org.name, timezone=org.timezone, go_live=org.started_on, plan=plan_out,
                  next_change=next_change(plan_changes.next_change(org, now)), quota=quota_of(quota),
                  hours=hours_of(balance))


def quota_of(quota) -> QuotaOut | None:
    if quota is None:
        return None
    return QuotaOut(used=quota.used, limit=quota.limit, left=quota.left, month=quota.month,
                    resets_at=utc(quota.resets_at))


def hours_of(balance) -> HoursOut | None:
    if balance is None:
        return None
    return HoursOut(period_start=balance.period.start, period_end=balance.period.last_day,
                    bought_minutes=balance.bought_minutes, used_minutes=balance.used_minutes,
                    left_minutes=balance.left_minutes, state=balance.state)


# --- onboarding -------------------------------------------------------------------------------

def _session(item) -> SessionOut:
    return SessionOut(id=item.id, starts_at=utc(item.starts_at), ends_at=utc(item.ends_at), status=item.status,
                      expert=item.expert.user.name, feature_area=item.feature_area,
                      url=url_for("onboarding.session", session_id=item.id, _external=True))


def _week_state(week, now: datetime) -> str:
    """As the onboarding page labels a week."""
    if week.session is not None:
        return week.session.status
    return "week_over" if now >= week.ends_at else "not_booked"


def onboarding(program, feedback_given: bool, now: datetime) -> OnboardingOut:
    return OnboardingOut(
        included=True, sessions_included=program.sessions_included, session_minutes=program.session_minutes,
        premium=program.premium, starts_at=utc(program.starts_at), ends_at=utc(program.ends_at),
        booked=program.booked, finished=program.finished(now), feedback_given=feedback_given,
        weeks=[WeekOut(number=w.number, starts_at=utc(w.starts_at), ends_at=utc(w.ends_at),
                       state=_week_state(w, now), session=_session(w.session) if w.session else None)
               for w in program.weeks],
        extra_sessions=[_session(s) for s in program.extra],
    )


def no_onboarding() -> OnboardingOut:
    return OnboardingOut(included=False, sessions_included=0, session_minutes=0, premium=False, starts_at=None,
                         ends_at=None, booked=0, finished=False, feedback_given=False, weeks=[], extra_sessions=[])


# --- the OpenAPI document -------------------------------------------------------------------

def openapi_document() -> dict:
    """spectree's document, with errors declared as application/problem+json."""
    from . import spec

    document = copy.deepcopy(spec.spec)
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") or {}
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    response["content"] = {"application/problem+json": content["application/json"]}
    return document
