"""The outbox: mail is saved with the change that causes it and delivered by workers, with
retries, against a real SMTP server on 127.0.0.1 (aiosmtpd) that goes down and comes back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import mail
from portal.auth.models import Role
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import DeliveryAttempt, OutboxMessage
from portal.tickets import services
from portal.tickets.models import Ticket
from tests.conftest import run_in_threads
from tests.factories import gen_ticket, gen_user


@pytest.fixture
def mail_app(make_app, smtp):
    app = make_app(**smtp.settings(), MAIL_SENDER="Support <support@example.com>", MAIL_MAX_ATTEMPTS=4)
    with app.app_context():
        yield app
        db.session.remove()


def _queue(n: int, prefix: str = "user", at=None) -> list[str]:
    from tests.conftest import DEFAULT_INSTANT

    ids = [mail.queue(f"{prefix}{i}@example.com", f"Message {i}", "Hello.", now=at or DEFAULT_INSTANT).message_id
           for i in range(n)]
    db.session.commit()
    return ids


def _rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_change_and_its_mail_are_saved_together_or_not_at_all(mail_app, smtp):
    mail.queue("ana@example.com", "Never sent", "The change was rolled back.")
    db.session.rollback()
    assert _rows() == []
    # The same form submitted twice at once: one ticket, one acknowledgement.
    customer_id = gen_user(Role.CUSTOMER, email="ana@example.com").id
    draft = dict(category="question", subject="Twice at once", description="Submitted twice by a double click.",
                 impact="low", urgency="low", submission_key="same-key")

    def submit(_):
        from portal.auth.models import User

        return services.file_ticket(db.session.get(User, customer_id), services.TicketDraft(**draft)).reference

    references, failures = run_in_threads(mail_app, 4, submit)
    assert failures == [] and len(set(references)) == 1
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert [(r.recipient, r.thread) for r in _rows()] == [("ana@example.com", references[0])]


def test_each_attempt_is_recorded_and_the_wait_doubles(mail_app, smtp, now):
    smtp.stop()
    [message_id] = _queue(1)
    assert outbox.deliver_due(now=now, worker="w1") == outbox.Report(retrying=1)
    [row] = _rows()
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 1, now + timedelta(seconds=60))
    assert outbox.deliver_due(now=now + timedelta(seconds=59)) == outbox.Report()  # not due yet
    assert outbox.deliver_due(now=now + timedelta(seconds=60), worker="w2") == outbox.Report(retrying=1)
    [row] = _rows()
    assert row.next_attempt_at == now + timedelta(seconds=60 + 120)
    smtp.start()
    assert outbox.deliver_due(now=now + timedelta(seconds=180), worker="w3") == outbox.Report(sent=1)
    [row] = _rows()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 3, now + timedelta(seconds=180), None)
    assert [(a.worker, a.ok) for a in row.delivery_attempts] == [("w1", False), ("w2", False), ("w3", True)]
    assert "cannot reach 127.0.0.1" in row.delivery_attempts[0].error
    assert [m["Message-ID"] for m in smtp.messages] == [message_id]  # the same Message-ID as queued


def test_an_hour_without_smtp_loses_nothing(make_app, smtp, now):
    """The default schedule (1, 2, 4, 8, … minutes, at most an hour, ten tries) outlasts an hour's outage."""
    app = make_app(**smtp.settings())
    with app.app_context():
        smtp.stop()
        ids = _queue(30)
        moment = now
        while moment < now + timedelta(hours=1):  # a worker looking every five minutes
            assert outbox.deliver_due(now=moment).sent == 0
            moment += timedelta(minutes=5)
        smtp.start()
        while outbox.counts().get("queued") and moment < now + timedelta(hours=4):
            outbox.deliver_due(now=moment)
            moment += timedelta(minutes=5)
        assert outbox.counts() == {"sent": 30}
        assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids)  # each once
        db.session.remove()


