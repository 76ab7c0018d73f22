"""Mail to the support address becomes tickets, replies and notes by the web's rules; what matches
nobody waits for an agent; loops and noise never make tickets. Every test runs on SQLite and
PostgreSQL, through ``inbox.services.receive`` (the code both ``portal mail fetch`` and
``portal mail receive`` call)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from email import message_from_string, policy

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role, User
from portal.auth import services as accounts
from portal.errors import DomainError
from portal.extensions import db
from portal.inbox import services as inbox
from portal.inbox.models import InboundMessage
from portal.mail.models import OutboxMessage
from portal.tickets import services as tickets
from portal.tickets.models import Attachment, Message, SavedDraft, Status, Ticket
from tests.conftest import run_in_threads
from tests.factories import answer, gen_org, gen_ticket, gen_user, queued_mail
from tests.mail.letters import letter


@pytest.fixture
def app(make_app):
    app = make_app(MAIL_SENDER="Support <support@example.com>", BASE_URL="https://help.example.com")
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def customer(app):
    return gen_user(Role.CUSTOMER, email="ana@acme.example.com", name="Ana", org=gen_org("Acme"))


def _mail_to(address: str) -> list:
    return [message_from_string(m, policy=policy.default) for m in queued_mail()
            if message_from_string(m, policy=policy.default)["To"] == address]


def _tickets():
    db.session.expire_all()
    return db.session.scalars(select(Ticket).order_by(Ticket.id)).all()


def test_a_customers_mail_becomes_a_ticket_with_its_clock_from_arrival(app, customer, now):
    arrived = now - timedelta(minutes=20)
    result = inbox.receive(letter("Ana <ANA@acme.example.com>", "Export fails on Mondays",
                                  "Every Monday the export ends with error 500.", received=arrived))
    assert (result.outcome, result.retry) == ("ticket", False)
    [ticket] = _tickets()
    assert result.reference == ticket.reference and ticket.requester_id == customer.id
    assert (ticket.channel.value, ticket.subject, ticket.description) == \
        ("email", "Export fails on Mondays", "Every Monday the export ends with error 500.")
    assert ticket.priority.value == "P3" and ticket.category.value == "question"  # the plan's default
    assert ticket.created_at == arrived  # the SLA clock starts when our server got it, not when it was fetched
    [ack] = _mail_to("ana@acme.example.com")
    assert ack["Subject"] == f"[{ticket.reference}] We received your ticket: Export fails on Mondays"
    assert ack["Reply-To"] == "support@example.com"
    row = db.session.get(InboundMessage, result.inbound_id)
    assert ack["In-Reply-To"] == row.message_id and ack["Auto-Submitted"] == "auto-replied"  # threads with theirs
    assert "Reply to this email to answer" in ack.get_body(("plain",)).get_content()
    row = db.session.get(InboundMessage, result.inbound_id)
    assert row.ticket_id == ticket.id and row.raw.startswith(b"Received:")


def test_an_answer_to_our_mail_joins_the_thread_without_the_quote(app, customer):
    ticket = gen_ticket(customer, subject="Export fails")
    agent = answer(ticket, body="Which browser do you use?")
    tickets.change_status(ticket, agent, "waiting_on_customer")
    ours = db.session.scalars(select(OutboxMessage).where(OutboxMessage.thread == ticket.reference)).all()[-1]
    body = ("Firefox 140, on Windows.\n\nOn Wed, Dec 2, 2026 at 11:00 AM Support <support@example.com> wrote:\n"
            "> Which browser do you use?\n")
    result = inbox.receive(letter("ana@acme.example.com", "Re: something else entirely", body,
                                  headers={"In-Reply-To": ours.message_id, "References": ours.message_id}))
    assert (result.outcome, result.reference) == ("reply", ticket.reference)
    db.session.refresh(ticket)
    last = ticket.messages[-1]
    assert (last.body, last.channel.value, last.author_id) == ("Firefox 140, on Windows.", "email", customer.id)
    assert ticket.status is Status.OPEN  # the customer answered: back with the agents


def test_the_reference_in_the_subject_threads_too_and_spanish_quotes_go(app, customer):
    ticket = gen_ticket(customer)
    body = ("Ya funciona, gracias.\n\nEl mié, 2 dic 2026 a las 11:00, Soporte (<support@example.com>) escribió:\n"
            "> ¿Qué navegador usa?\n")
    result = inbox.receive(letter("ana@acme.example.com", f"RE: [{ticket.reference}] Export", body))
    assert (result.outcome, result.reference) == ("reply", ticket.reference)
    assert ticket.messages[-1].body == "Ya funciona, gracias."


def test_another_organizations_reference_never_attaches(app, customer):
    other = gen_ticket(gen_user(Role.CUSTOMER, org=gen_org("Other")), subject="Their private ticket")
    result = inbox.receive(letter("ana@acme.example.com", f"Re: [{other.reference}] Their private ticket",
                                  "Let me in."))
    assert result.outcome == "ticket" and result.reference != other.reference
    db.session.refresh(other)
    assert other.messages == []
    assert _tickets()[-1].requester_id == customer.id


def test_the_same_message_twice_makes_one_ticket(app, customer):
    raw = letter("ana@acme.example.com", message_id="<same@client.example.net>")
    first = inbox.receive(raw)
    again = inbox.receive(raw)
    assert (first.outcome, again.outcome, again.reference) == ("ticket", "duplicate", first.reference)
    # Two servers taking the same message at the same moment.
    raw = letter("ana@acme.example.com", "At once", message_id="<at-once@client.example.net>")
    results, failures = run_in_threads(app, 4, lambda i: inbox.receive(raw, source=f"imap:server{i}"))
    assert failures == []
    # Each one either took it, saw it taken, or left it for its next run (SQLite's one writer).
    assert sorted(r.outcome for r in results if r.outcome != "error").count("ticket") == 1
    assert all(r.outcome in ("ticket", "duplicate") or r.retry for r in results)
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.subject == "At once")) == 1


def test_an_answer_to_a_closed_ticket_opens_a_follow_up(app, customer):
    ticket = gen_ticket(customer)
    tickets.change_status(ticket, answer(ticket), "closed")
    result = inbox.receive(letter("ana@acme.example.com", f"Re: [{ticket.reference}] Export", "It is back."))
    assert result.outcome == "follow_up" and result.reference != ticket.reference
    follow_up = _tickets()[-1]
    assert follow_up.follow_up_of_id == ticket.id and follow_up.description == "It is back."
    ack = _mail_to("ana@acme.example.com")[-1]
    assert f"{ticket.reference} was closed" in ack.get_body(("plain",)).get_content()


def test_an_answer_to_a_solved_ticket_reopens_it(app, customer):
    ticket = gen_ticket(customer)
    tickets.change_status(ticket, answer(ticket), "solved")
    assert inbox.receive(letter("ana@acme.example.com", f"[{ticket.reference}]", "Not solved.")).outcome == "reply"
    db.session.refresh(ticket)
    assert ticket.status is Status.OPEN


def test_an_unknown_address_at_a_registered_domain_gets_an_account(app, customer):
    accounts.add_domain(customer.organization, "ACME.example.com")
    result = inbox.receive(letter("Luis Pérez <luis@acme.example.com>", "Login loop", "The login page loops."))
    assert result.outcome == "ticket"
    luis = accounts.user_by_email("luis@acme.example.com")
    assert (luis.name, luis.role, luis.organization_id) == ("Luis Pérez", Role.CUSTOMER, customer.organization_id)
    assert _tickets()[-1].requester_id == luis.id


def test_an_unknown_sender_waits_for_an_agent_and_gets_one_answer_a_day(app, now):
    first = inbox.receive(letter("stranger@elsewhere.example.org", "Hello", "Can you help?"))
    second = inbox.receive(letter("stranger@elsewhere.example.org", "Hello again", "Anyone?"))
    assert (first.outcome, second.outcome) == ("unmatched", "unmatched") and _tickets() == []
    answers = _mail_to("stranger@elsewhere.example.org")
    assert len(answers) == 1 and "could not match stranger@elsewhere.example.org" in \
        answers[0].get_body(("plain",)).get_content()
    assert answers[0]["Auto-Submitted"] == "auto-replied" and answers[0]["In-Reply-To"].startswith("<letter-")
    assert [r.subject for r in inbox.unmatched()] == ["Hello again", "Hello"]


def test_auto_replies_and_bulk_mail_never_make_tickets_or_answers(app, customer):
    ooo = letter("ana@acme.example.com", "Out of office", "I am away until Monday.",
                 headers={"Auto-Submitted": "auto-replied"})
    assert inbox.receive(ooo).outcome == "unmatched"  # a customer's address, maybe a forged header: an agent looks
    bulk = letter("news@vendor.example.org", "Our newsletter", "News.", headers={"Precedence": "bulk"})
    assert inbox.receive(bulk).outcome == "ignored"
    x_auto = letter("robot@elsewhere.example.org", "Thanks", "Got it.", headers={"X-Autoreply": "yes"})
    assert inbox.receive(x_auto).outcome == "ignored"
    ours = letter("Support <support+note@example.com>", "[2026-00001] loop", "Our own mail coming back.")
    assert inbox.receive(ours).outcome == "ignored"
    assert _tickets() == [] and queued_mail() == []  # no ticket, no answer: no loop can start


def _dsn(recipient: str) -> bytes:
    return (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\nTo: support@example.com\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.com>\r\n"
           b"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
           b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n")


def test_a_bounce_marks_the_address_for_the_agents(app, customer, now):
    agent = gen_user(Role.AGENT, email="sam@example.com")
    ticket = gen_ticket(customer)  # its acknowledgement went to ana@acme.example.com
    sent = len(queued_mail())
    assert inbox.receive(_dsn("ana@acme.example.com")).outcome == "bounce"
    db.session.refresh(customer)
    assert customer.email_bouncing_at is not None and customer.email_bounce_reason.startswith("5.1.1")
    assert _tickets() == [ticket] and len(queued_mail()) == sent  # no ticket, no answer
    # A forged report about an address we never wrote to marks nobody.
    forged = _dsn("sam@example.com").replace(b"<dsn-1@", b"<dsn-2@")
    assert inbox.receive(forged).outcome == "bounce"
    db.session.refresh(agent)
    assert agent.email_bouncing_at is None
    inbox.receive(letter("ana@acme.example.com", "I am back", "Mail works again."))
    db.session.refresh(customer)
    assert customer.email_bouncing_at is None  # they wrote: the address works


def test_a_runaway_sender_is_stopped(app, customer):
    app.config["MAIL_SENDER_LIMIT_PER_HOUR"] = 3
    outcomes = [inbox.receive(letter("ana@acme.example.com", f"Loop {i}", "Again.")).outcome for i in range(5)]
    assert outcomes == ["ticket"] * 3 + ["rate_limited"] * 2
    assert len(_tickets()) == 3


def test_a_message_over_the_limit_is_refused_with_an_answer(app, customer):
    app.config["MAIL_MAX_MESSAGE_MB"] = 1
    big = letter("ana@acme.example.com", "Logs", "Attached.",
                 attachments=[("logs.zip", "application/zip", b"PK" + bytes(2 * 2**20))])
    result = inbox.receive(big)
    assert result.outcome == "refused" and _tickets() == []
    [answer_] = _mail_to("ana@acme.example.com")
    text = answer_.get_body(("plain",)).get_content()
    assert "we take messages of up to 1 MB" in text and "2.7 MB" in text
    assert db.session.get(InboundMessage, result.inbound_id).raw is None  # only the headers are kept


def test_a_50_mb_message_is_refused_at_the_default_limit(app, customer):
    assert app.config["MAIL_MAX_MESSAGE_MB"] == 25
    huge = letter("ana@acme.example.com", "Full disk image", "Here it is.",
                  attachments=[("disk.zip", "application/zip", b"PK" + bytes(38 * 2**20))])  # over 50 MB in base64
    assert len(huge) > 50 * 2**20
    assert inbox.receive(huge).outcome == "refused" and _tickets() == []
    assert "we take messages of up to 25 MB" in _mail_to("ana@acme.example.com")[0].get_body(("plain",)).get_content()


def test_over_the_quota_it_is_kept_as_a_draft_and_the_answer_says_why(make_app, now):
    from tests.plans.conftest import EXAMPLES

    app = make_app(PLANS_FILE=str(EXAMPLES / "support-levels.toml"), MAIL_SENDER="support@example.com")
    with app.app_context():
        # The monthly level is included for six months after go-live (seed 001).
        org = gen_org("Acme", plan="monthly", started_on=(now - timedelta(days=60)).date())
        customer = gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=org)
        for i in range(40):
            gen_ticket(customer, now=now)
        result = inbox.receive(letter("ana@acme.example.com", "One more", "The forty-first of the month."))
        assert result.outcome == "draft"
        assert db.session.get(SavedDraft, customer.id).subject == "One more"
        text = _mail_to("ana@acme.example.com")[-1].get_body(("plain",)).get_content()
        assert "not filed as a ticket" in text and "40 of its 40 tickets" in text and "/tickets/new" in text
        db.session.remove()


def test_a_plan_without_email_keeps_new_tickets_as_drafts_but_takes_answers(make_app, now):
    from tests.plans.conftest import EXAMPLES

    app = make_app(PLANS_FILE=str(EXAMPLES / "priority-matrix.toml"), MAIL_SENDER="support@example.com")
    with app.app_context():
        customer = gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme", plan="standard"))
        assert inbox.receive(letter("ana@acme.example.com", "By mail", "Standard: web and phone.")).outcome == "draft"
        assert "not by email" in _mail_to("ana@acme.example.com")[-1].get_body(("plain",)).get_content()
        ticket = gen_ticket(customer)
        assert inbox.receive(letter("ana@acme.example.com", f"[{ticket.reference}]", "An answer.")).outcome == "reply"
        db.session.remove()


def _png(size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


def _zip_bomb() -> bytes:
    """100 MB of zeros in a few hundred KB: stored as the customer sent it, never expanded."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", bytes(100 * 2**20))
    return out.getvalue()


