"""Taking mail from IMAP mailboxes, against a real Dovecot (tests/mail/conftest.py)."""

from __future__ import annotations

import dataclasses
import logging
import queue
import ssl
import threading
import time

import pytest

from portal.mail import imap
from portal.mail.imap import FetchResult, Mailbox, MailboxError, fetch, mailboxes_from_config, watch
from tests.servers.dovecot import free_port


def message(number: int, body: bytes = b"Hello.") -> bytes:
    """As a mail server delivers it: CRLF lines, a folded header, 8-bit bytes left as they came."""
    return (b"From: Customer <customer@example.com>\r\n"
            b"To: support@portal.test\r\n"
            b"Subject: Question %d,\r\n  folded\r\n"
            b"Message-ID: <%d@example.com>\r\n"
            b"Content-Type: text/plain; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            b"%s Caf\xe9 \r\n" % (number, number, body))


def taking_all(handed: list):
    def handle(raw: bytes) -> bool:
        handed.append(raw)
        return True
    return handle


def test_fetch_takes_each_message_oldest_first_with_its_exact_bytes(dovecot, mailbox):
    sent = [message(n) for n in range(3)]
    for raw in sent:
        dovecot.append(mailbox.username, raw)
    handed = []
    assert fetch(mailbox, taking_all(handed)) == FetchResult(taken=3, left=0, failed=0)
    assert handed == sent
    assert dovecot.messages(mailbox.username, "Processed") == sent
    assert dovecot.messages(mailbox.username) == []
    assert fetch(mailbox, taking_all(handed)) == FetchResult(0, 0, 0)


def test_a_message_not_stored_stays_unseen_and_is_handed_again(dovecot, mailbox, caplog):
    sent = [message(n) for n in range(3)]
    for raw in sent:
        dovecot.append(mailbox.username, raw)

    def handle(raw: bytes) -> bool:
        if raw == sent[1]:
            return False  # "not now"
        if raw == sent[2]:
            raise RuntimeError("the database is down")
        return True

    with caplog.at_level(logging.ERROR, logger="portal.mail.imap"):
        assert fetch(mailbox, handle) == FetchResult(taken=1, left=1, failed=1)
    assert "UID 3" in caplog.text and "the database is down" in caplog.text
    assert dovecot.messages(mailbox.username) == sent[1:]
    assert all("\\Seen" not in flags for flags in dovecot.flags(mailbox.username))
    assert dovecot.messages(mailbox.username, "Processed") == sent[:1]
    handed = []
    assert fetch(mailbox, taking_all(handed)) == FetchResult(taken=2)
    assert handed == sent[1:]


def test_limit_hands_at_most_that_many(dovecot, mailbox):
    for n in range(3):
        dovecot.append(mailbox.username, message(n))
    handed = []
    assert fetch(mailbox, taking_all(handed), limit=2) == FetchResult(taken=2)
    assert handed == [message(0), message(1)] and len(dovecot.messages(mailbox.username)) == 1


def test_without_a_processed_folder_taken_messages_are_flagged_seen(dovecot, mailbox):
    mailbox = dataclasses.replace(mailbox, processed_folder=None)
    dovecot.append(mailbox.username, message(1))
    handed = []
    assert fetch(mailbox, taking_all(handed)) == FetchResult(taken=1)
    assert dovecot.flags(mailbox.username) == [{"\\Seen"}] and dovecot.folders(mailbox.username) == ["INBOX"]
    assert fetch(mailbox, taking_all(handed)) == FetchResult() and handed == [message(1)]


def test_without_move_it_copies_flags_and_expunges(dovecot, mailbox, monkeypatch):
    refresh = imap._refresh_capabilities

    def without_move(client):
        refresh(client)
        client.capabilities = tuple(c for c in client.capabilities if c != "MOVE")

    monkeypatch.setattr(imap, "_refresh_capabilities", without_move)
    for n in range(2):
        dovecot.append(mailbox.username, message(n))
    assert fetch(mailbox, taking_all([])) == FetchResult(taken=2)
    assert dovecot.messages(mailbox.username) == []
    assert dovecot.messages(mailbox.username, "Processed") == [message(0), message(1)]


@pytest.mark.parametrize("security", ["starttls", "none"])
def test_starttls_and_plain_imap_on_the_plain_port(dovecot, mailbox, security):
    mailbox = dataclasses.replace(mailbox, security=security, port=dovecot.port)
    dovecot.append(mailbox.username, message(1))
    assert fetch(mailbox, taking_all([])) == FetchResult(taken=1)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_the_cafile_does_not_vouch_for_is_refused(dovecot, mailbox, security):
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    mailbox = dataclasses.replace(mailbox, security=security, port=port, cafile=None)  # the system's CAs
    dovecot.append(mailbox.username, message(1))
    with pytest.raises(MailboxError, match=rf'^mailbox "{mailbox.name}": the TLS certificate of 127.0.0.1:{port} '
                                           r"is not trusted: self-signed certificate") as caught:
        fetch(mailbox, taking_all([]))
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert len(dovecot.messages(mailbox.username)) == 1


def test_a_wrong_password_is_one_clear_error(mailbox):
    mailbox = dataclasses.replace(mailbox, password="wrong")
    with pytest.raises(MailboxError) as caught:
        fetch(mailbox, taking_all([]))
    assert str(caught.value) == (f'mailbox "{mailbox.name}": login as {mailbox.username} failed: '
                                 "[AUTHENTICATIONFAILED] Authentication failed.")
    assert caught.value.__suppress_context__ and caught.value.mailbox == mailbox.name


def test_nobody_listening_is_a_mailbox_error(mailbox):
    mailbox = dataclasses.replace(mailbox, port=free_port())
    with pytest.raises(MailboxError, match=r"cannot connect to 127\.0\.0\.1:\d+: .*refused"):
        fetch(mailbox, taking_all([]))


def test_two_fetchers_at_once_lose_nothing_and_move_each_message_once(dovecot, mailbox):
    # The real grace (2 s): a shorter one lets a slow runner's second fetcher take over a claim whose
    # MOVE is still under way, and Processed would get the message twice.
    sent = [message(n) for n in range(20)]
    for raw in sent:
        dovecot.append(mailbox.username, raw)
    handed, errors, results = [], [], []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait(5)
            results.append(fetch(mailbox, taking_all(handed)))
        except Exception as error:  # collected: asserted on below
            errors.append(repr(error))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert set(handed) == set(sent)  # a message may be handed twice: the processing layer dedupes
    assert sum(r.taken for r in results) == len(handed)
    assert sorted(dovecot.messages(mailbox.username, "Processed")) == sorted(sent)
    assert dovecot.messages(mailbox.username) == []


def test_a_claim_left_by_a_fetcher_that_died_is_taken_over(dovecot, mailbox, monkeypatch):
    monkeypatch.setattr(imap, "CLAIM_GRACE_SECONDS", 0.1)
    dovecot.append(mailbox.username, message(1), flags=(imap.CLAIM_KEYWORD,))  # claimed, never moved
    dovecot.append(mailbox.username, message(2))
    handed = []
    assert fetch(mailbox, taking_all(handed)) == FetchResult(taken=2)
    assert handed == [message(2), message(1)]  # the unclaimed one first, the orphan after the grace
    assert dovecot.messages(mailbox.username) == []
    assert dovecot.messages(mailbox.username, "Processed") == [message(2), message(1)]


def _watching(mailbox: Mailbox, handle, **options):
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=([mailbox], handle), kwargs={"stop": stop, **options})
    thread.start()
    return stop, thread


