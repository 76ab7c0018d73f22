"""SLA clocks on tickets: due times, the first public reply, pauses, the sweep."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db
from portal.plans import sla
from portal.tickets import clocks, services
from portal.tickets.models import Status, Ticket, TicketEvent
from tests.conftest import run_in_threads
from tests.factories import gen_org, gen_ticket, gen_user, queued_mail

# Friday 27 November 2026, 16:30 in Madrid (15:30 UTC).
FRIDAY_1630 = datetime(2026, 11, 27, 15, 30)


def _ticket(plan="standard", now=FRIDAY_1630, **fields):
    org = gen_org(plan=plan, timezone="Europe/Madrid")
    customer = gen_user(Role.CUSTOMER, org=org)
    return gen_ticket(customer, now=now, **fields)


def test_filing_starts_the_clock_in_business_hours_of_the_customers_zone(app):
    ticket = _ticket(impact="medium", urgency="high")  # P2: 3 business hours
    assert ticket.plan == "standard" and ticket.priority.value == "P2"
    # 30 minutes on Friday, 2.5 hours on Monday from 08:00 Madrid: 10:30 local = 09:30 UTC.
    assert ticket.first_response_due == datetime(2026, 11, 30, 9, 30)
    clock = sla.clock(ticket, FRIDAY_1630 + timedelta(minutes=10))
    assert clock.kind == "first_response" and clock.left == timedelta(hours=2, minutes=50) and not clock.at_risk
    premium = _ticket(plan="premium", impact="high", urgency="high")  # P1: 15 minutes, 24x7
    assert premium.first_response_due == FRIDAY_1630 + timedelta(minutes=15)


def test_the_first_public_agent_reply_stops_the_clock_and_an_internal_note_does_not(app):
    ticket = _ticket()
    agent = gen_user(Role.AGENT)
    services.reply(ticket, agent, "Looking into it.", internal=True, now=FRIDAY_1630 + timedelta(minutes=5))
    assert ticket.first_response_at is None
    services.reply(ticket, ticket.requester, "Any news?", now=FRIDAY_1630 + timedelta(minutes=6))
    assert ticket.first_response_at is None
    services.reply(ticket, agent, "Here is what to do.", now=FRIDAY_1630 + timedelta(minutes=20))
    assert ticket.first_response_at == FRIDAY_1630 + timedelta(minutes=20)
    assert sla.clock(ticket, FRIDAY_1630 + timedelta(days=5)) is None  # no resolution target in this plan


def test_the_first_response_cannot_be_dodged_by_parking_the_ticket(app):
    ticket = _ticket(impact="medium", urgency="high")  # P2, due Monday 09:30 UTC
    agent = gen_user(Role.AGENT)
    for status in ("waiting_on_customer", "solved", "closed"):
        with pytest.raises(services.AnswerFirst, match="Answer the customer first"):
            services.change_status(ticket, agent, status, now=FRIDAY_1630 + timedelta(minutes=15))
    assert ticket.status is Status.NEW and ticket.sla_paused_since is None
    # Even parked by a path that skips the rule (an import, an old database), the first
    # response keeps running: it never pauses, and the sweep records its breach.
    services._set_status(ticket, agent, Status.WAITING_ON_CUSTOMER, FRIDAY_1630 + timedelta(minutes=15))
    db.session.commit()
    waiting = sla.clock(ticket, FRIDAY_1630 + timedelta(days=3))
    assert waiting.kind == "first_response" and not waiting.paused and waiting.overdue
    assert clocks.sweep(datetime(2026, 11, 30, 9, 31))["breached"] == [ticket.reference]
    assert db.session.get(Ticket, ticket.id).response_breached_at == datetime(2026, 11, 30, 9, 31)


def test_after_the_answer_waiting_on_the_customer_pauses_the_update_promise(make_app, tmp_path):
    plans = tmp_path / "plans.toml"
    plans.write_text('''[plans.standard]
name = "Standard"
response = { P1 = "1h", P2 = "3h", P3 = "8h", P4 = "24h" }
resolution = { P2 = "16h" }
updates = { P2 = "4h" }
[plans.standard.calendar]
timezone = "organization"
hours = ["mon-fri 08:00-17:00"]
''')
    app = make_app(PLANS_FILE=str(plans))
    with app.app_context():
        ticket = _ticket(impact="medium", urgency="high")
        agent = gen_user(Role.AGENT)
        services.reply(ticket, agent, "Which browser?", now=FRIDAY_1630 + timedelta(minutes=10))
        # The update promise runs from the answer: 20 minutes on Friday, 3 h 40 on Monday from 08:00 Madrid.
        assert ticket.next_update_due == datetime(2026, 11, 30, 10, 40)
        services.change_status(ticket, agent, "waiting_on_customer", now=FRIDAY_1630 + timedelta(minutes=15))
        paused = sla.clock(ticket, FRIDAY_1630 + timedelta(days=3))
        assert paused.kind == "resolution" and paused.paused and sla.update_clock(ticket) is None
        # The customer answers on Monday at 09:00 Madrid (08:00 UTC): 15 minutes on Friday and one
        # hour on Monday were paused, so the resolution moves by 75 minutes, and the update promise
        # starts again from the customer's answer.
        services.reply(ticket, ticket.requester, "Firefox.", now=datetime(2026, 11, 30, 8, 0))
        assert ticket.status is Status.OPEN and ticket.sla_paused_since is None
        assert ticket.sla_paused_seconds == 75 * 60
        assert ticket.resolution_due == datetime(2026, 12, 1, 14, 45)  # Tue 15:45 Madrid
        assert ticket.next_update_due == datetime(2026, 11, 30, 12, 0)
        assert sla.update_clock(ticket, datetime(2026, 11, 30, 9, 0)).left == timedelta(hours=3)


def test_a_priority_change_recomputes_the_due_time(app):
    ticket = _ticket(impact="low", urgency="low")  # P4: 24 business hours
    agent = gen_user(Role.AGENT)
    before = ticket.first_response_due
    services.change_priority(ticket, agent, "P1", "Production is down after all.")
    # One business hour: 30 minutes on Friday, 30 on Monday from 08:00 local.
    assert ticket.first_response_due == datetime(2026, 11, 30, 7, 30)
    assert ticket.first_response_due < before


def test_sweep_marks_at_risk_then_breached_once_and_tells_the_assignee(app, tmp_path):
    ticket = _ticket(impact="high", urgency="high")  # P1: 1 business hour, due Monday 08:30 local
    agent = gen_user(Role.AGENT, name="Alex Agent")
    services.assign(ticket, agent, agent)
    due = ticket.first_response_due
    before = len(queued_mail())

    assert clocks.sweep(due - timedelta(minutes=30)) == {"at_risk": [], "breached": []}
    assert clocks.sweep(due - timedelta(minutes=10)) == {"at_risk": [ticket.reference], "breached": []}
    assert clocks.sweep(due - timedelta(minutes=5)) == {"at_risk": [], "breached": []}  # once
    assert clocks.sweep(due + timedelta(minutes=1)) == {"at_risk": [], "breached": [ticket.reference]}
    assert clocks.sweep(due + timedelta(minutes=30)) == {"at_risk": [], "breached": []}

    sent = queued_mail()[before:]
    alerts = [m for m in sent if "SLA" in m]
    assert len(alerts) == 2 and all(agent.email in m for m in alerts)
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind == "sla")).all()
    assert [e.new_value for e in events] == ["first_response:at_risk", "first_response:breached"]
    assert all(e.internal for e in events)


def test_concurrent_sweeps_mark_and_notify_once(app):
    ticket = _ticket(impact="high", urgency="high")
    gen_user(Role.AGENT)
    late = ticket.first_response_due + timedelta(minutes=1)
    results, failures = run_in_threads(app, 6, lambda _i: clocks.sweep(late))
    assert failures == []
    assert sum(len(r["breached"]) for r in results) == 1
    assert db.session.get(Ticket, ticket.id).response_breached_at == late


@pytest.mark.instants  # the command sweeps at the real time: whatever the hour, a 2020 P1 is breached
def test_sla_sweep_command(app):
    ticket = _ticket(impact="high", urgency="high", now=datetime(2020, 1, 6, 9, 0))
    result = app.test_cli_runner().invoke(args=["sla", "sweep"])
    assert result.exit_code == 0
    assert f"1 ticket(s) newly breached: {ticket.reference}" in result.output


@pytest.mark.instants  # the page reads its clocks at the real time, in or out of business hours
def test_ticket_page_shows_the_clock_to_the_customer(app, client, auth):
    org = gen_org(plan="standard", timezone="Europe/Madrid")
    customer = gen_user(Role.CUSTOMER, org=org)
    ticket = gen_ticket(customer, impact="high", urgency="high", now=datetime(2020, 1, 6, 9, 0))
    auth.login(customer.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Service level" in page and "Plan: Standard." in page
    assert "Overdue" in page and 'class="sla-clock sla-overdue"' in page
    assert "Times in Europe/Madrid." in page
    fresh = gen_ticket(customer, impact="low", urgency="low")
    page = client.get(f"/tickets/{fresh.reference}").get_data(as_text=True)
    assert "Target: 24 h of business hours." in page


@pytest.mark.instants
def test_clocks_far_from_their_due_time_are_counted_in_real_time(app, client, auth):
    ticket = _ticket(impact="high", urgency="high", now=datetime(2026, 1, 5, 9, 0))
    late = sla.clock(ticket, datetime(2026, 11, 27, 12, 0))
    assert late.approximate and late.overdue and late.left == ticket.first_response_due - datetime(2026, 11, 27, 12)
    near = sla.clock(ticket, ticket.first_response_due + timedelta(days=2))
    assert not near.approximate and near.overdue
    auth.login(ticket.requester.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Overdue" in page and "since Jan 5, 2026" in page