def test_attachments_follow_the_webs_limits_and_the_refused_are_named(app, customer):
    bomb = _zip_bomb()
    result = inbox.receive(letter("ana@acme.example.com", "Screens", "See attached.", attachments=[
        ("screen.png", "image/png", _png()), ("logs.zip", "application/zip", bomb),
        ("tool.exe", "application/octet-stream", b"MZ\x90\x00" + bytes(200)),
        ("huge.png", "image/png", _png((12000, 12000)))]))
    assert result.outcome == "ticket"
    files = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [(f.filename, f.size) for f in files] == [("screen.png", len(_png())), ("logs.zip", len(bomb))]
    ack = _mail_to("ana@acme.example.com")[-1].get_body(("plain",)).get_content()
    assert "These files were not attached: tool.exe" in ack and "huge.png" in ack


def test_agents_answer_and_add_notes_by_email(app, customer):
    ticket = gen_ticket(customer)
    agent = gen_user(Role.AGENT, email="sam@example.com", name="Sam")
    tickets.assign(ticket, agent, agent)
    tickets.reply(ticket, customer, "Any news?")  # the assignee hears of it by mail
    theirs = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "sam@example.com")).one()
    answered = {"In-Reply-To": theirs.message_id}
    reply = inbox.receive(letter("Sam <SAM@example.com>", f"Re: [{ticket.reference}] Export", "Fixed: try again.",
                                 headers=answered))
    note = inbox.receive(letter("sam@example.com", f"Re: [{ticket.reference}] Export", "Bug 42 was it.",
                                to="support+note@example.com", headers=answered))
    assert (reply.outcome, note.outcome) == ("reply", "note")
    db.session.refresh(ticket)
    assert [(m.body, m.internal) for m in ticket.messages][1:] == [("Fixed: try again.", False),
                                                                   ("Bug 42 was it.", True)]
    assert ticket.first_response_at is not None  # the public answer stops the first-response clock
    to_customer = [m["Subject"] for m in _mail_to("ana@acme.example.com")]
    assert any("New answer" in s for s in to_customer) and not any("Bug 42" in m for m in queued_mail())
    stray = inbox.receive(letter("sam@example.com", "Lunch?", "Anyone?"))
    assert stray.outcome == "unmatched"