def _stopped_within(stop: threading.Event, thread: threading.Thread) -> float:
    started = time.monotonic()
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    return time.monotonic() - started


def test_watch_takes_new_mail_as_it_arrives_through_idle(dovecot, mailbox):
    handed = queue.Queue()

    def handle(raw: bytes) -> bool:
        handed.put(raw)
        return True

    dovecot.append(mailbox.username, message(1))
    # Polling and renewing only every 10 minutes: what arrives within seconds came through IDLE.
    stop, thread = _watching(mailbox, handle, idle_seconds=600, poll_seconds=600)
    try:
        assert handed.get(timeout=5) == message(1)  # the first fetch
        dovecot.append(mailbox.username, message(2))
        assert handed.get(timeout=5) == message(2)
    finally:
        assert _stopped_within(stop, thread) < 2
    assert dovecot.messages(mailbox.username, "Processed") == [message(1), message(2)]


@pytest.mark.parametrize("security", ["ssl", "none"])
def test_watch_sees_mail_that_came_just_before_idle_began(dovecot, mailbox, monkeypatch, security):
    """The server then says "* 2 EXISTS" right behind "+ idling": already read into a buffer,
    where polling the socket cannot see it."""
    if security == "none":
        mailbox = dataclasses.replace(mailbox, security="none", port=dovecot.port)
    idle, arrivals = imap._idle, [message(2)]

    def mail_arrives_then_idle(box, stop, seconds):
        if arrivals:
            dovecot.append(mailbox.username, arrivals.pop())
        idle(box, stop, seconds)

    monkeypatch.setattr(imap, "_idle", mail_arrives_then_idle)
    handed = queue.Queue()
    stop, thread = _watching(mailbox, lambda raw: handed.put(raw) or True, idle_seconds=600, poll_seconds=600)
    try:
        assert handed.get(timeout=5) == message(2)
    finally:
        assert _stopped_within(stop, thread) < 2


