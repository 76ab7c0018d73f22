"""A held onboarding session is time of kind "onboarding" in the hours ledger, logged once through
portal.plans.hours, billed only where the plan's billable_kinds count onboarding."""

from datetime import date, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.onboarding import services as onboarding
from portal.plans.models import TimeEntry
from portal.tickets import billing
from tests.factories import gen_org, gen_user
from tests.onboarding.conftest import expert  # noqa: F401  (the fixture: Eva, Madrid, weekdays 09:00-12:00)

START = date(2026, 11, 30)
SESSION = datetime(2026, 12, 1, 8)  # Tuesday 09:00 in Madrid
AFTER = datetime(2026, 12, 1, 9, 30)


def _entries() -> list[TimeEntry]:
    return list(db.session.scalars(select(TimeEntry).order_by(TimeEntry.id)))


def _held_session(plan, expert, starts=SESSION):
    customer = gen_user(org=gen_org(plan=plan, started_on=START))
    session = onboarding.book(customer, 1, expert.user_id, starts, "tickets", now=datetime(2026, 11, 30, 6))
    onboarding.record_outcome(session, expert.user, "held", "Went well.", now=starts + (AFTER - SESSION))
    return customer.organization, session


def test_a_held_session_is_logged_once_and_billed_where_the_plan_counts_onboarding(app, expert):  # noqa: F811
    org, session = _held_session("onsite", expert)
    onboarding.record_outcome(session, expert.user, "held", "Went well, notes edited.", now=AFTER)  # again: not twice
    (entry,) = _entries()
    assert (entry.kind, entry.onboarding_session_id, entry.minutes, entry.worked_on, entry.agent_id, entry.ticket_id) \
        == ("onboarding", session.id, 60, date(2026, 12, 1), expert.user_id, None)
    line = billing.balance(org).lines[0]
    assert (line.kind, line.billed, line.rule) == ("onboarding", 60, "")  # this plan bills onboarding

    free, _session = _held_session("implementation", expert, datetime(2026, 12, 2, 8))  # this one does not
    line = billing.balance(free).lines[0]
    assert (line.kind, line.logged, line.billed, line.rule) == ("onboarding", 60, 0, "not billable")


def test_a_session_corrected_to_missed_drops_its_time(app, expert):  # noqa: F811
    _org, session = _held_session("onsite", expert)
    onboarding.record_outcome(session, expert.user, "missed", now=AFTER)
    assert _entries() == []
    onboarding.record_outcome(session, expert.user, "held", now=AFTER)
    assert [e.onboarding_session_id for e in _entries()] == [session.id]