def test_a_forged_agent_address_never_speaks_for_the_agent(app, customer):
    ticket = gen_ticket(customer)
    gen_user(Role.AGENT, email="sam@example.com")
    forged = inbox.receive(letter("sam@example.com", f"Re: [{ticket.reference}]", "Closing this, bye."))
    assert forged.outcome == "unmatched" and "forged" in db.session.get(InboundMessage, forged.inbound_id).reason
    db.session.refresh(ticket)
    assert ticket.messages == []
    # Our own mail server vouches for the sender: the mail counts (another server's header does not).
    app.config["MAIL_AUTHSERV_ID"] = "mx.example.com"
    other = {"Authentication-Results": "mx.evil.example; dkim=pass header.d=example.com"}
    assert inbox.receive(letter("sam@example.com", f"[{ticket.reference}]", "Hi.", headers=other)).outcome == \
        "unmatched"
    unaligned = {"Authentication-Results": "mx.example.com; spf=pass smtp.mailfrom=evil.example; "
                                           "dkim=pass header.d=evil.example; dmarc=fail header.from=example.com"}
    assert inbox.receive(letter("sam@example.com", f"[{ticket.reference}]", "Evil.", headers=unaligned)).outcome == \
        "unmatched"  # a pass for the forger's own domain proves nothing about the From line
    ours = {"Authentication-Results": "mx.example.com; dkim=pass header.d=example.com; spf=pass"}
    assert inbox.receive(letter("sam@example.com", f"[{ticket.reference}]", "Real.", headers=ours)).outcome == "reply"


