"""The agent's page to file a ticket for a customer (/agent/tickets/new): the customer's form with the
requester and the channel, the plan's notice for the channel, each refusal, and what the customer sees."""

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.plans.models import QuotaUsage
from portal.tickets.models import Channel, Ticket
from tests.conftest import AuthActions, csrf_token
from tests.factories import gen_org, gen_ticket, gen_user, queued_mail

PAGE = "/agent/tickets/new"
HX = {"HX-Request": "true"}


@pytest.fixture
def agent(app):
    return gen_user(Role.AGENT, name="Sam Agent")


@pytest.fixture
def customer(app):
    # Standard: web, email and phone; the phone Monday to Friday 08:00-17:00 in the customer's zone.
    return gen_user(org=gen_org("Acme", plan="standard"), name="Ana Customer", email="ana@acme.example.com")


@pytest.fixture
def agent_client(app, agent):
    client = app.test_client()
    AuthActions(client).login(agent.email)
    return client


def tickets_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def form(client, requester, **fields):
    return {"csrf_token": csrf_token(client, PAGE), "draft_key": "agent-draft-1", "requester": str(requester.id),
            "channel": "phone", "category": "question", "subject": "Cannot print the invoices",
            "description": "Called in: the print button does nothing since this morning.",
            "impact": "medium", "urgency": "high", **fields}


def test_the_page_offers_the_active_customers_and_the_phone_first(agent_client, customer):
    other = gen_user(org=gen_org("Beta"), name="Bo Beta")
    gone = gen_user(org=other.organization, name="Gone Customer")
    gone.active = False
    writer = gen_user(Role.WRITER, name="Wren Writer")
    db.session.commit()
    page = agent_client.get(PAGE).get_data(as_text=True)
    assert '<optgroup label="Acme">' in page and '<optgroup label="Beta">' in page
    assert f'<option value="{customer.id}" >Ana Customer &lt;ana@acme.example.com&gt;</option>' in page
    assert "Bo Beta" in page and "Gone Customer" not in page and writer.name not in page
    assert re.search(r'<option selected value="phone">', page)
    for channel in ("chat", "visit", "email", "web"):
        assert f'value="{channel}"' in page
    # The customer's form fields, and its CSRF token.
    assert 'name="subject"' in page and 'name="impact"' in page and 'name="files"' in page
    assert 'name="csrf_token"' in page
    assert 'href="/agent/tickets/new"' in agent_client.get("/agent/").get_data(as_text=True)  # "File for a customer"


def test_choosing_the_customer_preselects_them_and_shows_their_plan(agent_client, customer):
    page = agent_client.get(f"{PAGE}?requester={customer.id}").get_data(as_text=True)
    assert f'<option value="{customer.id}" selected>' in page
    assert "Acme's plan (Standard) takes tickets by phone: Mon–Fri 08:00–17:00 (Europe/Madrid)." in page


def test_the_notice_follows_the_customer_and_the_channel(agent_client, customer):
    def notice(**args):
        response = agent_client.get(f"{PAGE}/notice", query_string=args, headers=HX)
        assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
        return html.unescape(response.get_data(as_text=True))

    chat = notice(requester=customer.id, channel="chat")
    assert "Acme's plan (Standard) takes new tickets through web, email, phone, not chat." in chat
    # The plan's priority fields and product areas come along, with what was chosen kept.
    assert 'id="ticket-priority" hx-swap-oob="true"' in notice(requester=customer.id, channel="phone", impact="high")
    assert re.search(r'<input checked[^>]*name="impact"[^>]*value="high"',
                     notice(requester=customer.id, channel="phone", impact="high"))
    assert "Choose the customer" in notice(requester="", channel="phone")
    staff = gen_user(Role.AGENT)
    assert "Choose an active customer of an organization as the requester." in notice(requester=staff.id,
                                                                                     channel="phone")
    # Without htmx: the page, with that customer chosen.
    response = agent_client.get(f"{PAGE}/notice", query_string={"requester": customer.id, "channel": "chat"})
    assert response.status_code == 302 and response.location.endswith(f"{PAGE}?requester={customer.id}&channel=chat")


