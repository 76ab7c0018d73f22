"""The whole email channel against real servers: a customer writes to the support mailbox on
Dovecot, `portal mail fetch` makes the ticket, the agent's answer leaves through the outbox to
an SMTP server (aiosmtpd), and the customer's answer from a mail client joins the thread. Also
the commands as a mail administrator runs them: `portal mail receive` and `portal worker`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.inbox.cli import handler
from portal.inbox.models import InboundMessage
from portal.mail import imap, outbox
from portal.tickets import services as tickets
from portal.tickets.models import Ticket
from tests.conftest import run_in_threads
from tests.factories import gen_org, gen_user
from tests.mail.letters import letter

PORTAL = str(Path(sys.executable).with_name("portal"))


def _imap_settings(mailbox) -> dict:
    return {"MAIL_IMAP_HOST": mailbox.host, "MAIL_IMAP_PORT": mailbox.port, "MAIL_IMAP_SECURITY": "ssl",
            "MAIL_IMAP_USERNAME": mailbox.username, "MAIL_IMAP_PASSWORD": mailbox.password,
            "MAIL_IMAP_CAFILE": mailbox.cafile}


@pytest.fixture
def channel(make_app, smtp, mailbox):
    """The portal with its support mailbox on Dovecot and its outgoing mail on aiosmtpd."""
    app = make_app(**smtp.settings(), **_imap_settings(mailbox), MAIL_SENDER=f"Support <{mailbox.username}>",
                   BASE_URL="https://help.example.com")
    with app.app_context():
        yield app
        db.session.remove()


def _fetch(app) -> str:
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_customer_writes_reads_the_answer_and_answers_from_their_mail_client(channel, smtp, mailbox, dovecot):
    customer = gen_user(Role.CUSTOMER, email="ana@acme.example.com", name="Ana", org=gen_org("Acme"))
    agent = gen_user(Role.AGENT, email="sam@example.com", name="Sam")
    dovecot.append(mailbox.username, letter("Ana <ana@acme.example.com>", "Export fails on Mondays",
                                            "Every Monday the export ends with error 500.", to=mailbox.username))
    assert _fetch(channel) == "default: took 1, left 0 for later (1 ticket).\n"
    assert dovecot.messages(mailbox.username) == [] and len(dovecot.messages(mailbox.username, "Processed")) == 1
    [ticket] = db.session.scalars(select(Ticket)).all()
    assert ticket.requester_id == customer.id and ticket.channel.value == "email"

    tickets.assign(ticket, agent, agent)
    tickets.reply(ticket, agent, "Which browser do you use?")
    outbox.deliver_due()
    answer = [m for m in smtp.to("ana@acme.example.com") if "New answer" in m["Subject"]][0]
    assert answer["Reply-To"] == mailbox.username

    # The customer presses Reply in their mail program.
    reply = EmailMessage()
    reply["From"], reply["To"] = "Ana <ana@acme.example.com>", answer["Reply-To"]
    reply["Subject"] = "Re: " + answer["Subject"]
    reply["Message-ID"] = make_msgid(domain="acme.example.com")
    reply["In-Reply-To"] = reply["References"] = answer["Message-ID"]
    quoted = "\n".join("> " + line for line in answer.get_body(("plain",)).get_content().splitlines())
    reply.set_content(f"Firefox 140.\n\nOn Wed, Dec 2, 2026 at 10:05 AM Support <{mailbox.username}> wrote:\n{quoted}\n")
    dovecot.append(mailbox.username, bytes(reply))
    assert "1 reply" in _fetch(channel)
    db.session.refresh(ticket)
    assert [(m.author_id, m.body) for m in ticket.messages] == [(agent.id, "Which browser do you use?"),
                                                                 (customer.id, "Firefox 140.")]
    outbox.deliver_due()
    assert [m["Subject"] for m in smtp.to("sam@example.com")] == \
        [f"[{ticket.reference}] The customer answered: Export fails on Mondays"]


def test_a_message_that_cannot_be_taken_now_stays_in_the_mailbox(make_app, channel, mailbox, dovecot, tmp_path):
    gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme"))
    dovecot.append(mailbox.username, letter("ana@acme.example.com", "Kept", "Until the database is back.",
                                            to=mailbox.username))
    down = make_app(**_imap_settings(mailbox), DATABASE_URL=f"sqlite:///{tmp_path}/missing/folder/portal.db")
    with down.app_context():
        result = down.test_cli_runner().invoke(args=["mail", "fetch"])
        db.session.remove()
    assert "took 0, left 1 for later (1 error)" in result.output
    assert len(dovecot.messages(mailbox.username)) == 1  # still there, for the next run
    with channel.app_context():
        assert "1 ticket" in _fetch(channel)
    assert dovecot.messages(mailbox.username) == []


def test_two_servers_fetching_at_once_make_each_ticket_once(channel, mailbox, dovecot):
    gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme"))
    for i in range(12):
        dovecot.append(mailbox.username, letter("ana@acme.example.com", f"Question {i}", "Hello.", to=mailbox.username))
    [box] = imap.mailboxes_from_config(channel.config)

    def server(i):
        fetched = imap.fetch(box, handler(channel, box))
        leftover = imap.fetch(box, handler(channel, box))  # what it left (the other server held the writer)
        return fetched.taken + leftover.taken

    results, failures = run_in_threads(channel, 2, server)
    assert failures == []
    imap.fetch(box, handler(channel, box))  # anything either left is taken at the next run
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 12
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 12
    assert dovecot.messages(mailbox.username) == []


def _env(database_url, tmp_path, **extra) -> dict:
    return {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTAL_KB_AUTO_REINDEX": "false", "PORTAL_MAIL_SENDER": "support@example.com",
            **{f"PORTAL_{k}": str(v) for k, v in extra.items()}}


def test_portal_mail_receive_speaks_to_the_mail_server_in_exit_codes(channel, database_url, tmp_path):
    gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme"))
    db.session.remove()
    raw = letter("ana@acme.example.com", "Piped", "From Postfix.")
    taken = subprocess.run([PORTAL, "mail", "receive"], input=raw, capture_output=True,
                           env=_env(database_url, tmp_path), timeout=60)
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.decode().startswith("ticket 20")
    again = subprocess.run([PORTAL, "mail", "receive"], input=raw, capture_output=True,
                           env=_env(database_url, tmp_path), timeout=60)
    assert (again.returncode, again.stdout.decode().split()[0]) == (0, "duplicate")
    down = subprocess.run([PORTAL, "mail", "receive"], input=letter("ana@acme.example.com", "Later", "Retry me."),
                          capture_output=True, timeout=60,
                          env=_env(f"sqlite:///{tmp_path}/missing/folder/portal.db", tmp_path))
    assert down.returncode == 75  # EX_TEMPFAIL: the mail server keeps it and tries again
    assert b"try again later" in down.stderr


def test_portal_worker_watches_the_mailbox_and_sends_the_acknowledgement(channel, smtp, mailbox, dovecot,
                                                                         database_url, tmp_path):
    gen_user(Role.CUSTOMER, email="ana@acme.example.com", org=gen_org("Acme"))
    db.session.remove()
    env = _env(database_url, tmp_path, **smtp.settings(), **_imap_settings(mailbox))
    worker = subprocess.Popen([PORTAL, "worker", "--poll", "0.2"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1)  # the watch is idling now: the message arrives while it waits
        dovecot.append(mailbox.username, letter("ana@acme.example.com", "While idling", "Hello.", to=mailbox.username))
        deadline = time.monotonic() + 30
        while not smtp.to("ana@acme.example.com") and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        [ack] = smtp.to("ana@acme.example.com")
        assert "We received your ticket: While idling" in ack["Subject"]
        worker.terminate()
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert dovecot.messages(mailbox.username) == []
