"""Tickets through the API: filing, who sees what, the conversation, files, the lifecycle."""

import io

from PIL import Image
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.tickets import services as tickets
from portal.tickets.models import Attachment, Status, Ticket
from tests.api.conftest import assert_problem
from tests.factories import answer, gen_org, gen_ticket, gen_user

GOOD = {"subject": "Nightly export fails", "description": "Since Monday the nightly export stops after 30 minutes.",
        "category": "question", "impact": "medium", "urgency": "high"}


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_filing_a_ticket_answers_201_with_the_ticket(app, api):
    customer = gen_user(Role.CUSTOMER)
    response = api(customer).post("/api/v1/tickets", json=GOOD)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    ticket = db.session.scalar(select(Ticket).where(Ticket.reference == body["reference"]))
    assert ticket.requester_id == customer.id and ticket.organization_id == customer.organization_id
    assert body["priority"] == body["priority_computed"] == "P2" and body["status"] == "new"
    assert body["url"].endswith(f"/tickets/{ticket.reference}")
    assert response.headers["Location"] == f"/api/v1/tickets/{ticket.reference}"
    assert body["first_response_due"] == ticket.first_response_due.isoformat() + "Z"
    assert body["created_at"] == ticket.created_at.isoformat() + "Z"


def test_priority_override_and_technical_issue_fields(app, api):
    customer = gen_user(Role.CUSTOMER)
    response = api(customer).post("/api/v1/tickets", json={
        **GOOD, "category": "technical_issue", "priority": "P1", "steps_to_reproduce": "1. Run the export. 2. Wait.",
        "affected_user": "ops@example.com"})
    body = response.get_json()
    assert response.status_code == 201, body
    assert (body["priority"], body["priority_computed"]) == ("P1", "P2")
    assert body["affected_user"] == "ops@example.com" and any(e["kind"] == "override" for e in body["history"])


def test_invalid_ticket_is_a_422_problem_naming_each_field(app, api):
    client = api(gen_user(Role.CUSTOMER))
    body = assert_problem(client.post("/api/v1/tickets", json={**GOOD, "category": "technical_issue",
                                                              "subject": "Hi"}), 422, "validation-error")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"subject", "steps_to_reproduce", "affected_user"}
    body = assert_problem(client.post("/api/v1/tickets", json={"subject": "No category at all"}), 422)
    assert {"description", "category"} <= {e["field"] for e in body["errors"]}
    # Impact and urgency are the matrix plans' (the default's): asked by the rules, not the schema.
    body = assert_problem(client.post("/api/v1/tickets", json={k: v for k, v in GOOD.items() if k != "impact"}), 422)
    assert [e["field"] for e in body["errors"]] == ["impact"]
    body = assert_problem(client.post("/api/v1/tickets", json={**GOOD, "urgency": "now"}), 422)
    assert [e["field"] for e in body["errors"]] == ["urgency"]
    assert_problem(client.post("/api/v1/tickets", data="{not json", content_type="application/json"), 400,
                   "malformed-request")
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_only_customers_file_and_writers_see_no_tickets(app, api):
    for role in (Role.AGENT, Role.ADMIN, Role.WRITER):
        assert_problem(api(gen_user(role)).post("/api/v1/tickets", json=GOOD), 403, "forbidden")
    writer = api(gen_user(Role.WRITER))
    assert_problem(writer.get("/api/v1/tickets"), 403)
    ticket = gen_ticket()
    assert_problem(writer.get(f"/api/v1/tickets/{ticket.reference}"), 403)


def test_each_role_lists_what_the_pages_show_it(app, api):
    org = gen_org()
    alice, bob = gen_user(Role.CUSTOMER, org=org), gen_user(Role.CUSTOMER, org=org)
    boss = gen_user(Role.CUSTOMER_ADMIN, org=org)
    outsider = gen_user(Role.CUSTOMER)
    mine, colleagues, foreign = gen_ticket(alice), gen_ticket(bob), gen_ticket(outsider)

    def listed(user):
        response = api(user).get("/api/v1/tickets")
        assert response.status_code == 200, response.get_json()
        return {t["reference"] for t in response.get_json()["items"]}

    assert listed(alice) == {mine.reference}
    assert listed(boss) == {mine.reference, colleagues.reference}
    assert listed(gen_user(Role.AGENT)) == {mine.reference, colleagues.reference, foreign.reference}
    assert listed(outsider) == {foreign.reference}