def test_watch_polls_a_server_without_idle(dovecot, mailbox, monkeypatch):
    refresh = imap._refresh_capabilities

    def without_idle(client):
        refresh(client)
        client.capabilities = tuple(c for c in client.capabilities if c != "IDLE")

    monkeypatch.setattr(imap, "_refresh_capabilities", without_idle)
    handed = queue.Queue()
    stop, thread = _watching(mailbox, lambda raw: handed.put(raw) or True, poll_seconds=0.2)
    try:
        dovecot.append(mailbox.username, message(1))
        assert handed.get(timeout=5) == message(1)
    finally:
        assert _stopped_within(stop, thread) < 2


def test_watch_reports_connection_errors_and_keeps_trying(mailbox, caplog):
    mailbox = dataclasses.replace(mailbox, port=free_port())
    errors = queue.Queue()
    with caplog.at_level(logging.WARNING, logger="portal.mail.imap"):
        stop, thread = _watching(mailbox, taking_all([]), on_error=lambda box, error: errors.put((box, error)))
        try:
            for _ in range(2):  # the first try, and the retry a second later
                box, error = errors.get(timeout=5)
                assert box == mailbox and isinstance(error, MailboxError)
        finally:
            assert _stopped_within(stop, thread) < 2
    assert "cannot connect" in caplog.text and "Traceback" not in caplog.text


# -- settings ------------------------------------------------------------------------------------


def test_the_default_mailbox_from_environment_style_settings():
    # As from_prefixed_env reads PORTAL_MAIL_IMAP_*: JSON-looking values arrive as numbers.
    config = {"MAIL_IMAP_HOST": "imap.example.com", "MAIL_IMAP_USERNAME": "support@example.com",
              "MAIL_IMAP_PASSWORD": 123456, "MAIL_IMAP_SECURITY": "starttls", "MAIL_IMAP_PROCESSED_FOLDER": ""}
    assert mailboxes_from_config(config) == [
        Mailbox(name="default", host="imap.example.com", port=143, security="starttls",
                username="support@example.com", password="123456", processed_folder=None)]
    config.update(MAIL_IMAP_SECURITY="ssl", MAIL_IMAP_PORT="1993", MAIL_IMAP_FOLDER="Support",
                  MAIL_IMAP_PROCESSED_FOLDER="Support/Done")
    (box,) = mailboxes_from_config(config)
    assert (box.port, box.security, box.folder, box.processed_folder) == (1993, "ssl", "Support", "Support/Done")
    assert "123456" not in repr(box)
    assert mailboxes_from_config({"MAIL_IMAP_HOST": None}) == []


MAILBOXES = """\
[[mailboxes]]
name = "support"
host = "imap.example.com"
username = "support@example.com"
password = "s3cret"

[[mailboxes]]
name = "sales"
host = "mail.example.com"
port = 10143
security = "none"
username = "sales"
password_env = "SALES_IMAP_PASSWORD"
folder = "Sales"
processed_folder = false
cafile = "{cafile}"
"""


