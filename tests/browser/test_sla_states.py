"""The ticket states around the clocks as the customer and the agent see them in Chromium:
the update promise, best effort, the closing date of a solved ticket, prepaid hours used up,
and the answer-first rule. Data is built at the test's instant (``now``), so every due time
and date below is exact; the plans use calendar hours, so the arithmetic is plain."""

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.tickets import billing, services
from portal.tickets.models import Status, Ticket, TicketEvent
from tests.factories import PASSWORD, answer, gen_org, gen_ticket, gen_user

pytestmark = pytest.mark.browser

PLANS = '''
[plans.care]
name = "Care"
response = { P1 = "1h calendar", P2 = "4h calendar", P3 = "8h calendar", P4 = "24h calendar" }
updates = { P1 = "4h calendar" }
[plans.care.calendar]
timezone = "organization"
hours = ["mon-fri 08:00-18:00"]

[plans.community]
name = "Community"
summary = "Email on a best-effort basis."
[plans.community.calendar]
timezone = "UTC"
hours = ["mon-fri 09:00-17:00"]

[plans.prepaid-refuse]
name = "Prepaid, refused when used up"
response = { any = "4h calendar" }
[plans.prepaid-refuse.calendar]
timezone = "organization"
hours = ["mon-fri 09:00-18:00"]
[plans.prepaid-refuse.support_hours]
hours = 1
when_used_up = "refuse"

[plans.prepaid-best-effort]
name = "Prepaid, best effort when used up"
response = { any = "4h calendar" }
[plans.prepaid-best-effort.calendar]
timezone = "organization"
hours = ["mon-fri 09:00-18:00"]
[plans.prepaid-best-effort.support_hours]
hours = 1
when_used_up = "best_effort"
'''
MADRID = "Europe/Madrid"
P1 = {"impact": "high", "urgency": "high"}
ANSWER_FIRST = ("Answer the customer first: a ticket nobody has answered cannot wait on the customer, be solved "
                "or be closed. Send a public reply (it can ask your question), then change the status.")


@pytest.fixture
def live_settings(tmp_path):
    path = tmp_path / "plans.toml"
    path.write_text(PLANS)
    return {"PLANS_FILE": str(path)}


def _short(when, zone=MADRID) -> str:
    """A naive UTC instant as the pages print it in ``zone`` ('short': 12/2/26, 2:00 PM)."""
    return format_datetime(when.replace(tzinfo=UTC), "short", tzinfo=ZoneInfo(zone), locale="en")


def _medium(when, zone=MADRID) -> str:
    return format_datetime(when.replace(tzinfo=UTC), "medium", tzinfo=ZoneInfo(zone), locale="en")


def _sign_in(page, live_server, email):
    page.context.clear_cookies()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")


def _customer(plan, name):
    org = gen_org(name=name, plan=plan, timezone=MADRID)
    return gen_user(Role.CUSTOMER, org=org, email=f"{plan}@customer.example.com", name=f"{name} Customer")


def _answered(customer, agent, filed, answered, subject, **fields):
    ticket = gen_ticket(customer, now=filed, subject=subject, **fields)
    answer(ticket, agent, now=answered)
    return ticket


def _new_ticket_form(page, subject, description):
    page.select_option("select[name=category]", "question")
    page.locator("#subject").fill(subject)
    page.locator("#description").fill(description)
    page.locator("input[name=impact][value=medium]").check()
    page.locator("input[name=urgency][value=medium]").check()
    page.get_by_role("button", name="File the ticket").click()


def _use_up_hours(customer, now):
    """File a ticket and log the period's one hour on it, as an agent does (the default day)."""
    ticket = gen_ticket(customer, now=now - timedelta(hours=2), subject="Set up the single sign-on")
    billing.log_time(ticket, gen_user(Role.AGENT, name="Billing Agent"), 60)
    assert billing.balance(customer.organization).left_minutes == 0
    return ticket


