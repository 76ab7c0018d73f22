"""On-site visits (seed 001's "a physical visit two days a week during the implementation"): the rules
of scheduling, moving and cancelling, and a held visit logged once in the hours ledger."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.onboarding import services as onboarding
from portal.onboarding.models import ExpertProfile
from portal.plans.models import TimeEntry
from portal.tickets import billing
from portal.visits import services as visits
from portal.visits.models import Visit
from tests.factories import gen_org, gen_user

NOW = datetime(2026, 12, 2, 10, 0)  # Wednesday; the week runs Monday 30 November to Sunday 6 December
THU, FRI, SAT = date(2026, 12, 3), date(2026, 12, 4), date(2026, 12, 5)
HOLIDAY = date(2026, 12, 8)  # Inmaculada Concepción in Madrid


def _schedule(org, agent, day, consultant, address="Calle Mayor 1, Madrid", agenda="Stock module"):
    return visits.schedule_visit(org, agent, day, consultant, address, agenda, NOW)


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Visit))


def _refused(field, match, call, *args, **kwargs):
    with pytest.raises(DomainError, match=match) as refused:
        call(*args, **kwargs)
    assert refused.value.field == field
    db.session.rollback()


def test_a_visit_is_scheduled_within_the_plan_and_audited(app, org, agent, consultant):
    visit = _schedule(org, agent, THU, consultant)
    assert (visit.day, visit.consultant_id, visit.status, visit.created_by_id) == (THU, consultant.id, "scheduled",
                                                                                   agent.id)
    assert visit.address == "Calle Mayor 1, Madrid" and visit.agenda == "Stock module"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "visit.schedule"))
    assert entry.organization_id == org.id and entry.detail["day"] == "2026-12-03"
    assert entry.detail["consultant"] == consultant.email
    assert visits.visits_of(org) == ([visit], [])


def test_every_rule_refuses_with_its_field_and_nothing_written(app, org, agent, consultant):
    colleague = gen_user(Role.AGENT, name="Leo Colleague")
    _schedule(org, agent, THU, consultant)
    _schedule(org, agent, FRI, colleague)
    third = gen_user(Role.ADMIN, name="Ada Admin")
    _refused("day", "Visit days a week on the plan On-site: 2. The week of 2026-11-30", _schedule, org, agent, SAT, third)  # the week has its two already
    _refused("day", "has gone by", _schedule, org, agent, date(2026, 12, 1), third)
    _refused("day", "Choose the day", _schedule, org, agent, None, third)
    _refused("day", "at most two years ahead", _schedule, org, agent, date(9999, 12, 31), third)  # no week after it
    other = gen_org(plan="onsite")
    _refused("consultant", "already has a visit on 2026-12-03", _schedule, other, agent, THU, consultant)
    _refused("consultant", "Public holiday", _schedule, other, agent, HOLIDAY, consultant)
    onboarding.add_day_off(db.session.get(ExpertProfile, consultant.id), date(2026, 12, 10), note="Dentist")
    _refused("consultant", "Day off: Dentist", _schedule, other, agent, date(2026, 12, 10), consultant)
    _refused("consultant", "list of agents", _schedule, other, agent, THU, gen_user(Role.CUSTOMER, org=other))
    _refused("consultant", "list of agents", _schedule, other, agent, THU, None)
    _refused("address", "address", _schedule, other, agent, THU, third, address="  ")
    _refused(None, "Only agents", _schedule, other, gen_user(Role.CUSTOMER_ADMIN, org=other), THU, third)
    _refused("day", "includes no on-site visit days", _schedule, gen_org(plan="standard"), agent, THU, third)
    assert _count() == 2


def test_a_visit_falls_within_the_validity_of_the_plan_in_force_that_day(app, agent, consultant):
    implementation = gen_org(plan="implementation", started_on=date(2026, 11, 16))  # one month: to 15 December
    _schedule(implementation, agent, date(2026, 12, 15), consultant)
    _refused("day", "No support plan of .* is in force on 2026-12-16", _schedule, implementation, agent,
             date(2026, 12, 16), consultant)
    _refused("day", "Visit days a week on the plan Implementation: 1", _schedule, implementation, agent, date(2026, 12, 14),
             gen_user(Role.AGENT))


def test_the_database_refuses_a_consultant_booked_twice_the_same_day(app, org, agent, consultant, monkeypatch):
    """Two agents racing past the checks: the partial unique index turns the second into a clear refusal."""
    _schedule(org, agent, THU, consultant)
    monkeypatch.setattr(visits, "_check", lambda *args, **kwargs: None)
    _refused("consultant", "just booked for that day", _schedule, gen_org(plan="onsite"), agent, THU, consultant)
    assert _count() == 1


def test_cancelling_frees_the_day_and_the_week_and_moving_follows_the_rules(app, org, agent, consultant):
    colleague = gen_user(Role.AGENT, name="Leo Colleague")
    thursday = _schedule(org, agent, THU, consultant)
    friday = _schedule(org, agent, FRI, colleague)
    _refused("consultant", "already has a visit", visits.reschedule, friday, agent, THU, consultant, NOW)
    _refused("consultant", "Public holiday", visits.reschedule, friday, agent, HOLIDAY, consultant, NOW)
    visits.reschedule(friday, agent, date(2026, 12, 9), consultant, NOW)  # the next week, Eva's
    assert (friday.day, friday.consultant_id) == (date(2026, 12, 9), consultant.id)
    visits.reschedule(thursday, agent, THU, colleague, NOW)  # the same day, another consultant: not counted twice
    visits.cancel(thursday, agent, NOW)
    assert thursday.status == "cancelled"
    _refused("status", "cancelled", visits.cancel, thursday, agent, NOW)
    _refused("status", "cancelled", visits.mark_held, thursday, agent, 60, NOW)
    again = _schedule(org, agent, THU, colleague)  # a cancelled visit blocks neither the consultant nor the week
    assert again.id != thursday.id
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("visit.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["visit.schedule", "visit.schedule", "visit.reschedule", "visit.reschedule", "visit.cancel",
                       "visit.schedule"]


def test_a_held_visit_is_logged_once_and_billed_where_the_plan_says(app, org, agent, consultant):
    today = visits.schedule_visit(org, agent, NOW.date(), consultant, "Calle Mayor 1", "Stock", NOW)
    later = _schedule(org, agent, THU, gen_user(Role.AGENT))
    _refused("minutes", "on its day or later", visits.mark_held, later, agent, 60, NOW)
    _refused("minutes", "whole minutes", visits.mark_held, today, agent, "two hours", NOW)
    entry = visits.mark_held(today, agent, "20", NOW, report="Counted the warehouse with Marta")
    assert (today.status, today.minutes, today.report) == ("held", 20, "Counted the warehouse with Marta")
    assert (entry.kind, entry.visit_id, entry.minutes, entry.worked_on, entry.ticket_id) == (
        "visit", today.id, 20, NOW.date(), None)
    _refused("status", "already held", visits.mark_held, today, agent, 30, NOW)
    assert db.session.scalar(select(func.count()).select_from(TimeEntry)) == 1
    line = billing.balance(org).lines[0]
    assert (line.kind, line.logged, line.billed, line.rule) == ("visit", 20, 30, "minimum")  # the plan bills visits
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "visit.held")) == 1

    free = gen_org(plan="implementation", started_on=date(2026, 11, 16))  # its visits are not billed
    visit = visits.schedule_visit(free, agent, NOW.date(), gen_user(Role.AGENT), "Gran Vía 2", None, NOW)
    visits.mark_held(visit, agent, 240, NOW)
    line = billing.balance(free).lines[0]
    assert (line.kind, line.logged, line.billed, line.rule) == ("visit", 240, 0, "not billable")
    assert line.note == "Gran Vía 2"  # no report nor agenda: the address says which visit it was


def test_two_marks_at_once_log_the_time_once(app, org, agent, consultant):
    visit = visits.schedule_visit(org, agent, NOW.date(), consultant, "Calle Mayor 1", None, NOW)
    visits.mark_held(visit, agent, 60, NOW)
    visit.status = "scheduled"  # as a colleague's stale copy would still say
    _refused("status", "already held", visits.mark_held, visit, agent, 60, NOW)
    assert db.session.scalar(select(func.count()).select_from(TimeEntry)) == 1