def test_another_organizations_ticket_is_not_found(app, api):
    org_a_admin = gen_user(Role.CUSTOMER_ADMIN)
    foreign = gen_ticket(gen_user(Role.CUSTOMER))
    client = api(org_a_admin)
    for call in (lambda: client.get(f"/api/v1/tickets/{foreign.reference}"),
                 lambda: client.post(f"/api/v1/tickets/{foreign.reference}/replies", json={"body": "Hello?"}),
                 lambda: client.post(f"/api/v1/tickets/{foreign.reference}/confirm"),
                 lambda: client.post(f"/api/v1/tickets/{foreign.reference}/reopen", json={}),
                 lambda: client.post(f"/api/v1/tickets/{foreign.reference}/attachments",
                                     data={"files": (io.BytesIO(png_bytes()), "a.png")})):
        body = assert_problem(call(), 404, "not-found")
        assert "subject" not in body
    assert_problem(client.get("/api/v1/tickets/2026-99999"), 404)
    db.session.refresh(foreign)
    assert not foreign.messages and not foreign.attachments


def test_filters_and_cursor_pagination(app, api):
    customer = gen_user(Role.CUSTOMER)
    filed = [gen_ticket(customer, subject=f"Ticket number {i}") for i in range(5)]
    tickets.change_status(filed[1], answer(filed[1]), "waiting_on_customer")
    client = api(customer)
    seen, url = [], "/api/v1/tickets?limit=2"
    while url:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 2
        seen += [t["reference"] for t in page["items"]]
        url = page["next"] and page["next"].replace("http://localhost", "")
    assert seen == [t.reference for t in reversed(filed)]
    waiting = client.get("/api/v1/tickets?status=waiting_on_customer").get_json()["items"]
    assert [t["reference"] for t in waiting] == [filed[1].reference] and waiting[0]["auto_close_at"]
    both = client.get("/api/v1/tickets?status=waiting_on_customer&status=new").get_json()["items"]
    assert len(both) == 5
    assert client.get("/api/v1/tickets?priority=P1").get_json()["items"] == []
    assert_problem(client.get("/api/v1/tickets?cursor=bogus"), 422, "validation-error")
    assert_problem(client.get("/api/v1/tickets?status=lost"), 422)
    assert_problem(client.get("/api/v1/tickets?limit=1000"), 422)


def test_reply_and_the_customer_does_not_see_internal_notes(app, api):
    customer = gen_user(Role.CUSTOMER)
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(customer)
    agent_api, customer_api = api(agent), api(customer)
    note = agent_api.post(f"/api/v1/tickets/{ticket.reference}/replies", json={"body": "Looks like a bug.",
                                                                               "internal": True})
    assert note.status_code == 201 and note.get_json()["internal"] is True
    answer = agent_api.post(f"/api/v1/tickets/{ticket.reference}/replies", json={"body": "Which browser?"})
    assert answer.status_code == 201
    detail = customer_api.get(f"/api/v1/tickets/{ticket.reference}").get_json()
    assert [m["body"] for m in detail["messages"]] == ["Which browser?"] and detail["status"] == "open"
    assert detail["first_response_at"] is not None
    assert len(agent_api.get(f"/api/v1/tickets/{ticket.reference}").get_json()["messages"]) == 2
    mine = customer_api.post(f"/api/v1/tickets/{ticket.reference}/replies", json={"body": "Firefox 140."})
    assert mine.status_code == 201 and mine.get_json()["author"] == customer.name
    body = assert_problem(customer_api.post(f"/api/v1/tickets/{ticket.reference}/replies",
                                            json={"body": "secret", "internal": True}), 422)
    assert body["errors"][0]["field"] == "internal"
    assert_problem(customer_api.post(f"/api/v1/tickets/{ticket.reference}/replies", json={"body": "   "}), 422)


def test_attachments_are_checked_as_on_the_page(app, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    response = client.post(f"/api/v1/tickets/{ticket.reference}/attachments",
                           data={"files": [(io.BytesIO(png_bytes()), "screen.png"),
                                           (io.BytesIO(b"line one\nline two\n"), "app.log")]})
    assert response.status_code == 201, response.get_json()
    saved = response.get_json()["attachments"]
    assert [(a["filename"], a["content_type"]) for a in saved] == [("screen.png", "image/png"),
                                                                    ("app.log", "text/plain")]
    body = assert_problem(client.post(f"/api/v1/tickets/{ticket.reference}/attachments",
                                      data={"files": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 200), "tool.exe")}),
                          422, "validation-error")
    assert body["errors"][0]["field"] == "files" and "not accepted" in body["errors"][0]["message"]
    assert_problem(client.post(f"/api/v1/tickets/{ticket.reference}/attachments", data={}), 422)
    assert db.session.scalar(select(func.count(Attachment.id))) == 2
    detail = client.get(f"/api/v1/tickets/{ticket.reference}").get_json()
    assert [a["filename"] for a in detail["attachments"]] == ["screen.png", "app.log"]