# Due times print in Madrid (its DST end), and roll over to the next local day and year.
@pytest.mark.instants("thursday-00:03-utc", "dst-end-sunday-madrid", "new-year-eve-23:59-utc")
def test_the_customer_sees_the_next_update_best_effort_and_the_closing_date(page, live_server, live_app, now,
                                                                             page_errors):
    with live_app.app_context():
        agent = gen_user(Role.AGENT, name="Sam Agent")
        customer = _customer("care", "Acme Care")
        promised = _answered(customer, agent, now - timedelta(hours=1), now - timedelta(minutes=30),
                             "The sync stopped overnight", **P1)
        solved = _answered(customer, agent, now - timedelta(hours=3), now - timedelta(hours=2),
                           "Invoices show the wrong VAT")
        services.change_status(solved, agent, "solved", now=now - timedelta(minutes=45))
        community = _customer("community", "Open Source Friends")
        best_effort = gen_ticket(community, now=now - timedelta(hours=1), subject="Dark mode please", **P1)
        refs = promised.reference, solved.reference, best_effort.reference
        emails = customer.email, community.email

    _sign_in(page, live_server, emails[0])
    page.goto(f"{live_server}/tickets/{refs[0]}")
    panel = page.locator(".sla-panel")
    # Answered 30 minutes ago: the next update is due 4 calendar hours after that reply.
    expect(page.locator("#sla-clock")).to_have_text(f"Next update: by {_short(now + timedelta(hours=3, minutes=30))}.")
    expect(page.locator("#sla-clock")).to_have_class("sla-clock sla-ok")
    expect(panel).to_contain_text("Target: 4 h around the clock.")
    expect(panel).to_contain_text(f"First response given {_short(now - timedelta(minutes=30))}.")

    page.goto(f"{live_server}/tickets/{refs[1]}")
    # Solved 45 minutes ago; unconfirmed, it closes after the default window of 10 days.
    expect(page.get_by_role("note")).to_have_text(
        "We solved this ticket and asked you to confirm. Without an answer, it closes on "
        f"{_medium(now - timedelta(minutes=45) + timedelta(days=10))}.")
    expect(page.get_by_role("button", name="Yes, close it")).to_be_visible()

    _sign_in(page, live_server, emails[1])
    page.goto(f"{live_server}/tickets/{refs[2]}")
    expect(page.locator("#sla-clock")).to_have_text("Best effort, no guaranteed response time. "
                                                    "This plan has no response targets: we answer as soon as we can.")
    expect(page.locator(".sla-panel")).not_to_contain_text("Target:")
    expect(page.locator(".sla-panel .sla-flag")).to_have_count(0)  # never "Overdue", however old
    assert page_errors == []


# The queue's order and flags follow from the due times; the week and the year's end must not matter.
@pytest.mark.instants("friday-17:59-madrid", "saturday-11:00-utc", "new-year-eve-23:59-utc")
def test_the_agent_queue_flags_update_promises_and_puts_best_effort_last(page, live_server, live_app, now,
                                                                         page_errors):
    with live_app.app_context():
        agent = gen_user(Role.AGENT, email="sam@vendor.example.com", name="Sam Agent")
        customer = _customer("care", "Acme Care")
        # The oldest ticket, P1, but on a plan with no targets: still after every clock.
        best_effort = gen_ticket(_customer("community", "Open Source Friends"), now=now - timedelta(hours=6),
                                 subject="Dark mode please", **P1)
        overdue = _answered(customer, agent, now - timedelta(hours=5), now - timedelta(hours=4, minutes=30),
                            "Exports time out", **P1)  # update due 30 min ago
        at_risk = _answered(customer, agent, now - timedelta(hours=4), now - timedelta(hours=3, minutes=30),
                            "Reports are empty", **P1)  # update due in 30 min: under a quarter of 4 h left
        promised = _answered(customer, agent, now - timedelta(hours=1), now - timedelta(minutes=30),
                             "The sync stopped overnight", **P1)  # update due in 3 h 30 min
        unanswered = gen_ticket(customer, now=now - timedelta(minutes=10), subject="Cannot invite a colleague",
                                **P1)  # first response due in 50 min
        refs = [t.reference for t in (overdue, at_risk, unanswered, promised, best_effort)]

    _sign_in(page, live_server, "sam@vendor.example.com")
    page.goto(f"{live_server}/agent/")
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows).to_have_count(5)
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.ref)") == refs

    def sla_cell(ref):
        return page.locator(f"#queue-rows tr[data-ref='{ref}'] td").nth(1)

    # The clock runs on (tick): each is read a few seconds after ``now``, within its minute.
    expect(sla_cell(refs[0])).to_have_text("Overdue 30 min next update")
    expect(page.locator(f"tr[data-ref='{refs[0]}']")).to_have_class("queue-row row-overdue")
    expect(sla_cell(refs[1])).to_have_text("At risk 29 min left next update")
    expect(sla_cell(refs[1]).locator(".sla-at-risk")).to_have_count(1)
    expect(page.locator(f"tr[data-ref='{refs[1]}']")).to_have_class("queue-row")
    expect(sla_cell(refs[2])).to_have_text("49 min left first response")
    expect(sla_cell(refs[3])).to_have_text("3 h 29 min left next update")
    expect(sla_cell(refs[4])).to_have_text("Best effort")
    assert page_errors == []


@pytest.mark.instants("thursday-00:03-utc", "saturday-11:00-utc")
def test_an_agent_must_answer_before_the_ticket_waits_or_is_solved(page, live_server, live_app, now, page_errors):
    with live_app.app_context():
        gen_user(Role.AGENT, email="sam@vendor.example.com", name="Sam Agent")
        ticket = gen_ticket(_customer("care", "Acme Care"), now=now - timedelta(minutes=10),
                            subject="Cannot invite a colleague", **P1)
        ref = ticket.reference

    _sign_in(page, live_server, "sam@vendor.example.com")
    page.goto(f"{live_server}/tickets/{ref}")
    status_form = page.locator("form:has(input[name=field][value=status])")
    for status in ("waiting_on_customer", "solved"):
        status_form.locator("select[name=value]").select_option(status)
        status_form.get_by_role("button", name="Save").click()
        expect(page.locator(".flash")).to_have_text(ANSWER_FIRST)
        expect(page.locator(".flash")).to_have_class("flash flash-error")
        expect(page.locator(".ticket-header .status-badge")).to_have_text("New")
        # The first response keeps running: 1 h from filing, due in 50 min (read within the minute).
        # Staff read times in UTC.
        expect(page.locator("#sla-clock")).to_have_text(
            f"First response: due {_short(now + timedelta(minutes=50), 'UTC')}, 49 min left.")
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket.status is Status.NEW and ticket.first_response_at is None
        assert db.session.scalar(select(func.count()).select_from(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "status")) == 0
    assert page_errors == []