@pytest.mark.instants("wednesday-10:00-utc")
def test_outside_the_channels_hours_the_form_warns_and_still_files(agent_client, app):
    # 10:00 UTC is 19:00 in Tokyo: the Standard plan's phone (08:00-17:00 there) is closed.
    tokyo = gen_user(org=gen_org("Kaisha", timezone="Asia/Tokyo"), name="Ken Kaisha")
    page = agent_client.get(f"{PAGE}/notice", query_string={"requester": tokyo.id, "channel": "phone"},
                            headers=HX).get_data(as_text=True)
    assert ("Kaisha's plan (Standard) takes tickets by phone Mon–Fri 08:00–17:00 (Asia/Tokyo), and it is outside "
            "those hours now: they open again on Thursday, December 3, 2026 at 08:00.") in page
    response = agent_client.post(PAGE, data=form(agent_client, tokyo))
    assert response.status_code == 302 and tickets_count() == 1


def test_filing_for_the_customer_by_phone(app, agent_client, agent, customer, now):
    before = len(queued_mail())
    response = agent_client.post(PAGE, data=form(agent_client, customer))
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert response.location.endswith(f"/tickets/{ticket.reference}")
    assert (ticket.requester_id, ticket.filed_by_id, ticket.channel) == (customer.id, agent.id, Channel.PHONE)
    assert ticket.priority.value == "P2" and ticket.organization_id == customer.organization_id
    assert ticket.first_response_due is not None and ticket.created_at >= now
    page = agent_client.get(response.location).get_data(as_text=True)
    assert f"Ticket {ticket.reference} filed for Ana Customer (Acme)" in page
    assert "Sam Agent filed the ticket (P2) by phone on behalf of Ana Customer." in page
    mail = queued_mail()[before:]
    assert len(mail) == 1 and ticket.reference in mail[0] and "ana@acme.example.com" in mail[0]
    # The customer sees it in their list, "by phone".
    client = app.test_client()
    AuthActions(client).login(customer.email)
    listing = client.get("/tickets/").get_data(as_text=True)
    row = re.search(rf"<tr>\s*<td><a href=\"/tickets/{ticket.reference}\">.*?</tr>", listing, re.S).group(0)
    assert "Cannot print the invoices" in row and '<span class="channel-flag">by phone</span>' in row
    # Sent twice (a double click): one ticket.
    agent_client.post(PAGE, data=form(agent_client, customer))
    assert tickets_count() == 1


def test_a_web_ticket_in_the_customers_list_has_no_channel_label(app, customer):
    gen_ticket(customer, subject="Filed on the portal")
    client = app.test_client()
    AuthActions(client).login(customer.email)
    assert "channel-flag" not in client.get("/tickets/").get_data(as_text=True)


def test_a_channel_the_plan_does_not_include_is_refused_beside_the_channel(agent_client, customer):
    before = len(queued_mail())
    response = agent_client.post(PAGE, data=form(agent_client, customer, channel="visit",
                                                 description="Seen on site: the printer queue is stuck."))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and tickets_count() == 0 and len(queued_mail()) == before
    error = re.search(r'<p class="field-error" id="channel-error">(.*?)</p>', page).group(1)
    assert error == "Acme&#39;s plan (Standard) takes new tickets through web, email, phone, not visit."
    assert "Seen on site: the printer queue is stuck." in page and 'value="Cannot print the invoices"' in page
    assert re.search(r'<option selected value="visit">', page)


