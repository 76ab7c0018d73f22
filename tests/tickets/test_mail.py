"""Notifications, received on a real SMTP server on 127.0.0.1 (aiosmtpd)."""

import email
from datetime import datetime, timedelta
from email import policy

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import OutboxMessage
from portal.tickets import services
from portal.tickets.models import Ticket
from tests.factories import answer, gen_org, gen_ticket, gen_user


class Delivered:
    """What the SMTP server received once the outbox was delivered, as the worker does."""

    def __init__(self, server):
        self.server = server

    @property
    def messages(self):
        return self.server.messages

    def wait_for(self, count):
        outbox.deliver_due()
        assert len(self.server.messages) >= count, [m["Subject"] for m in self.server.messages]
        return self.server.messages

    def to(self, address):
        return self.server.to(address)


@pytest.fixture
def mail_app(make_app, smtp):
    app = make_app(**smtp.settings(), MAIL_SENDER="Support <support@example.com>", BASE_URL="https://help.example.com")
    with app.app_context():
        yield app, Delivered(smtp)
        db.session.remove()


def test_filing_and_the_conversation_send_mail(mail_app):
    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="ana@example.com", name="Ana")
    agent = gen_user(Role.AGENT, email="sam@example.com", name="Sam")
    ticket = gen_ticket(customer, subject="Export fails on Mondays")
    ack = inbox.wait_for(1)[0]
    assert ack["To"] == "ana@example.com" and ack["From"] == "Support <support@example.com>"
    assert ack["Subject"] == f"[{ticket.reference}] We received your ticket: Export fails on Mondays"
    text = ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    assert ticket.reference in text and f"https://help.example.com/tickets/{ticket.reference}" in text
    assert "<strong>" in html and f"https://help.example.com/tickets/{ticket.reference}" in html

    services.assign(ticket, agent, agent)
    services.reply(ticket, agent, "Which browser do you use?")
    services.reply(ticket, agent, "Internal: check bug 42", internal=True)
    services.change_status(ticket, agent, "waiting_on_customer")
    services.reply(ticket, customer, "Firefox 140.")
    inbox.wait_for(4)
    to_customer = [m["Subject"] for m in inbox.to("ana@example.com")]
    assert f"[{ticket.reference}] New answer on your ticket: Export fails on Mondays" in to_customer
    assert any("waiting for your answer" in s for s in to_customer)
    assert not any("bug 42" in m.get_body(("plain",)).get_content() for m in inbox.messages)
    to_agent = inbox.to("sam@example.com")
    assert [m["Subject"] for m in to_agent] == [f"[{ticket.reference}] The customer answered: Export fails on Mondays"]
    assert "Firefox 140." in to_agent[0].get_body(("plain",)).get_content()


def test_site_relative_links_in_an_answer_are_absolute_in_the_mail(mail_app):
    """The reply box inserts "/kb/slug" (it works wherever the portal is served); a mail is read
    outside the portal, so it carries BASE_URL's absolute address, in both its parts."""
    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="ana@example.com")
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(customer)
    services.reply(ticket, agent, "See [Reset your password](/kb/how-do-i-reset-my-password), "
                                  "[elsewhere](https://other.example/x) and [home](//cdn.example/y).")
    answer = next(m for m in inbox.wait_for(2) if "New answer" in m["Subject"])
    text, html = answer.get_body(("plain",)).get_content(), answer.get_body(("html",)).get_content()
    assert "[Reset your password](https://help.example.com/kb/how-do-i-reset-my-password)" in text
    assert 'href="https://help.example.com/kb/how-do-i-reset-my-password"' in html
    assert "(https://other.example/x)" in text and "(//cdn.example/y)" in text  # left as written
    assert ticket.messages[-1].body.count("](/kb/how-do-i-reset-my-password)") == 1  # the ticket keeps the relative one


def test_mail_is_in_the_recipients_language(mail_app):
    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="maria@example.com", locale="es")
    gen_ticket(customer)
    message = inbox.wait_for(1)[0]
    assert "Hemos recibido su ticket" in message["Subject"]
    assert "Hola," in message.get_body(("plain",)).get_content()


