"""The agents' queue: order by time left, filters, search, keyset pages, claim, bulk actions, roles."""

import re
from datetime import datetime, timedelta

import pytest

from portal.agent import services
from portal.auth.models import Role
from portal.extensions import db
from portal.tickets import services as tickets
from portal.tickets.models import Status, Ticket
from tests.conftest import csrf_token
from tests.factories import answer, gen_org, gen_ticket, gen_user

MONDAY_9 = datetime(2026, 11, 30, 9, 0)  # 10:00 in Madrid


def _refs(rows):
    return [t.reference for t in rows]


def _ticket(customer, now, hours_ago=0.0, **fields):
    return gen_ticket(customer, now=now - timedelta(hours=hours_ago), **fields)


@pytest.mark.instants
def test_most_urgent_first_then_no_clock(app, now):
    org = gen_org(plan="premium", timezone="UTC")  # 24x7: P1 15 min, P2 1 h, P3 4 h, P4 8 h
    customer = gen_user(Role.CUSTOMER, org=org)
    agent = gen_user(Role.AGENT)
    p4 = _ticket(customer, now, impact="low", urgency="low")
    overdue = _ticket(customer, now, hours_ago=2, impact="high", urgency="high")
    p2 = _ticket(customer, now, impact="high", urgency="medium")
    answered = _ticket(customer, now, impact="high", urgency="high")
    tickets.reply(answered, agent, "On it.")
    rows, cursor = services.queue(agent, services.Filters())
    assert _refs(rows) == [overdue.reference, p2.reference, p4.reference, answered.reference]
    assert cursor is None
    waiting = _ticket(customer, now, impact="high", urgency="high")
    answer(waiting, agent)
    tickets.change_status(waiting, agent, "waiting_on_customer")
    assert _refs(services.queue(agent, services.Filters())[0])[-1] == waiting.reference  # paused: no running clock
    answer(overdue, agent)
    tickets.change_status(overdue, agent, "closed")
    assert overdue.reference not in _refs(services.queue(agent, services.Filters())[0])


@pytest.mark.instants
def test_filters_and_search(app, now):
    acme, other = gen_org(plan="premium", timezone="UTC"), gen_org(plan="standard")
    ana, bob = gen_user(Role.CUSTOMER, org=acme), gen_user(Role.CUSTOMER, org=other)
    agent, colleague = gen_user(Role.AGENT), gen_user(Role.AGENT)
    export = _ticket(ana, now, subject="Export to PDF fails", description="The monthly report export stops.",
                     impact="high", urgency="high", hours_ago=1)
    login = _ticket(bob, now, subject="Cannot sign in", description="Password reset mail never arrives.",
                    category="technical_issue", steps_to_reproduce="1. Open the sign-in page", affected_account="bob")
    mine = _ticket(ana, now, subject="Dashboard colours", category="feature_request", impact="low", urgency="low")
    tickets.assign(mine, agent, agent)
    tickets.assign(login, colleague, colleague)

    def refs(**kw):
        return sorted(_refs(services.queue(agent, services.Filters(**kw))[0]))

    assert refs(assignee="mine") == [mine.reference]
    assert refs(assignee="none") == [export.reference]
    assert refs(assignee=str(colleague.id)) == [login.reference]
    assert refs(organization=str(other.id)) == [login.reference]
    assert refs(priority="P1") == [export.reference]
    assert refs(category="feature_request") == [mine.reference]
    assert refs(risk="breached") == [export.reference]
    assert refs(q="monthly PDF") == [export.reference]  # every word, in the subject or the description
    assert refs(q="password mail") == [login.reference]
    assert refs(q=login.reference) == [login.reference]
    assert refs(q="100%_sure") == []
    assert refs(status="all") == sorted([export.reference, login.reference, mine.reference])


@pytest.mark.instants
def test_keyset_pages_cover_the_queue_once(app, now):
    org = gen_org(plan="premium", timezone="UTC")
    customer = gen_user(Role.CUSTOMER, org=org)
    agent = gen_user(Role.AGENT)
    filed = [_ticket(customer, now, hours_ago=i / 10, impact=("high", "medium", "low")[i % 3], urgency="medium").reference
             for i in range(23)]
    seen, cursor, pages = [], None, 0
    while True:
        rows, cursor = services.queue(agent, services.Filters(), services.parse_cursor(cursor), limit=10)
        seen += _refs(rows)
        pages += 1
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 23 and sorted(seen) == sorted(filed)
    dues = [db.session.scalar(db.select(Ticket.sla_next_due).where(Ticket.reference == r)) for r in seen]
    assert dues == sorted(dues)


