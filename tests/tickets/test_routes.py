import io
import re
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.tickets.models import Attachment, Status, Suggestion, Ticket
from tests.conftest import csrf_token
from tests.factories import answer, gen_ticket, gen_user


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _new_form(client):
    page = client.get("/tickets/new").get_data(as_text=True)
    key = re.search(r'id="draft_key" name="draft_key" type="hidden" value="([^"]+)"', page).group(1)
    return key, csrf_token(client, "/tickets/new")


def _file(client, **overrides):
    key, token = _new_form(client)
    data = {"csrf_token": token, "draft_key": key, "category": "question", "subject": "Where is the export?",
            "description": "I cannot find the export button anywhere.", "impact": "medium", "urgency": "high"}
    data.update(overrides)
    return client.post("/tickets/new", data=data, content_type="multipart/form-data")


def _customer(auth, role=Role.CUSTOMER, org=None, email=None):
    user = gen_user(role, org=org, email=email)
    auth.login(user.email)
    return user


def test_new_ticket_form_explains_and_needs_a_customer(client, auth):
    assert client.get("/tickets/new").status_code == 302
    _customer(auth)
    page = client.get("/tickets/new").get_data(as_text=True)
    assert "Why we ask" in page and "One request per ticket." in page and "Up to 5 files, 10 MB each" in page
    auth.logout()
    gen_user(Role.AGENT, email="agent@example.com")
    auth.login("agent@example.com")
    assert client.get("/tickets/new").status_code == 403


