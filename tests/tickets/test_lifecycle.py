"""The lifecycle around the clocks: solved tickets that close by themselves, update promises,
target units, best-effort plans and what happens when the prepaid hours run out."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.extensions import db
from portal.plans import sla
from portal.tickets import billing, clocks, services
from portal.tickets.models import Status, Ticket, TicketEvent
from tests.conftest import AuthActions, IsolatedClient, csrf_token
from tests.factories import answer, gen_org, gen_ticket, gen_user

# Friday 27 November 2026, 16:30 in Madrid (15:30 UTC).
FRIDAY_1630 = datetime(2026, 11, 27, 15, 30)

POLICY = '''
[plans.care]
name = "Care"
response = { P1 = "1h", P2 = "48h calendar", P3 = "2d", P4 = "1d-2d" }
updates = { P1 = "4h calendar", P2 = "1d" }
[plans.care.calendar]
timezone = "organization"
hours = ["mon-fri 08:00-18:00"]
[plans.care.lifecycle]
solved_autoclose_days = 10

[plans.community]
name = "Community"
summary = "Email on a best-effort basis."
[plans.community.calendar]
timezone = "UTC"
hours = ["mon-fri 09:00-17:00"]

[plans.prepaid]
name = "Prepaid"
response = { any = "4h" }
[plans.prepaid.calendar]
timezone = "organization"
hours = ["mon-fri 09:00-18:00"]
[plans.prepaid.support_hours]
hours = 1
when_used_up = "{rule}"
'''


@pytest.fixture
def policy(make_app, tmp_path):
    """An app on a plans file written for these tests; ``rule`` is the prepaid plan's when_used_up."""
    contexts = []

    def build(rule="warn"):
        path = tmp_path / f"plans-{rule}.toml"
        path.write_text(POLICY.replace("{rule}", rule))
        app = make_app(PLANS_FILE=str(path))
        app.test_client_class = IsolatedClient  # each request in its own context, as in production
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield build
    for context in reversed(contexts):
        context.pop()


def _panel(page: str) -> str:
    start = page.index('class="card-panel small sla-panel"')
    return " ".join(page[start:page.index("</section>", start)].split())


def _ticket(plan="care", now=FRIDAY_1630, **fields):
    org = gen_org(plan=plan, timezone="Europe/Madrid", started_on=datetime(2026, 1, 1).date())
    return gen_ticket(gen_user(Role.CUSTOMER, org=org), now=now, **fields)


def test_targets_in_calendar_hours_and_business_days(policy):
    policy()
    calendar_hours = _ticket(impact="high", urgency="medium")  # P2: 48 h around the clock
    assert calendar_hours.priority.value == "P2"
    assert calendar_hours.first_response_due == FRIDAY_1630 + timedelta(hours=48)  # Sunday, closed or not
    days = _ticket(impact="medium", urgency="medium")  # P3: 2 business days, same local time
    assert days.first_response_due == datetime(2026, 12, 1, 15, 30)  # Tuesday 16:30 Madrid
    ranged = _ticket(impact="low", urgency="low")  # P4: 1 to 2 business days promises 2
    assert ranged.first_response_due == days.first_response_due
    # Filed while closed (Saturday): the days count from Monday's opening, 08:00 Madrid.
    weekend = _ticket(now=datetime(2026, 11, 28, 10, 0), impact="medium", urgency="medium")
    assert weekend.first_response_due == datetime(2026, 12, 2, 7, 0)
    assert sla.clock(days, FRIDAY_1630).target.unit == "business_days"


def test_the_ticket_and_plan_pages_say_which_unit(policy):
    app = policy()
    ticket = _ticket(impact="high", urgency="medium")
    client = app.test_client()
    AuthActions(client).login(ticket.requester.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Target: 48 h around the clock." in page, _panel(page)
    plan_page = client.get("/org").get_data(as_text=True)
    assert "48 h around the clock" in plan_page and "2 business days" in plan_page
    assert "1 to 2 business days" in plan_page and "at least every 4 h around the clock" in plan_page


@pytest.mark.instants
def test_solved_tickets_close_after_the_confirmation_window_with_a_reminder(app, now):
    ticket = gen_ticket()
    agent = answer(ticket, now=now)
    services.change_status(ticket, agent, "solved", now=now)
    assert services.autoclose_due(ticket) == now + timedelta(days=10)  # TICKET_SOLVED_AUTOCLOSE_DAYS
    assert services.autoclose(now=now + timedelta(days=7)) == ([], [])
    assert services.autoclose(now=now + timedelta(days=8, minutes=1)) == ([], [ticket.reference])
    assert services.autoclose(now=now + timedelta(days=9)) == ([], [])  # reminded once
    assert services.autoclose(now=now + timedelta(days=10, minutes=1)) == ([ticket.reference], [])
    assert services.autoclose(now=now + timedelta(days=11)) == ([], [])
    db.session.refresh(ticket)
    assert ticket.status is Status.CLOSED
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                         TicketEvent.new_value == "closed")).one()
    assert event.actor_id is None and event.old_value == "solved"
    assert event.reason == "solution not confirmed in 10 days"