def test_html_only_and_malformed_mail_still_make_tickets(app, customer):
    html = letter("ana@acme.example.com", "Formatted", "", html="<p>Hello <b>team</b></p><script>alert(1)</script>"
                  "<p><a href='https://example.com/x'>the page</a></p>")
    assert inbox.receive(html).outcome == "ticket"
    description = _tickets()[-1].description
    assert "**team**" in description and "[the page](https://example.com/x)" in description
    assert "alert" not in description
    broken = (b"From: ana@acme.example.com\r\nFrom: other@example.com\r\nSubject: Broken\r\nSubject: Twice\r\n"
              b"Message-ID: <broken@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
              b"--zz\r\nContent-Type: text/plain\r\n\r\nThe text survives.\r\n--zz\r\n"
              b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%not base64")
    assert inbox.receive(broken).outcome == "ticket"
    assert _tickets()[-1].description.startswith("The text survives.")
    no_from = letter(None, "Who am I", "Nobody knows.")
    assert inbox.receive(no_from).outcome == "unmatched"


def test_a_priority_line_asks_for_that_priority(app, customer):
    inbox.receive(letter("ana@acme.example.com", "Production down", "Priority: P1\n\nNothing loads."))
    assert _tickets()[-1].priority.value == "P1"


def test_agents_assign_unmatched_mail_to_a_customer_or_discard_it(app, client, auth, customer):
    agent = gen_user(Role.AGENT, email="sam@example.com")
    kept = inbox.receive(letter("ana.private@gmail.example", "From my own address", "It is Ana."))
    spam = inbox.receive(letter("spam@elsewhere.example.org", "Win", "A prize."))
    auth.login(customer.email)
    assert client.get("/agent/email/").status_code == 403
    assert client.get(f"/agent/email/{kept.inbound_id}.eml").status_code == 403
    auth.logout()
    auth.login(agent.email)
    page = client.get("/agent/email/").get_data(as_text=True)
    assert "From my own address" in page and "Win" in page
    from tests.conftest import csrf_token

    token = csrf_token(client, "/agent/email/")
    assert client.post(f"/agent/email/{kept.inbound_id}/assign", data={"customer": "nobody@x.org"}).status_code == 400
    wrong = client.post(f"/agent/email/{kept.inbound_id}/assign", data={"csrf_token": token, "customer": "nobody@x.org"})
    assert wrong.status_code == 422 and "No active customer has the address nobody@x.org" in wrong.get_data(as_text=True)
    assert 'value="nobody@x.org"' in wrong.get_data(as_text=True)  # what the agent typed is kept
    done = client.post(f"/agent/email/{kept.inbound_id}/assign", data={"csrf_token": token, "customer": customer.email})
    assert done.status_code == 302
    [ticket] = _tickets()
    assert ticket.requester_id == customer.id and ticket.subject == "From my own address"
    again = client.post(f"/agent/email/{kept.inbound_id}/assign", data={"csrf_token": token, "customer": customer.email},
                        follow_redirects=True)
    assert "no longer waiting" in again.get_data(as_text=True) and len(_tickets()) == 1
    assert client.post(f"/agent/email/{spam.inbound_id}/discard", data={"csrf_token": token}).status_code == 302
    assert inbox.unmatched() == []
    original = client.get(f"/agent/email/{spam.inbound_id}.eml")
    assert original.headers["Content-Type"] == "message/rfc822" and b"A prize." in original.data
    detail = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f"/agent/email/{kept.inbound_id}.eml" in detail and "by email" in detail
    db.session.rollback()
    recorded = db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("inbox.%")).order_by(AuditEntry.id))
    assert [(e.action, e.actor_email, e.target_id, e.detail.get("ticket")) for e in recorded] == [
        ("inbox.assign", "sam@example.com", kept.inbound_id, ticket.reference),  # once: the second did nothing
        ("inbox.discard", "sam@example.com", spam.inbound_id, None)]