def test_live_priority_fragment(client, auth):
    _customer(auth)
    response = client.get("/tickets/priority?impact=high&urgency=high", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "P1" in body and "production is down" in body
    body = client.get("/tickets/priority?impact=low&urgency=medium", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "P4" in body


def test_suggestions_are_shown_and_recorded(client, auth, app):
    _customer(auth)
    key, _ = _new_form(client)
    response = client.get(f"/tickets/suggest?subject=reset+my+password&description=&draft_key={key}",
                          headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "how-do-i-reset-my-password" in body
    shown = db.session.scalars(select(Suggestion.slug).where(Suggestion.action == "shown")).all()
    assert "how-do-i-reset-my-password" in shown


def test_opening_a_suggestion_then_continuing_is_recorded(client, auth, app):
    _customer(auth)
    key, token = _new_form(client)
    preview = client.get(f"/tickets/suggest/how-do-i-reset-my-password?draft_key={key}", headers={"HX-Request": "true"})
    body = preview.get_data(as_text=True)
    assert "This solved my problem" in body and "Continue with my ticket" in body and "<html" not in body
    client.post("/tickets/suggest/how-do-i-reset-my-password/continue",
                data={"csrf_token": token, "draft_key": key, "slug": "how-do-i-reset-my-password"},
                headers={"HX-Request": "true"})
    response = _file(client, draft_key=key)
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    actions = set(db.session.scalars(select(Suggestion.action).where(Suggestion.ticket_id == ticket.id)))
    assert {"opened", "rejected"} <= actions


def test_deflection_files_nothing(client, auth, app):
    _customer(auth)
    key, token = _new_form(client)
    response = client.post("/tickets/deflect", data={"csrf_token": token, "draft_key": key,
                                                      "slug": "how-do-i-reset-my-password"})
    assert response.status_code == 302 and "/tickets/solved" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Glad that helped" in page and "How do I reset my password?" in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(Suggestion.action)) == "solved"


def test_filing_shows_the_reference_and_lists_the_ticket(client, auth, app):
    _customer(auth)
    response = _file(client)
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert response.headers["Location"] == f"/tickets/{ticket.reference}/filed"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ticket.reference in page and "Quote it" in page
    assert ticket.reference in client.get("/tickets/").get_data(as_text=True)
    assert ticket.priority.value == "P2"


def test_errors_keep_the_text_and_say_what_is_wrong(client, auth, app):
    _customer(auth)
    response = _file(client, subject="Hi", description="Typed with care, do not lose me.")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "at least 5 characters" in page and "Typed with care, do not lose me." in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_expired_csrf_keeps_the_text(client, auth, app):
    _customer(auth)
    key, _ = _new_form(client)
    response = client.post("/tickets/new", data={"csrf_token": "stale", "draft_key": key, "subject": "Kept subject",
                                                  "description": "Kept description text", "category": "question"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The form expired" in page and "Kept description text" in page


def test_double_submit_files_one_ticket(client, auth, app):
    _customer(auth)
    key, token = _new_form(client)
    data = {"csrf_token": token, "draft_key": key, "category": "question", "subject": "Where is the export?",
            "description": "I cannot find the export button anywhere.", "impact": "low", "urgency": "low"}
    first = client.post("/tickets/new", data=data)
    second = client.post("/tickets/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_screenshot_is_checked_stored_and_served_only_to_who_may_see_it(client, auth, app):
    customer = _customer(auth, email="ana@example.com")
    response = _file(client, files=[(io.BytesIO(png_bytes()), "screen.png"), (io.BytesIO(b"line 1\nline 2\n"), "app.log")])
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    files = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [(f.filename, f.content_type, f.is_image) for f in files] == [
        ("screen.png", "image/png", True), ("app.log", "text/plain", False)]
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f'/tickets/{ticket.reference}/files/{files[0].id}?inline=1' in page  # the full image
    assert f'/tickets/{ticket.reference}/files/{files[0].id}?thumb=1' in page  # its thumbnail
    download = client.get(f"/tickets/{ticket.reference}/files/{files[1].id}")
    assert download.status_code == 200 and download.data == b"line 1\nline 2\n"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]
    download.close()
    inline = client.get(f"/tickets/{ticket.reference}/files/{files[0].id}?inline=1")
    assert inline.headers["Content-Type"] == "image/png" and "attachment" not in inline.headers.get("Content-Disposition", "")
    inline.close()
    auth.logout()
    _customer(auth, org=customer.organization)  # a colleague, not the requester
    assert client.get(f"/tickets/{ticket.reference}/files/{files[0].id}").status_code == 404
    assert client.get(f"/tickets/{ticket.reference}/files/{files[0].id}?thumb=1").status_code == 404
    auth.logout()
    _customer(auth, Role.CUSTOMER_ADMIN, org=customer.organization)
    response = client.get(f"/tickets/{ticket.reference}/files/{files[0].id}")
    assert response.status_code == 200
    response.close()


def test_screenshots_get_small_thumbnails(client, auth, app):
    from PIL import Image

    _customer(auth)
    big = png_bytes((2400, 1500))
    assert _file(client, files=[(io.BytesIO(big), "full-screen.png")]).status_code == 302
    ticket = db.session.scalar(select(Ticket))
    item = db.session.scalar(select(Attachment))
    thumb = client.get(f"/tickets/{ticket.reference}/files/{item.id}?thumb=1")
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.data)) as image:
        assert image.size == (480, 300)
    assert len(thumb.data) < len(big) / 5
    thumb.close()
    original = client.get(f"/tickets/{ticket.reference}/files/{item.id}?inline=1")
    assert original.data == big  # the original is kept as uploaded
    original.close()


def test_refused_files_explain_and_keep_the_text(client, auth, app):
    _customer(auth)
    fake_png = (io.BytesIO(b"MZ\x90\x00this is really an exe"), "holiday.png")
    response = _file(client, description="Please keep this description.", files=[fake_png])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "holiday.png" in page and "not accepted" in page and "Please keep this description." in page
    exe = (io.BytesIO(b"MZ" + b"\x00" * 200), "tool.exe")
    page = _file(client, files=[exe]).get_data(as_text=True)
    assert "tool.exe" in page and "we accept" in page
    broken = (io.BytesIO(png_bytes()[:40]), "broken.png")
    page = _file(client, files=[broken]).get_data(as_text=True)
    assert "cannot be read" in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_too_many_files(client, auth, app):
    _customer(auth)
    files = [(io.BytesIO(b"log %d" % i), f"log{i}.txt") for i in range(6)]
    page = _file(client, files=files).get_data(as_text=True)
    assert "at most 5 files" in page


def test_another_organizations_ticket_is_a_404(client, auth, app):
    ticket = gen_ticket(gen_user(Role.CUSTOMER))
    _customer(auth)
    assert client.get(f"/tickets/{ticket.reference}").status_code == 404
    token = csrf_token(client)
    assert client.post(f"/tickets/{ticket.reference}/reply", data={"csrf_token": token, "body": "hi"}).status_code == 404
    assert client.post(f"/tickets/{ticket.reference}/confirm", data={"csrf_token": token}).status_code == 404


def test_customer_admin_sees_the_organizations_tickets(client, auth, app):
    requester = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(requester)
    other = gen_ticket(gen_user(Role.CUSTOMER))
    _customer(auth, Role.CUSTOMER_ADMIN, org=requester.organization)
    page = client.get("/tickets/").get_data(as_text=True)
    assert ticket.reference in page and other.reference not in page
    assert client.get(f"/tickets/{ticket.reference}").status_code == 200


def test_reply_confirm_and_history_in_the_browser_flow(client, auth, app):
    customer = _customer(auth, email="ana@example.com")
    ticket = gen_ticket(customer)
    agent = gen_user(Role.AGENT, email="agent@example.com")
    auth.logout()
    auth.login("agent@example.com")
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    client.post(f"/tickets/{ticket.reference}/reply", data={"csrf_token": token, "body": "Secret: bug 42", "internal": "y"})
    client.post(f"/tickets/{ticket.reference}/reply", data={"csrf_token": token, "body": "Try **Reports > Export**."})
    client.post(f"/tickets/{ticket.reference}/update", data={"csrf_token": token, "field": "priority", "value": "P4",
                                                             "reason": "a question, not an outage"})
    client.post(f"/tickets/{ticket.reference}/update", data={"csrf_token": token, "field": "status", "value": "solved"})
    auth.logout()
    auth.login("ana@example.com")
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "<strong>Reports &gt; Export</strong>" in page
    assert "Secret: bug 42" not in page
    assert "a question, not an outage" in page and "Is your problem solved?" in page
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    client.post(f"/tickets/{ticket.reference}/confirm", data={"csrf_token": token})
    db.session.refresh(ticket)
    assert ticket.status is Status.CLOSED
    assert agent.id == ticket.messages[0].author_id


def test_customers_cannot_use_agent_actions(client, auth, app):
    customer = _customer(auth)
    ticket = gen_ticket(customer)
    token = csrf_token(client)
    response = client.post(f"/tickets/{ticket.reference}/update", data={"csrf_token": token, "field": "status",
                                                                         "value": "closed"})
    assert response.status_code == 403
    response = client.post(f"/tickets/{ticket.reference}/reply", data={"csrf_token": token, "body": "x", "internal": "y"})
    db.session.refresh(ticket)
    assert ticket.status is Status.NEW and not any(m.internal for m in ticket.messages)


def test_customer_markdown_is_sanitized(client, auth, app):
    customer = _customer(auth)
    ticket = gen_ticket(customer, description='Click [here](javascript:alert(1)) <script>alert(2)</script> '
                                              '<img src=x onerror="alert(3)"> **bold**')
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "javascript:" not in page and "alert(2)" not in page and "onerror" not in page
    assert "<strong>bold</strong>" in page


@pytest.mark.instants
def test_waiting_ticket_says_when_it_closes(client, auth, app, now):
    from zoneinfo import ZoneInfo

    from babel.dates import format_date

    from portal.tickets import services

    customer = _customer(auth)
    ticket = gen_ticket(customer)
    services.change_status(ticket, answer(ticket, now=now), "waiting_on_customer", now=now)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    # Ten days on, on the customer's calendar (Madrid): on 31 December at 23:59 UTC, that is 11 January.
    closes = (now + timedelta(days=10)).replace(tzinfo=UTC).astimezone(ZoneInfo(customer.organization.timezone))
    assert f"closes automatically on {format_date(closes, 'medium', locale='en')}" in page


@pytest.mark.instants
def test_autoclose_command(runner, app, now):
    from portal.tickets import services

    ticket = gen_ticket()
    services.change_status(ticket, answer(ticket), "waiting_on_customer")
    ticket.waiting_since = now - timedelta(days=12)
    db.session.commit()
    result = runner.invoke(args=["tickets", "autoclose"])
    assert result.exit_code == 0 and f"Closed 1 ticket(s) left without an answer or a confirmation: {ticket.reference}" in result.output
    assert "Closed 0 ticket(s)" in runner.invoke(args=["tickets", "autoclose"]).output


def test_accepted_files_wait_while_the_form_is_corrected(client, auth, app):
    _customer(auth)
    key, token = _new_form(client)
    response = _file(client, draft_key=key, subject="Hi",
                     files=[(io.BytesIO(png_bytes()), "screen.png"), (io.BytesIO(b"MZ" + b"\x00" * 50), "tool.exe")])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'name="keep_file" value="screen.png" checked' in page and 'value="tool.exe"' not in page
    response = _file(client, draft_key=key, keep_file="screen.png")
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert [a.filename for a in ticket.attachments] == ["screen.png"]
    assert list((Path(app.config["UPLOAD_DIR"]) / "drafts").glob("*/*")) == []  # the stash is gone


def test_agents_see_the_customer_beside_the_ticket(client, auth, app):
    customer = gen_user(Role.CUSTOMER, org=None)
    older = gen_ticket(customer, subject="An older question")
    ticket = gen_ticket(customer, subject="Today's problem")
    auth.login(gen_user(Role.AGENT).email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert "The customer" in page and customer.email in page
    assert older.reference in page and "Their other tickets" in page
    assert "Onboarding: 0 of 4 sessions done, 0 booked" in page


def test_two_agents_on_one_ticket_see_each_other(client, auth, app, now):
    from portal.tickets import services as tickets

    ticket = gen_ticket()
    cora = gen_user(Role.AGENT, name="Cora Colleague")
    tickets.viewing(ticket, cora)
    auth.login(gen_user(Role.AGENT).email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f'/tickets/{ticket.reference}/viewers' in page
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    notice = client.post(f"/tickets/{ticket.reference}/viewers", data={"csrf_token": token},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Cora Colleague also has this ticket open." in notice and "<html" not in notice
    assert tickets.viewing(ticket, cora, now=now + timedelta(minutes=5)) == []  # the other agent left
    auth.logout()
    auth.login(ticket.requester.email)
    assert client.post(f"/tickets/{ticket.reference}/viewers",
                       data={"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}")}).status_code == 403


def test_a_reply_over_a_newer_customer_message_warns_first(client, auth, app):
    from portal.tickets import services as tickets

    ticket = gen_ticket()
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    seen = re.search(r'name="seen_message_id" value="(\d+)"', page).group(1)
    tickets.reply(ticket, ticket.requester, "Never mind, it works after a restart!")
    data = {"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "body": "Please try clearing the cache.",
            "seen_message_id": seen}
    response = client.post(f"/tickets/{ticket.reference}/reply", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "The customer wrote again while you were typing" in page
    assert "Please try clearing the cache." in page and "it works after a restart" in page
    # The page shown again says it showed the new message: sending again sends.
    seen = re.search(r'name="seen_message_id" value="(\d+)"', page).group(1)
    assert client.post(f"/tickets/{ticket.reference}/reply", data=data | {"seen_message_id": seen}).status_code == 302
    assert [m.body for m in ticket.messages][-1] == "Please try clearing the cache."


def test_rule_messages_are_in_the_readers_language(client, auth, app):
    """A rule the services enforce speaks the reader's language, and the typed text stays."""
    customer = gen_user(Role.CUSTOMER, locale="es")
    ticket = gen_ticket(customer)
    auth.login(customer.email)
    response = client.post(f"/tickets/{ticket.reference}/reply",
                           data={"csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "body": "   "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Escriba primero un mensaje." in page
    assert "Write a message first" not in page