def test_after_the_last_attempt_admins_see_it_and_can_retry_or_discard(mail_app, smtp, now):
    smtp.stop()
    _queue(2)
    moment = now
    for _ in range(4):  # MAIL_MAX_ATTEMPTS=4
        outbox.deliver_due(now=moment)
        moment += timedelta(hours=1)
    assert outbox.counts() == {"failed": 2}
    first, second = outbox.failed()[::-1]
    assert first.attempts == 4 and "cannot reach" in first.last_error
    smtp.start()
    assert outbox.retry(first.id, now=moment) and not outbox.retry(first.id, now=moment)  # once
    assert outbox.discard(second.id) and not outbox.discard(second.id)
    assert outbox.deliver_due(now=moment) == outbox.Report(sent=1)
    assert [m["To"] for m in smtp.messages] == ["user0@example.com"]
    assert outbox.counts() == {"sent": 1, "discarded": 1}
    first = db.session.get(OutboxMessage, first.id)
    assert len(first.delivery_attempts) == 5  # the history is kept across the retry


def test_a_refused_recipient_fails_at_once_and_the_others_go(mail_app, smtp, now):
    smtp.refuse["user1@example.com"] = "550 5.1.1 No such user here"
    _queue(3)
    assert outbox.deliver_due(now=now) == outbox.Report(sent=2, failed=1)
    refused = [r for r in _rows() if r.status == "failed"][0]
    assert refused.recipient == "user1@example.com" and refused.attempts == 1
    assert refused.last_error == "550 5.1.1 No such user here"
    # A temporary refusal (4xx) is tried again.
    smtp.refuse["user2@example.com"] = "451 4.3.0 Try again later"
    mail.queue("user2@example.com", "Later", "Hello.", now=now)
    db.session.commit()
    assert outbox.deliver_due(now=now) == outbox.Report(retrying=1)


def test_several_workers_never_send_a_message_twice(mail_app, smtp, now):
    mail_app.config["MAIL_BATCH"] = 7
    ids = _queue(120)
    results, failures = run_in_threads(mail_app, 4, lambda i: outbox.deliver_due(now=now, worker=f"w{i}"))
    assert failures == []
    assert sum(r.sent for r in results) == 120 and sum(r.retrying + r.failed for r in results) == 0
    assert sorted(m["Message-ID"] for m in smtp.messages) == sorted(ids)
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 120


def test_a_crashed_workers_claim_is_taken_over_when_its_lease_ends(mail_app, smtp, now):
    _queue(3)
    assert len(outbox.claim("crashed", now, 10)) == 3  # and then it died
    assert outbox.deliver_due(now=now + timedelta(seconds=299)) == outbox.Report()
    assert outbox.deliver_due(now=now + timedelta(seconds=301), worker="w2") == outbox.Report(sent=3)
    assert {a.worker for r in _rows() for a in r.delivery_attempts} == {"w2"}


def test_notifications_carry_reply_to_thread_and_say_they_are_automatic(mail_app, smtp):
    mail_app.config["MAIL_REPLY_TO"] = "help@example.com"
    customer = gen_user(Role.CUSTOMER, email="ana@example.com")
    ticket = gen_ticket(customer)
    agent = gen_user(Role.AGENT, email="sam@example.com")
    services.reply(ticket, agent, "Which browser do you use?")
    outbox.deliver_due()
    ack, answer = smtp.to("ana@example.com")
    assert ack["Reply-To"] == answer["Reply-To"] == "help@example.com"
    assert ack["Auto-Submitted"] == "auto-generated" and answer["Auto-Submitted"] is None  # a person wrote it
    assert answer["In-Reply-To"] == ack["Message-ID"] and answer["References"] == ack["Message-ID"]
    assert [r.thread for r in _rows()] == [ticket.reference, ticket.reference]
    from_, recipients = smtp.envelopes[0]
    assert from_ == "support@example.com" and recipients == ["ana@example.com"]