def test_the_web_and_the_api_record_their_channel(app, customer):
    assert gen_ticket(customer).channel.value == "web"
    ticket = gen_ticket(customer)
    assert tickets.reply(ticket, customer, "From the page.").channel.value == "web"



def test_answers_to_a_closed_tickets_thread_go_to_its_follow_up(app, customer):
    ticket = gen_ticket(customer)
    tickets.change_status(ticket, answer(ticket), "closed")
    first = inbox.receive(letter("ana@acme.example.com", f"Re: [{ticket.reference}]", "It is back."))
    second = inbox.receive(letter("ana@acme.example.com", f"Re: [{ticket.reference}]", "And worse."))
    assert (first.outcome, second.outcome, second.reference) == ("follow_up", "reply", first.reference)
    assert len(_tickets()) == 2


def test_an_answer_to_an_onboarding_mail_waits_for_an_agent(app, customer):
    from portal import mail

    booked = mail.queue(customer.email, "Booked: Onboarding session 1", "See you.", thread="onboarding:7")
    db.session.commit()
    result = inbox.receive(letter("ana@acme.example.com", "Re: Booked", "Can we move it?",
                                  headers={"In-Reply-To": booked.message_id}))
    assert result.outcome == "unmatched" and _tickets() == []  # no ticket, no quota used
    assert "onboarding" in db.session.get(InboundMessage, result.inbound_id).reason


