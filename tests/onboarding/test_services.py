"""The program's rules: window, one session a week, booking races, changes in time, outcome, feedback."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.errors import DomainError
from portal.extensions import db
from portal.onboarding import services
from portal.onboarding.models import OnboardingSession, SessionStatus
from tests.conftest import run_in_threads
from tests.factories import gen_ticket, gen_user, queued_mail
from tests.onboarding.conftest import NOW, START, new_customer

MON_9_MADRID = datetime(2026, 11, 30, 8, 0)  # 09:00 in Madrid, in week 1


def test_the_program_is_four_weeks_from_the_start_in_the_customers_zone(app):
    customer = new_customer(START, timezone="America/New_York")
    program = services.program(customer.organization)
    assert [w.number for w in program.weeks] == [1, 2, 3, 4]
    assert program.starts_at == datetime(2026, 11, 30, 5, 0)  # midnight in New York
    assert program.ends_at == datetime(2026, 12, 28, 5, 0)
    assert program.session_minutes == 60 and not program.premium
    assert services.program(new_customer(START, plan="premium").organization).premium


def test_booking_a_week_and_what_is_refused(app, expert):
    customer = new_customer(START)
    slots = services.week_slots(services.program(customer.organization), 1, NOW)
    assert slots[0].starts_at == datetime(2026, 11, 30, 10, 0)  # 11:00 Madrid: the first slot 4 hours ahead
    session = services.book(customer, 1, expert.user_id, slots[0].starts_at, "tickets", "  How do priorities work? ",
                            now=NOW)
    assert session.week == 1 and session.ends_at - session.starts_at == timedelta(hours=1)
    assert session.questions == "How do priorities work?"

    def refused(match, **kw):
        args = dict(user=customer, week=2, expert_id=expert.user_id, starts_at=datetime(2026, 12, 7, 8),
                    area="tickets", now=NOW) | kw
        with pytest.raises(DomainError, match=match):
            services.book(**args)

    refused("already has its session", week=1, starts_at=slots[1].starts_at)
    refused("weeks 1 to 4", week=5)  # a fifth session
    refused("outside the week", starts_at=datetime(2026, 11, 30, 9))
    refused("in the past", starts_at=datetime(2026, 11, 1, 8))
    refused("feature area", area="astrology")
    refused("not available", starts_at=datetime(2026, 12, 7, 15))  # 16:00 Madrid: outside the hours
    refused("at least 4 hours ahead", week=1, starts_at=datetime(2026, 11, 30, 8), user=new_customer(START))
    late = new_customer(date(2026, 10, 1))
    with pytest.raises(DomainError, match="window has closed"):
        services.book(late, 4, expert.user_id, datetime(2026, 10, 22, 8), "tickets", now=NOW)
    with pytest.raises(services.NoOnboarding):
        services.program(new_customer(START, plan="nothing").organization)


def test_two_customers_racing_for_the_last_slot_get_one_booking(app, expert):
    # Only one slot in the week: Friday 4 December 09:00-10:00.
    services.set_availability(expert, ["fri 09:00-10:00"])
    customers = [new_customer(START).id for _ in range(6)]
    at = datetime(2026, 12, 4, 8, 0)

    def race(i):
        user = db.session.get(User, customers[i])
        try:
            return services.book(user, 1, expert.user_id, at, "tickets", now=NOW).id
        except services.SlotTaken as exc:
            return ("taken", exc.nearest)

    results, failures = run_in_threads(app, 6, race)
    assert failures == []
    booked = [r for r in results if isinstance(r, int)]
    taken = [r for r in results if isinstance(r, tuple)]
    assert len(booked) == 1 and len(taken) == 5
    assert all(nearest == [] for _t, nearest in taken)  # no other slot that week
    assert db.session.scalar(select(func.count()).select_from(OnboardingSession)) == 1


def test_slot_taken_offers_the_nearest_free_slots(app, expert):
    first, second = new_customer(START), new_customer(START)
    at = datetime(2026, 12, 2, 9, 0)  # Wednesday 10:00 Madrid
    services.book(first, 1, expert.user_id, at, "tickets", now=NOW)
    with pytest.raises(services.SlotTaken) as caught:
        services.book(second, 1, expert.user_id, at, "tickets", now=NOW)
    assert [s.starts_at for s in caught.value.nearest][:2] == [datetime(2026, 12, 2, 8), datetime(2026, 12, 2, 10)]


def test_reschedule_and_cancel_up_to_the_notice(app, expert):
    customer = new_customer(START)
    session = services.book(customer, 2, expert.user_id, datetime(2026, 12, 8, 9), "api", now=NOW)
    services.reschedule(session, customer, expert.user_id, datetime(2026, 12, 9, 10), now=NOW)
    assert session.starts_at == datetime(2026, 12, 9, 10) and session.sequence == 1
    # The old slot is free again for everyone.
    assert datetime(2026, 12, 8, 9) in [s.starts_at for s in services.week_slots(services.program(
        customer.organization), 2, NOW)]
    too_late = datetime(2026, 12, 8, 11)  # 23 hours before
    with pytest.raises(DomainError, match="24 hours before"):
        services.cancel(session, customer, now=too_late)
    with pytest.raises(DomainError, match="Only the customer's organization"):
        services.cancel(session, new_customer(START), now=NOW)
    services.cancel(session, customer, now=NOW)
    assert session.status == SessionStatus.CANCELLED.value
    # The week can be booked again, even at the very same time.
    again = services.book(customer, 2, expert.user_id, datetime(2026, 12, 9, 10), "api", now=NOW)
    assert again.id != session.id


def test_the_expert_records_the_outcome_and_the_customer_rates(app, expert):
    customer = new_customer(START)
    session = services.book(customer, 1, expert.user_id, datetime(2026, 12, 1, 8), "tickets", now=NOW)
    with pytest.raises(DomainError, match="once it has started"):
        services.record_outcome(session, expert.user, "held", now=NOW)
    with pytest.raises(DomainError, match="held or missed"):
        services.record_outcome(session, expert.user, "great", now=datetime(2026, 12, 1, 9))
    with pytest.raises(DomainError, match="No article"):
        services.record_outcome(session, expert.user, "held", follow_up=["nope"], known_slugs={"a"},
                                now=datetime(2026, 12, 1, 9))
    services.record_outcome(session, expert.user, "held", "Went well.", ["a", "a", " "], known_slugs={"a"},
                            now=datetime(2026, 12, 1, 9))
    assert session.status == "held" and session.follow_up_slugs == ["a"] and session.notes == "Went well."
    for bad in ("0", "6", "x", None):
        with pytest.raises(DomainError, match="1 to 5"):
            services.rate_session(session, customer, bad)
    services.rate_session(session, customer, "4")
    assert session.rating == 4


def test_feedback_once_per_program_editable_for_a_few_days(app, expert):
    customer = new_customer(START)
    colleague = gen_user(Role.CUSTOMER, org=customer.organization)
    scores = {"usefulness": "5", "clarity": "4", "pace": "3", "expert_score": "5", "comments": "Great."}
    with pytest.raises(DomainError, match="opens after your last session"):
        services.submit_feedback(customer, scores, now=NOW)
    after = datetime(2027, 1, 2)  # the window is over
    with pytest.raises(DomainError) as caught:
        services.submit_feedback(customer, scores | {"clarity": "9", "pace": ""}, now=after)
    assert set(caught.value.errors) == {"clarity", "pace"}
    first = services.submit_feedback(customer, scores, now=after)
    second = services.submit_feedback(colleague, scores | {"pace": "4"}, now=after + timedelta(days=2))
    assert first.id == second.id and second.pace == 4 and second.submitted_at == after
    with pytest.raises(DomainError, match="that time has passed"):
        services.submit_feedback(customer, scores, now=after + timedelta(days=8))


def test_a_training_request_books_an_extra_session(app, expert):
    customer = new_customer(date(2026, 1, 5))  # the program is long over
    ticket = gen_ticket(customer, category="training_request", subject="Train our new support lead")
    at = datetime(2026, 12, 10, 9)
    session = services.book_extra(customer, ticket, expert.user_id, at, "plans", now=NOW)
    assert session.week is None and session.ticket_id == ticket.id and session.questions == "Train our new support lead"
    with pytest.raises(DomainError, match="already has a session"):
        services.book_extra(customer, ticket, expert.user_id, at + timedelta(hours=1), "plans", now=NOW)
    question = gen_ticket(customer, category="question")
    with pytest.raises(DomainError, match="from a training request"):
        services.book_extra(customer, question, expert.user_id, at, "plans", now=NOW)
    assert services.program(customer.organization).extra == [session]


def test_experts_availability_is_validated(app):
    agent = gen_user(Role.AGENT)
    with pytest.raises(DomainError, match="Unknown time zone"):
        services.make_expert(agent, "Mars/Base", "https://meet.example.com/x")
    with pytest.raises(DomainError, match="https://"):
        services.make_expert(agent, "UTC", "javascript:alert(1)")
    with pytest.raises(DomainError, match="Experts are agents"):
        services.make_expert(new_customer(START), "UTC", "https://meet.example.com/x")
    profile = services.make_expert(agent, "UTC", "https://meet.example.com/x")
    with pytest.raises(DomainError, match="overlap"):
        services.set_availability(profile, ["mon 09:00-12:00", "mon-tue 11:00-13:00"])
    with pytest.raises(DomainError, match="mon-fri"):
        services.set_availability(profile, ["weekdays 9-5"])
    services.set_availability(profile, ["mon 09:00-12:00", "", "wed 14:00-16:00"])
    assert [(r.weekday, r.start_minute) for r in profile.rules] == [(0, 540), (2, 840)]


def test_the_last_session_done_asks_for_feedback_once(app, expert):
    before = len(queued_mail())
    customer = new_customer(START)
    sessions = [services.book(customer, week, expert.user_id, datetime(2026, 11, 30, 10) + timedelta(weeks=week - 1),
                              "tickets", now=NOW) for week in (1, 2, 3, 4)]
    later = datetime(2027, 1, 1)

    def asked():
        return [m for m in queued_mail()[before:] if "How was your onboarding?" in m]

    for session in sessions[:3]:
        services.record_outcome(session, expert.user, "held", now=later)
    assert asked() == []
    services.record_outcome(sessions[3], expert.user, "missed", now=later)
    assert len(asked()) == 1
    services.record_outcome(sessions[3], expert.user, "held", "Caught up after all.", now=later)
    assert len(asked()) == 1  # a correction does not ask again