def test_portal_mail_send_reports_what_it_did(mail_app, smtp):
    _queue(2)
    smtp.refuse["user1@example.com"] = "550 No"
    result = mail_app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0 and result.output == "Sent 1, retrying 0 later, given up on 1.\n"
    result = mail_app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.output == "Sent 0, retrying 0 later, given up on 0.\n"


def test_portal_worker_delivers_until_sigterm(make_app, smtp, tmp_path, database_url):
    """The real long-running process, on this test's database."""
    app = make_app(**smtp.settings())
    with app.app_context():
        _queue(1)
        db.session.remove()
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "PORTAL_MAIL_BACKEND": "smtp", "PORTAL_MAIL_SERVER": "127.0.0.1", "PORTAL_MAIL_PORT": str(smtp.port),
           "PORTAL_KB_AUTO_REINDEX": "false"}
    worker = subprocess.Popen([str(Path(sys.executable).with_name("portal")), "worker", "--poll", "0.2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not smtp.messages and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        assert [m["To"] for m in smtp.messages] == ["user0@example.com"]
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output
    assert "Sent 1, retrying 0 later, given up on 0." in output


def test_admins_see_failed_mail_and_send_it_again_or_discard_it(mail_app, smtp, now):
    from tests.conftest import AuthActions, IsolatedClient, csrf_token

    mail_app.test_client_class = IsolatedClient
    client = mail_app.test_client()
    auth = AuthActions(client)
    smtp.refuse["user0@example.com"] = "550 5.1.1 No such user"
    smtp.refuse["user1@example.com"] = "550 5.1.1 No such user"
    _queue(2)
    outbox.deliver_due(now=now)
    first, second = _rows()
    auth.login(gen_user(Role.AGENT).email)
    assert client.get("/agent/email/outbox").status_code == 403
    auth.logout()
    auth.login(gen_user(Role.ADMIN).email)
    page = client.get("/agent/email/outbox").get_data(as_text=True)
    assert "user0@example.com" in page and "550 5.1.1 No such user" in page
    assert client.post(f"/agent/email/outbox/{first.id}/retry").status_code == 400  # no CSRF token
    token = csrf_token(client, "/agent/email/outbox")
    assert client.post(f"/agent/email/outbox/{first.id}/retry", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/agent/email/outbox/{second.id}/discard", data={"csrf_token": token}).status_code == 302
    again = client.post(f"/agent/email/outbox/{second.id}/discard", data={"csrf_token": token}, follow_redirects=True)
    assert "no longer waiting" in again.get_data(as_text=True)
    smtp.refuse.clear()
    assert outbox.deliver_due(now=now + timedelta(minutes=1)) == outbox.Report(sent=1)
    assert outbox.counts() == {"sent": 1, "discarded": 1}



def test_a_claim_that_ran_out_is_not_sent_by_its_first_worker(mail_app, smtp, now):
    """A worker whose lease ended (a slow relay) leaves the message to the worker that took it over."""
    _queue(1)
    assert outbox.claim("slow", now, 10)
    assert outbox.claim("fast", now + timedelta(seconds=301), 10)  # the lease ran out: taken over
    later = now + timedelta(seconds=302)
    assert outbox._deliver([1], "slow", later, claimed_at=now) == outbox.Report()  # slow gets to it only now
    assert smtp.messages == []
    assert outbox.deliver_due(now=later, worker="fast") == outbox.Report()  # still fast's claim
    assert outbox._deliver([1], "fast", later, claimed_at=now + timedelta(seconds=301)) == outbox.Report(sent=1)
    assert len(smtp.messages) == 1
    # A worker whose claim was taken over while it was sending does not write the outcome.
    _queue(1, prefix="other")
    assert outbox.claim("slow", later, 10) == [2]
    assert outbox.claim("fast", later + timedelta(seconds=301), 10) == [2]
    message = db.session.get(OutboxMessage, 2)
    assert outbox._record(message, "slow", later, None) is None
    assert outbox._record(message, "fast", later, None) == "sent"