def test_a_subject_with_line_breaks_never_breaks_a_mail_header(app, customer):
    ticket = gen_ticket(customer, subject="Hello\r\nBcc: victim@evil.example")
    assert ticket.subject == "Hello Bcc: victim@evil.example"
    [ack] = _mail_to("ana@acme.example.com")
    assert ack["Bcc"] is None and ack["Subject"].endswith("Hello Bcc: victim@evil.example")
    raw = letter("ana@acme.example.com", "x", "y").replace(b"Subject: x", b"Subject: =?utf-8?q?Hello=0D=0AWorld?=")
    app.config["MAIL_MAX_MESSAGE_MB"] = 0  # too large: the answer repeats the subject
    assert inbox.receive(raw).outcome == "refused"
    assert "Hello World" in _mail_to("ana@acme.example.com")[-1]["Subject"]


def test_a_message_that_always_fails_waits_for_an_agent_after_five_tries(app, customer, monkeypatch):
    raw = letter("ana@acme.example.com", "Poison", "It breaks something.")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in filing")

    monkeypatch.setattr(tickets, "file_ticket", broken)  # a bug that every try meets the same way
    outcomes = [inbox.receive(raw) for _ in range(6)]
    assert [r.retry for r in outcomes] == [True] * 5 + [False]
    assert outcomes[-1].outcome == "unmatched"
    row = db.session.get(InboundMessage, outcomes[-1].inbound_id)
    assert row.failures == 5 and "RuntimeError: a bug in filing" in row.reason and row.raw == raw
    with pytest.raises(DomainError, match="could not be filed"):  # the bug is still there: a message, no 500
        inbox.assign(row.id, gen_user(Role.AGENT), customer.email)
    assert inbox.unmatched()[0].id == row.id
    monkeypatch.undo()
    assert inbox.receive(raw).outcome == "duplicate"  # it waits for an agent now, never comes back
    assert inbox.assign(row.id, gen_user(Role.AGENT), customer.email).ticket is not None  # who can file it