@pytest.mark.parametrize("who", ["staff", "no_organization", "inactive", "nobody"])
def test_the_requester_must_be_an_active_customer_of_an_organization(agent_client, customer, who):
    if who == "inactive":
        customer.active = False
        db.session.commit()
    requester = {"staff": lambda: gen_user(Role.AGENT), "no_organization": lambda: gen_user(Role.WRITER),
                 "inactive": lambda: customer, "nobody": lambda: customer}[who]()
    data = form(agent_client, requester)
    if who == "nobody":
        data["requester"] = "99999"
    response = agent_client.post(PAGE, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and tickets_count() == 0
    assert re.search(r'id="requester-error">Choose an active customer of an organization as the requester.</p>', page)
    assert "Called in: the print button does nothing since this morning." in page


def test_invalid_fields_keep_the_text(agent_client, customer):
    response = agent_client.post(PAGE, data=form(agent_client, customer, subject="Hi", category="technical_issue",
                                                 description="It broke while she was on the phone with us."))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and tickets_count() == 0
    assert "The subject needs at least 5 characters." in page
    assert "Steps to reproduce needs at least 10 characters." in page  # the plan's rules for technical issues
    assert "It broke while she was on the phone with us." in page and 'value="Hi"' in page
    assert f'<option value="{customer.id}" selected>' in page


def test_a_plan_not_in_force_is_told_about_the_organization(agent_client, now):
    later = gen_user(org=gen_org("Later", started_on=date(2027, 1, 1)), name="Lu Later")
    message = "Later has no support plan in force today, so no ticket can be filed for its customers."
    notice = agent_client.get(f"{PAGE}/notice", query_string={"requester": later.id, "channel": "phone"},
                              headers=HX).get_data(as_text=True)
    assert message in notice
    response = agent_client.post(PAGE, data=form(agent_client, later))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and tickets_count() == 0
    assert f"{message} The ticket was not filed; the text is kept below." in page
    assert "Called in: the print button does nothing since this morning." in page
    assert db.session.scalar(select(func.count()).select_from(QuotaUsage)) == 0


def test_without_javascript_the_check_button_shows_the_plan_and_files_nothing(agent_client, customer):
    response = agent_client.post(PAGE, data=form(agent_client, customer, check="1"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and tickets_count() == 0
    assert "Acme's plan (Standard) takes tickets by phone" in page and "Cannot print the invoices" in page


def test_a_customer_cannot_open_the_page(app, customer):
    client = app.test_client()
    AuthActions(client).login(customer.email)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/notice?requester={customer.id}", headers=HX).status_code == 403
    token = csrf_token(client, "/tickets/new")
    assert client.post(PAGE, data={"csrf_token": token, "requester": customer.id, "subject": "Mine"}).status_code == 403
    assert tickets_count() == 0
    assert app.test_client().get(PAGE).status_code == 302  # signed out: to the sign-in page


def test_without_a_valid_csrf_token_nothing_is_filed_and_the_text_is_kept(agent_client, customer):
    data = form(agent_client, customer)
    data["csrf_token"] = "forged"
    response = agent_client.post(PAGE, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and tickets_count() == 0
    assert "The form expired. Your text is still here: send it again." in page
    assert "Called in: the print button does nothing since this morning." in page


def test_the_organization_page_lists_the_channels_with_their_hours(app, customer, agent):
    premium = gen_org("Prima", plan="premium")
    for user, path, org in ((customer, "/org", customer.organization), (agent, f"/org/{premium.id}", premium)):
        client = app.test_client()
        AuthActions(client).login(user.email)
        page = client.get(path).get_data(as_text=True)
        channels = re.search(r'<ul class="channel-hours">(.*?)</ul>', page, re.S).group(1)
        items = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", channels)]
        if org is premium:  # around the clock
            assert items == ["Web portal: always open", "Email: always open", "Phone: always open",
                             "Account manager: always open", "On-site visits: 2 visit days a week"]
        else:
            assert items == ["Web portal: always open",
                             "Email: in support hours: Mon–Fri 08:00–17:00 (Europe/Madrid)",
                             "Phone: Mon–Fri 08:00–17:00 (Europe/Madrid)"]


def test_the_channels_chart_counts_phone_chat_and_visits(app, agent, customer, now):
    import csv
    import io

    premium = gen_user(org=gen_org("Prima", plan="premium"))
    agent_client = app.test_client()
    AuthActions(agent_client).login(agent.email)
    agent_client.post(PAGE, data=form(agent_client, customer))
    agent_client.post(PAGE, data=form(agent_client, premium, draft_key="agent-draft-2"))
    page = agent_client.get("/agent/analytics?days=30").get_data(as_text=True)
    section = re.search(r'aria-labelledby="channels-title".*?</section>', page, re.S).group(0)
    monday = (now.date() - timedelta(days=now.weekday())).isoformat()
    assert "<th scope=\"col\">Phone</th><th scope=\"col\">Chat</th><th scope=\"col\">Visit</th>" in section
    assert f"<tr><td>{monday}</td><td>0</td><td>0</td><td>0</td><td>2</td><td>0</td><td>0</td></tr>" in section
    assert f"<title>Phone, {monday}: 2</title>" in section
    rows = list(csv.reader(io.StringIO(agent_client.get("/agent/analytics/channels.csv?days=30").get_data(as_text=True))))
    assert rows[-1] == [monday, "0", "0", "0", "2", "0", "0"]