def test_mailboxes_from_a_toml_file(tmp_path):
    cafile = tmp_path / "ca.pem"
    cafile.write_text("a CA bundle\n")  # read only when connecting
    path = tmp_path / "mailboxes.toml"
    path.write_text(MAILBOXES.format(cafile=cafile))
    config = {"MAIL_MAILBOXES_FILE": str(path), "MAIL_IMAP_HOST": "imap.example.com",
              "MAIL_IMAP_USERNAME": "u", "MAIL_IMAP_PASSWORD": "p"}
    default, support, sales = mailboxes_from_config(config, environ={"SALES_IMAP_PASSWORD": "from-env"})
    assert default.name == "default"
    assert support == Mailbox(name="support", host="imap.example.com", port=993, security="ssl",
                              username="support@example.com", password="s3cret")
    assert sales == Mailbox(name="sales", host="mail.example.com", port=10143, security="none", username="sales",
                            password="from-env", folder="Sales", processed_folder=None, cafile=str(cafile))


@pytest.mark.parametrize("table, error", [
    ('security = "tls"', 'mailbox "sales": security must be ssl, starttls or none'),
    ("port = 0", 'mailbox "sales": port must be a number from 1 to 65535'),
    ('port = "imap"', 'mailbox "sales": port must be a number from 1 to 65535'),
    ('hots = "x"', 'mailbox "sales": unknown field "hots"'),
    ('password_env = "NOT_SET"', 'mailbox "sales": password_env names NOT_SET, which is not set'),
    ('password = "a"\npassword_env = "SET"', 'mailbox "sales": password and password_env are both given'),
    ("", 'mailbox "sales": password is required \\(or password_env'),
    ('password = "a"\nprocessed_folder = "INBOX"', 'mailbox "sales": processed_folder must differ'),
    ('password = "a"\ncafile = "/nonexistent.pem"', 'mailbox "sales": cafile /nonexistent.pem is not a file'),
    ('password = "a"\ntimeout = -1', 'mailbox "sales": timeout must be a number of seconds above 0'),
])
def test_bad_mailbox_settings_name_the_mailbox_and_the_field(tmp_path, table, error):
    path = tmp_path / "mailboxes.toml"
    path.write_text(f'[[mailboxes]]\nname = "sales"\nhost = "h"\nusername = "u"\n{table}\n')
    with pytest.raises(ValueError, match=f"^{error}.*in {path}"):
        mailboxes_from_config({"MAIL_MAILBOXES_FILE": str(path)}, environ={"SET": "x"})


@pytest.mark.parametrize("text, error", [
    ('[[mailboxes]]\nhost = "h"\n', "mailbox 1 needs a name"),
    ('[[mailbox]]\nname = "a"\n', r"expected only \[\[mailboxes\]\] tables"),
    ("[[mailboxes]\n", "Expected"),
])
def test_a_malformed_mailboxes_file_names_the_file(tmp_path, text, error):
    path = tmp_path / "mailboxes.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"{path}: .*{error}"):
        mailboxes_from_config({"MAIL_MAILBOXES_FILE": str(path)})
    with pytest.raises(ValueError, match=f"MAIL_MAILBOXES_FILE {tmp_path / 'missing.toml'}: .*No such file"):
        mailboxes_from_config({"MAIL_MAILBOXES_FILE": str(tmp_path / "missing.toml")})


def test_bad_environment_style_settings_name_the_variable(tmp_path):
    settings = {"MAIL_IMAP_HOST": "h", "MAIL_IMAP_USERNAME": "u", "MAIL_IMAP_PASSWORD": "p"}
    with pytest.raises(ValueError, match='^mailbox "default": MAIL_IMAP_SECURITY must be ssl, starttls or none$'):
        mailboxes_from_config({**settings, "MAIL_IMAP_SECURITY": "tls"})
    with pytest.raises(ValueError, match='^mailbox "default": MAIL_IMAP_USERNAME is required$'):
        mailboxes_from_config({**settings, "MAIL_IMAP_USERNAME": ""})
    path = tmp_path / "mailboxes.toml"
    path.write_text('[[mailboxes]]\nname = "default"\nhost = "h"\nusername = "u"\npassword = "p"\n')
    with pytest.raises(ValueError, match='^mailbox "default" is defined twice$'):
        mailboxes_from_config({**settings, "MAIL_MAILBOXES_FILE": str(path)})