@pytest.mark.instants
def test_reminder_before_autoclose_then_the_close(mail_app, now):
    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="ana@example.com")
    ticket = gen_ticket(customer)
    agent = answer(ticket)
    services.change_status(ticket, agent, "waiting_on_customer")
    inbox.wait_for(3)
    inbox.messages.clear()
    ticket.waiting_since = now - timedelta(days=9)
    db.session.commit()
    assert services.autoclose(remind_days=2) == ([], [ticket.reference])
    assert services.autoclose(remind_days=2) == ([], [])  # once per wait
    reminder = inbox.wait_for(1)[0]
    assert "will close soon" in reminder["Subject"]
    assert services.autoclose(now=now + timedelta(days=2)) == ([ticket.reference], [])
    assert any("is closed" in m["Subject"] for m in inbox.wait_for(2))


def test_dates_in_mail_read_in_the_customers_time_zone(mail_app):
    """A cron job has no request: the reminder still gives the closing date where the customer lives."""
    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="kiri@example.com", org=gen_org(timezone="Pacific/Auckland"))
    ticket = gen_ticket(customer)
    services.change_status(ticket, answer(ticket), "waiting_on_customer")
    inbox.wait_for(3)
    inbox.messages.clear()
    # Closes on 10 December 2026 at 12:00 UTC: already 11 December (01:00) in Auckland.
    ticket.waiting_since = datetime(2026, 11, 30, 12, 0)
    db.session.commit()
    assert services.autoclose(now=datetime(2026, 12, 9, 12, 0)) == ([], [ticket.reference])
    text = inbox.wait_for(1)[0].get_body(("plain",)).get_content()
    assert "closes on December 11, 2026" in text


def test_a_mail_server_that_is_down_loses_neither_the_ticket_nor_its_mail(make_app, smtp):
    app = make_app(**smtp.settings())
    smtp.stop()
    with app.app_context():
        ticket = gen_ticket(gen_user(Role.CUSTOMER, email="ana@example.com"))
        assert outbox.deliver_due() == outbox.Report(retrying=1)
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1 and ticket.reference
        queued = db.session.scalar(select(OutboxMessage))
        assert queued.status == "queued" and queued.thread == ticket.reference
        assert "cannot reach 127.0.0.1" in queued.last_error
        db.session.remove()


def test_development_mail_goes_to_the_instance_folder(app, tmp_path):
    gen_ticket(gen_user(Role.CUSTOMER, email="ana@example.com"))
    assert list((tmp_path / "instance" / "mail").glob("*.eml")) == []  # queued, until the worker runs
    assert outbox.deliver_due() == outbox.Report(sent=1)
    files = list((tmp_path / "instance" / "mail").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["To"] == "ana@example.com" and "We received your ticket" in message["Subject"]


def test_a_priority_request_and_its_decision_send_mail(mail_app):
    from portal.tickets import priorities

    app, inbox = mail_app
    customer = gen_user(Role.CUSTOMER, email="ana@example.com", name="Ana")
    agent = gen_user(Role.AGENT, email="sam@example.com", name="Sam")
    other = gen_user(Role.AGENT, email="lee@example.com", name="Lee")
    ticket = gen_ticket(customer, subject="Export fails", impact="low", urgency="low")
    inbox.wait_for(1)
    request = priorities.request_change(ticket, customer, "P2", "Payroll runs tonight.")
    # Nobody has the ticket yet: every agent hears of the request.
    asked = [m for m in inbox.wait_for(3) if m["To"] in ("sam@example.com", "lee@example.com")]
    assert sorted(m["To"] for m in asked) == ["lee@example.com", "sam@example.com"]
    assert asked[0]["Subject"] == f"[{ticket.reference}] Priority request (P4 to P2): Export fails"
    assert "Payroll runs tonight." in asked[0].get_body(("plain",)).get_content()
    priorities.decide(ticket, agent, request.id, accept=False, reason="A P4 bug has a workaround.")
    declined = inbox.wait_for(4)[3]
    assert declined["To"] == "ana@example.com" and declined["Subject"] == f"[{ticket.reference}] Your ticket stays P4: Export fails"
    assert "A P4 bug has a workaround." in declined.get_body(("plain",)).get_content()
    services.assign(ticket, other, other)
    request = priorities.request_change(ticket, customer, "P3", "Half the team is blocked.")
    assert [m["To"] for m in inbox.wait_for(5)[4:]] == ["lee@example.com"]  # the assignee only, now
    priorities.decide(ticket, other, request.id, accept=True)
    accepted = inbox.wait_for(6)[5:]
    assert [m["Subject"] for m in accepted if m["To"] == "ana@example.com"] == \
        [f"[{ticket.reference}] Your ticket is now P3: Export fails"]