def test_a_customers_web_draft_is_never_overwritten_by_a_refused_mail(make_app, now):
    from tests.plans.conftest import EXAMPLES

    app = make_app(PLANS_FILE=str(EXAMPLES / "priority-matrix.toml"), MAIL_SENDER="support@example.com")
    with app.app_context():
        customer = gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme", plan="standard"))
        tickets.save_draft(customer, tickets.TicketDraft(category="question", subject="Typed on the web",
                                                         description="Half written.", impact="", urgency="",
                                                         submission_key="k"))
        assert inbox.receive(letter("ana@acme.example.com", "By mail", "Not a channel of hers.")).outcome == "draft"
        assert db.session.get(SavedDraft, customer.id).subject == "Typed on the web"
        assert "already keeps another draft" in _mail_to("ana@acme.example.com")[-1].get_body(("plain",)).get_content()
        db.session.remove()


def test_assigned_mail_is_answered_to_the_customer_not_the_stranger(app, customer):
    app.config["TICKET_MAX_FILES"] = 1
    stranger = inbox.receive(letter("someone@elsewhere.example.org", "Two files", "For Ana.", attachments=[
        ("a.txt", "text/plain", b"one"), ("b.txt", "text/plain", b"two")]))
    before = len(_mail_to("someone@elsewhere.example.org"))
    inbox.assign(stranger.inbound_id, gen_user(Role.AGENT), customer.email)
    assert len(_mail_to("someone@elsewhere.example.org")) == before  # nothing about Ana's ticket to them
    ack = _mail_to("ana@acme.example.com")[-1].get_body(("plain",)).get_content()
    assert "b.txt" in ack  # the refused file is named to the customer


def test_new_accounts_from_a_domain_are_capped_and_need_authentication_where_it_exists(app, customer):
    accounts.add_domain(customer.organization, "acme.example.com")
    app.config["MAIL_NEW_ACCOUNTS_PER_DAY"] = 3  # Ana's, made today, counts too
    outcomes = [inbox.receive(letter(f"user{i}@acme.example.com", f"Hi {i}", "Hello.")).outcome for i in range(3)]
    assert outcomes == ["ticket", "ticket", "unmatched"]
    app.config["MAIL_NEW_ACCOUNTS_PER_DAY"] = 20
    app.config["MAIL_AUTHSERV_ID"] = "mx.example.com"
    assert inbox.receive(letter("forged@acme.example.com", "Forged", "Hi.")).outcome == "unmatched"
    signed = {"Authentication-Results": "mx.example.com; dmarc=pass header.from=acme.example.com"}
    assert inbox.receive(letter("real@acme.example.com", "Signed", "Hi.", headers=signed)).outcome == "ticket"