@pytest.mark.instants
def test_queue_page_claim_and_bulk_actions(app, client, auth, now):
    org = gen_org(plan="premium", timezone="UTC")
    customer = gen_user(Role.CUSTOMER, org=org)
    agent, colleague = gen_user(Role.AGENT, name="Alex Agent"), gen_user(Role.AGENT, name="Cora Colleague")
    first, second, third = (_ticket(customer, now, subject=f"Problem {n}") for n in (1, 2, 3))
    auth.login(agent.email)
    page = client.get("/agent/").get_data(as_text=True)
    assert all(t.reference in page for t in (first, second, third)) and "Claim" in page
    token = csrf_token(client, "/agent/")
    assert client.post(f"/agent/claim/{first.reference}", data={"csrf_token": token}).status_code == 302
    db.session.refresh(first)
    assert first.assignee_id == agent.id and first.status is Status.OPEN
    tickets.assign(second, colleague, colleague)
    client.post(f"/agent/claim/{second.reference}", data={"csrf_token": token})
    assert "already assigned to Cora Colleague" in client.get("/agent/").get_data(as_text=True)
    response = client.post("/agent/bulk", data={"csrf_token": token, "action": "assign", "value": str(colleague.id),
                                                 "ticket": [first.reference, third.reference]})
    assert response.status_code == 302
    for t in (first, third):
        db.session.refresh(t)
        assert t.assignee_id == colleague.id
    client.post("/agent/bulk", data={"csrf_token": token, "action": "close", "ticket": [third.reference, "2020-99999"]})
    db.session.refresh(third)
    assert third.status is not Status.CLOSED  # nobody answered it yet: the first response is owed
    assert "Answer the customer first" in client.get("/agent/").get_data(as_text=True)
    answer(third, agent)
    client.post("/agent/bulk", data={"csrf_token": token, "action": "close", "ticket": [third.reference, "2020-99999"]})
    db.session.refresh(third)
    assert third.status is Status.CLOSED
    page = client.get("/agent/").get_data(as_text=True)
    assert "2020-99999" in page and third.reference not in re.findall(r'data-ref="([^"]+)"', page)
    client.post("/agent/bulk", data={"csrf_token": token, "action": "explode", "ticket": [first.reference]})
    assert "Choose an action" in client.get("/agent/").get_data(as_text=True)
    client.post("/agent/bulk", data={"csrf_token": token, "action": "close"})
    assert "Select at least one ticket" in client.get("/agent/").get_data(as_text=True)


@pytest.mark.instants
def test_live_refresh_keeps_the_loaded_rows_and_the_selection(app, client, auth, now):
    org = gen_org(plan="premium", timezone="UTC")
    customer = gen_user(Role.CUSTOMER, org=org)
    filed = [_ticket(customer, now, subject=f"Case {n}", hours_ago=n / 10) for n in range(5)]
    auth.login(gen_user(Role.AGENT).email)
    fragment = client.get("/agent/?status=active", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="queue-refresh"' in fragment
    shown = re.findall(r'data-ref="([^"]+)"', fragment)
    upto = db.session.scalar(db.select(Ticket).where(Ticket.reference == shown[2]))
    from portal.agent.services import cursor

    refreshed = client.get("/agent/", query_string={"upto": cursor(upto), "ticket": shown[1]},
                           headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.findall(r'data-ref="([^"]+)"', refreshed) == shown[:3]
    assert re.search(rf'value="{shown[1]}"\s+aria-label="[^"]*"\s+checked', refreshed)
    assert len(filed) == 5


def test_only_agents_and_admins(app, client, auth):
    assert client.get("/agent/").status_code == 302  # to the sign-in page
    for role in (Role.CUSTOMER, Role.CUSTOMER_ADMIN, Role.WRITER):
        auth.login(gen_user(role).email)
        assert client.get("/agent/").status_code == 403
        assert client.post("/agent/bulk", data={"csrf_token": csrf_token(client), "action": "close"}).status_code == 403
        auth.logout()
    auth.login(gen_user(Role.ADMIN).email)
    assert client.get("/agent/").status_code == 200


def test_the_queue_marks_an_open_priority_request(app, client, auth, now):
    from portal.tickets import priorities

    customer = gen_user(Role.CUSTOMER, org=gen_org(plan="premium", timezone="UTC"))
    agent = gen_user(Role.AGENT)
    asked = _ticket(customer, now, impact="low", urgency="low")
    other = _ticket(customer, now, impact="low", urgency="low")
    request = priorities.request_change(asked, customer, "P2", "Payroll runs tonight.")
    auth.login(agent.email)
    page = client.get("/agent/").get_data(as_text=True)
    row = re.search(rf'data-ref="{asked.reference}".*?</tr>', page, re.S).group(0)
    assert "P2 asked" in row
    assert "asked" not in re.search(rf'data-ref="{other.reference}".*?</tr>', page, re.S).group(0)
    priorities.decide(asked, agent, request.id, accept=False)
    assert "P2 asked" not in client.get("/agent/").get_data(as_text=True)


def test_the_queue_marks_tickets_that_came_by_email_or_the_api(app, client, auth, now):
    customer = gen_user(Role.CUSTOMER, org=gen_org(plan="premium", timezone="UTC"))
    web = _ticket(customer, now, subject="Filed on the form")
    mailed = _ticket(customer, now, subject="Sent by mail", channel="email")
    scripted = _ticket(customer, now, subject="From the monitoring", channel="api")
    auth.login(gen_user(Role.AGENT).email)
    for page in (client.get("/agent/").get_data(as_text=True),
                 client.get("/agent/?status=active", headers={"HX-Request": "true"}).get_data(as_text=True)):
        def row(ticket):
            return re.search(rf'data-ref="{ticket.reference}".*?</tr>', page, re.S).group(0)

        # Words, not an icon: screen readers and the colour-blind read the same marker.
        assert '<span class="channel-flag">by email</span>' in row(mailed)
        assert '<span class="channel-flag">through the API</span>' in row(scripted)
        assert "channel-flag" not in row(web)