def test_confirm_and_reopen(app, api):
    customer = gen_user(Role.CUSTOMER)
    agent = gen_user(Role.AGENT)
    first, second = gen_ticket(customer), gen_ticket(customer)
    client = api(customer)
    assert_problem(client.post(f"/api/v1/tickets/{first.reference}/confirm"), 409, "ticket-state")
    for ticket in (first, second):
        answer(ticket, agent)
        tickets.change_status(ticket, agent, "solved")
    assert_problem(api(agent).post(f"/api/v1/tickets/{first.reference}/confirm"), 403)
    confirmed = client.post(f"/api/v1/tickets/{first.reference}/confirm")
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "closed"
    reopened = client.post(f"/api/v1/tickets/{second.reference}/reopen", json={"reason": "Still broken."})
    assert reopened.status_code == 200
    body = reopened.get_json()
    assert body["status"] == "open" and body["messages"][-1]["body"] == "Still broken."
    assert_problem(client.post(f"/api/v1/tickets/{first.reference}/reopen", json={}), 409, "ticket-state")
    db.session.expire_all()
    assert db.session.get(Ticket, first.id).status is Status.CLOSED


def test_files_download_with_the_token_and_internal_ones_stay_internal(app, api):
    from portal.tickets.attachments import Upload

    customer, agent = gen_user(Role.CUSTOMER), gen_user(Role.AGENT)
    ticket = gen_ticket(customer)
    client = api(customer)
    shared = client.post(f"/api/v1/tickets/{ticket.reference}/attachments",
                         data={"files": (io.BytesIO(png_bytes()), "screen.png")}).get_json()["attachments"][0]
    tickets.reply(ticket, agent, "Our log.", internal=True, files=[Upload("agents.log", b"internal trace\n")])
    internal = db.session.scalar(select(Attachment).where(Attachment.filename == "agents.log"))
    response = client.get(shared["url"].replace("http://localhost", ""))
    assert response.status_code == 200 and response.data == png_bytes() and response.mimetype == "image/png"
    assert "attachment" in response.headers["Content-Disposition"]
    internal_url = f"/api/v1/tickets/{ticket.reference}/attachments/{internal.id}"
    assert_problem(client.get(internal_url), 404)
    assert api(agent).get(internal_url).data == b"internal trace\n"
    assert_problem(api(gen_user(Role.CUSTOMER)).get(shared["url"].replace("http://localhost", "")), 404)
    other = gen_ticket(customer)
    assert_problem(client.get(f"/api/v1/tickets/{other.reference}/attachments/{shared['id']}"), 404)


def test_each_ticket_and_message_says_its_channel(app, api):
    from tests.conftest import AuthActions, csrf_token

    customer = gen_user(Role.CUSTOMER)
    client = api(customer)
    filed = client.post("/api/v1/tickets", json=GOOD)
    assert filed.status_code == 201 and filed.get_json()["channel"] == "api"
    reference = filed.get_json()["reference"]
    assert client.post(f"/api/v1/tickets/{reference}/replies", json={"body": "The log is attached now."}
                       ).status_code == 201

    browser = app.test_client()  # the same customer on the new-ticket form
    AuthActions(browser).login(customer.email)
    response = browser.post("/tickets/new", data={
        "csrf_token": csrf_token(browser, "/tickets/new"), "draft_key": "w" * 24, "category": "question",
        "subject": "Where is the invoice list?", "description": "I cannot find last month's invoices anywhere.",
        "impact": "medium", "urgency": "medium"})
    assert response.status_code == 302
    on_the_web = db.session.scalar(select(Ticket).where(Ticket.subject == "Where is the invoice list?"))
    by_mail = gen_ticket(customer, subject="Sent by mail", channel="email")
    answer(on_the_web)  # an agent's reply on the ticket page

    listed = {t["reference"]: t["channel"] for t in client.get("/api/v1/tickets").get_json()["items"]}
    assert listed == {reference: "api", on_the_web.reference: "web", by_mail.reference: "email"}
    detail = client.get(f"/api/v1/tickets/{reference}").get_json()
    assert detail["channel"] == "api" and [m["channel"] for m in detail["messages"]] == ["api"]
    detail = client.get(f"/api/v1/tickets/{on_the_web.reference}").get_json()
    assert detail["channel"] == "web" and [m["channel"] for m in detail["messages"]] == ["web"]