def test_the_plan_sets_the_confirmation_window_and_the_page_shows_the_date(policy):
    app = policy()
    ticket = _ticket()
    agent = answer(ticket, now=FRIDAY_1630)
    services.change_status(ticket, agent, "solved", now=FRIDAY_1630)
    assert services.autoclose_due(ticket) == FRIDAY_1630 + timedelta(days=10)
    client = app.test_client()
    AuthActions(client).login(ticket.requester.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "We solved this ticket and asked you to confirm. Without an answer, it closes on Dec 7, 2026" in page


def test_a_ticket_nobody_answered_never_closes_by_itself(app, now):
    ticket = gen_ticket()
    services._set_status(ticket, gen_user(Role.AGENT), Status.SOLVED, now)  # a path that skips the rule
    db.session.commit()
    assert services.autoclose_due(ticket) is None
    assert services.autoclose(now=now + timedelta(days=60)) == ([], [])
    assert db.session.get(Ticket, ticket.id).status is Status.SOLVED


def test_update_promises_run_from_each_agent_message_and_are_swept(policy):
    app = policy()
    ticket = _ticket(impact="high", urgency="high")  # P1: answer in 1 h, then an update every 4 calendar hours
    agent = gen_user(Role.AGENT)
    services.assign(ticket, agent, agent)
    assert ticket.next_update_due is None  # no promise before the first response
    answered_at = FRIDAY_1630 + timedelta(minutes=20)
    services.reply(ticket, agent, "We are on it.", now=answered_at)
    assert ticket.next_update_due == answered_at + timedelta(hours=4)
    assert ticket.sla_next_due == ticket.next_update_due  # the queue sorts by it
    assert sla.update_clock(ticket, answered_at + timedelta(hours=1)).left == timedelta(hours=3)

    assert clocks.sweep(answered_at + timedelta(hours=2)) == {"at_risk": [], "breached": []}
    assert clocks.sweep(answered_at + timedelta(hours=3, minutes=30)) == {"at_risk": [ticket.reference],
                                                                         "breached": []}
    assert clocks.sweep(answered_at + timedelta(hours=4, minutes=1)) == {"at_risk": [],
                                                                        "breached": [ticket.reference]}
    assert clocks.sweep(answered_at + timedelta(hours=5)) == {"at_risk": [], "breached": []}  # once
    # A new public message restarts the promise; an internal note does not.
    services.reply(ticket, agent, "Checked the logs.", internal=True, now=answered_at + timedelta(hours=5))
    assert ticket.next_update_due == answered_at + timedelta(hours=4)
    services.reply(ticket, agent, "Found the cause.", now=answered_at + timedelta(hours=6))
    assert ticket.next_update_due == answered_at + timedelta(hours=10) and ticket.update_breached_at is None
    assert clocks.sweep(answered_at + timedelta(hours=10, minutes=1))["breached"] == [ticket.reference]
    events = db.session.scalars(select(TicketEvent.new_value).where(TicketEvent.ticket_id == ticket.id,
                                                                    TicketEvent.kind == "sla")).all()
    assert events == ["update:at_risk", "update:breached", "update:breached"]

    from portal.agent import analytics

    row = next(r for r in analytics.sla_compliance(FRIDAY_1630 - timedelta(days=1)) if r.plan == "care")
    assert (row.with_update_promise, row.updates_missed, row.update_compliance) == (1, 1, 0.0)

    client = app.test_client()
    AuthActions(client).login(ticket.requester.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "<strong>Next update:</strong>" in _panel(page), _panel(page)
    client = app.test_client()
    AuthActions(client).login(agent.email)
    assert "The update target was breached" in client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)


def test_waiting_on_the_customer_holds_the_update_promise(policy):
    policy()
    ticket = _ticket(impact="high", urgency="high")
    agent = answer(ticket, now=FRIDAY_1630 + timedelta(minutes=5))
    services.change_status(ticket, agent, "waiting_on_customer", now=FRIDAY_1630 + timedelta(minutes=6))
    assert sla.update_clock(ticket, FRIDAY_1630 + timedelta(hours=8)) is None
    assert clocks.sweep(FRIDAY_1630 + timedelta(hours=8)) == {"at_risk": [], "breached": []}
    services.reply(ticket, ticket.requester, "Here is the log.", now=FRIDAY_1630 + timedelta(hours=8))
    assert ticket.status is Status.OPEN
    assert ticket.next_update_due == FRIDAY_1630 + timedelta(hours=12)


def test_a_best_effort_plan_has_no_clock_and_sorts_after_every_clock(policy):
    app = policy()
    result = app.test_cli_runner().invoke(args=["plans", "check"])
    assert result.exit_code == 0, result.output
    community = _ticket(plan="community", impact="high", urgency="high")
    assert community.best_effort and community.first_response_due is None and sla.clocks(community) == []
    clocked = _ticket(impact="low", urgency="low", now=FRIDAY_1630 + timedelta(minutes=1))
    agent = gen_user(Role.AGENT)
    from portal.agent import services as queue

    rows, _cursor = queue.queue(agent, queue.Filters(), now=FRIDAY_1630)
    assert [t.reference for t in rows] == [clocked.reference, community.reference]
    assert clocks.sweep(FRIDAY_1630 + timedelta(days=30)) == {"at_risk": [], "breached": [clocked.reference]}

    client = app.test_client()
    AuthActions(client).login(community.requester.email)
    page = client.get(f"/tickets/{community.reference}").get_data(as_text=True)
    assert "Best effort, no guaranteed response time." in page
    assert "This plan has no response targets" in page
    assert "Best effort: this plan has no guaranteed response time." in client.get("/org").get_data(as_text=True)
    client = app.test_client()
    AuthActions(client).login(agent.email)
    assert "Best effort" in client.get("/agent/").get_data(as_text=True)


def _used_up_org():
    org = gen_org(plan="prepaid", timezone="Europe/Madrid", started_on=datetime(2026, 1, 1).date())
    customer = gen_user(Role.CUSTOMER, org=org)
    first = gen_ticket(customer)
    billing.log_time(first, gen_user(Role.AGENT), 60)  # the one hour of the period
    assert billing.balance(org).left_minutes == 0
    return org, customer


def test_hours_used_up_warn_keeps_the_clock(policy):
    app = policy("warn")
    _org, customer = _used_up_org()
    ticket = gen_ticket(customer)
    assert not ticket.best_effort and ticket.first_response_due is not None
    client = app.test_client()
    AuthActions(client).login(customer.email)
    assert "New tickets are still answered as usual" in client.get("/tickets/new").get_data(as_text=True)


def test_hours_used_up_best_effort_files_without_a_clock(policy):
    app = policy("best_effort")
    org, customer = _used_up_org()
    client = app.test_client()
    AuthActions(client).login(customer.email)
    assert "answered on a best-effort basis" in client.get("/tickets/new").get_data(as_text=True)
    ticket = gen_ticket(customer)
    assert ticket.best_effort and ticket.first_response_due is None and ticket.sla_next_due is not None
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "Best effort, no guaranteed response time." in page and "prepaid support hours ran out" in page
    assert "Filed on a best-effort basis" in page
    # Hours bought: the next ticket has its clock again.
    from portal.plans import hours

    hours.buy_hours(org, 5)
    assert not gen_ticket(customer).best_effort
    client = app.test_client()
    AuthActions(client).login(gen_user(Role.AGENT).email)
    assert "Best effort" in client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)


def test_hours_used_up_refuse_keeps_the_text_and_says_how(policy):
    app = policy("refuse")
    _org, customer = _used_up_org()
    client = app.test_client()
    AuthActions(client).login(customer.email)
    assert "new tickets cannot be filed" in client.get("/tickets/new").get_data(as_text=True)
    before = db.session.query(Ticket).count()
    response = client.post("/tickets/new", data={
        "csrf_token": csrf_token(client, "/tickets/new"), "draft_key": "k" * 24, "category": "question",
        "subject": "Where is the invoice list?", "description": "I cannot find last month's invoices anywhere.",
        "impact": "medium", "urgency": "medium"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "this ticket was not filed" in page
    assert "Where is the invoice list?" in page and "buy more hours" in page
    assert db.session.query(Ticket).count() == before
    from tests.api.conftest import ApiClient, token_for

    problem = ApiClient(app.test_client(), token_for(customer)).post("/api/v1/tickets", json={
        "category": "question", "subject": "Where is the invoice list?",
        "description": "I cannot find last month's invoices anywhere.", "impact": "medium", "urgency": "medium"})
    assert problem.status_code == 409 and problem.get_json()["type"].endswith("#hours-used-up")
    assert problem.get_json()["left_minutes"] == 0