# The contract period is the organization's: on its first local day of a year, in Madrid, the
# UTC date still says December.
@pytest.mark.instants("thursday-00:03-utc", "new-year-eve-23:59-utc")
def test_used_up_hours_refuse_a_ticket_and_keep_the_text(page, live_server, live_app, now, page_errors):
    with live_app.app_context():
        customer = _customer("prepaid-refuse", "Acme Prepaid")
        first = _use_up_hours(customer, now)
        gen_user(Role.AGENT, email="sam@vendor.example.com", name="Sam Agent")
        email, org_id, first_ref = customer.email, customer.organization_id, first.reference

    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/tickets/new")
    expect(page.locator("#hours-used-up")).to_have_text(
        "Your organization's prepaid support hours for this period are used up, so new tickets cannot be filed. "
        "Ask your account manager to buy more hours, then file again.")
    _new_ticket_form(page, "Where is the invoice list?", "I cannot find last month's invoices anywhere.")
    expect(page.get_by_role("alert").filter(has_text="this ticket was not filed")).to_have_text(
        "Your organization's prepaid support hours for this period are used up, so this ticket was not filed. "
        "Your text is kept below: ask your account manager to buy more hours, then file it again.")
    expect(page.locator("#subject")).to_have_value("Where is the invoice list?")
    expect(page.locator("#description")).to_have_value("I cannot find last month's invoices anywhere.")
    expect(page.locator("input[name=impact][value=medium]")).to_be_checked()
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.organization_id == org_id)) == 1

    _sign_in(page, live_server, "sam@vendor.example.com")  # the agent reads why no new ticket comes in
    page.goto(f"{live_server}/tickets/{first_ref}")
    expect(page.locator(".hours-balance")).to_have_text(
        "Hours used up Acme Prepaid: 0 min left of 1 h this period. "
        "The plan refuses new tickets until more hours are bought.")
    assert [e for e in page_errors if "422" not in e] == []  # the refused form answered 422, on purpose


@pytest.mark.instants("thursday-00:03-utc", "new-year-eve-23:59-utc")
def test_used_up_hours_file_on_a_best_effort_basis_for_customer_and_agent(page, live_server, live_app, now,
                                                                          page_errors):
    with live_app.app_context():
        customer = _customer("prepaid-best-effort", "Acme Prepaid")
        first = _use_up_hours(customer, now)
        gen_user(Role.AGENT, email="sam@vendor.example.com", name="Sam Agent")
        email, first_ref = customer.email, first.reference

    _sign_in(page, live_server, email)
    page.goto(f"{live_server}/tickets/new")
    expect(page.locator("#hours-used-up")).to_have_text(
        "Your organization's prepaid support hours for this period are used up: new tickets are answered on a "
        "best-effort basis, with no guaranteed response time, until more hours are bought.")
    _new_ticket_form(page, "Where is the invoice list?", "I cannot find last month's invoices anywhere.")
    expect(page.locator("h1")).to_have_text("Thank you, we have your ticket")
    ref = page.locator(".reference").inner_text()
    page.get_by_role("link", name="See the ticket").click()
    best_effort = ("Best effort, no guaranteed response time. The prepaid support hours ran out when this ticket "
                   "was filed: we answer as soon as we can, with no clock, until more hours are bought.")
    expect(page.locator("#sla-clock")).to_have_text(best_effort)
    expect(page.get_by_text("Filed on a best-effort basis, with no guaranteed response time: "
                            "the prepaid support hours were used up")).to_be_visible()

    _sign_in(page, live_server, "sam@vendor.example.com")
    page.goto(f"{live_server}/agent/")
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows).to_have_count(2)
    # Filed with hours left, the first keeps its clock (4 h from 2 h ago); the new one has none.
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.ref)") == [first_ref, ref]
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("1 h 59 min left first response")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("Best effort")
    rows.nth(1).get_by_role("link", name=ref).click()
    expect(page.locator("#sla-clock")).to_have_text(best_effort)
    expect(page.locator(".hours-balance")).to_have_text(
        "Hours used up Acme Prepaid: 0 min left of 1 h this period. The plan serves new tickets on a "
        "best-effort basis, with no clock, until more hours are bought.")
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == ref))
        assert ticket.best_effort and ticket.first_response_due is None
    assert page_errors == []
