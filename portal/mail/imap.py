"""Inbound mail: take the messages of IMAP mailboxes, one at a time, with imap-tools.

A message is handed to ``handle(raw_bytes)``; only when that says it is safely stored is the
message moved to the mailbox's processed folder (or, without one, flagged \\Seen). Anything
else leaves it where it was, unseen, for the next run: a crash loses nothing and redoes at most
one message, and two fetchers at once hand a message twice at worst (the processing layer
dedupes by Message-ID).

Settings (``mailboxes_from_config``), from the app config or any mapping:

- one mailbox named "default": ``MAIL_IMAP_HOST``, ``_PORT``, ``_SECURITY`` (ssl, starttls,
  none), ``_USERNAME``, ``_PASSWORD``, ``_FOLDER``, ``_PROCESSED_FOLDER`` (empty: flag \\Seen
  instead of moving), ``_CAFILE``, ``_TIMEOUT`` (``PORTAL_MAIL_IMAP_HOST``… in the environment);
- and/or ``MAIL_MAILBOXES_FILE``: a TOML file of ``[[mailboxes]]`` tables with the same fields
  in lower case plus ``name``, and ``password_env`` (the name of an environment variable holding
  the password) instead of ``password``.
"""

from __future__ import annotations

import email
import imaplib
import json
import logging
import os
import re
import ssl
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from pathlib import Path

from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import (
    ImapToolsError,
    MailboxFetchError,
    MailboxFlagError,
    MailboxFolderCreateError,
    MailboxLoginError,
    MailboxStarttlsError,
    UnexpectedCommandStatusError,
)
from imap_tools.utils import check_command_status

log = logging.getLogger(__name__)

SECURITIES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
IDLE_RENEW_SECONDS = 29 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
BACKOFF_MAX_SECONDS = 300

Handler = Callable[[bytes], bool]


@dataclass(frozen=True)
class Mailbox:
    name: str  # a label for logs and the CLI
    host: str
    port: int
    security: str  # "ssl" (IMAPS), "starttls", or "none" (only for 127.0.0.1 tests and trusted networks)
    username: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    processed_folder: str | None = "Processed"  # taken messages move here (created if missing); None: flag \Seen
    cafile: str | None = None  # a CA bundle to verify the server with (default: the system's)
    timeout: float = 30


@dataclass
class FetchResult:
    taken: int = 0  # handled and moved (or flagged)
    left: int = 0  # handle() said "not now": left in the folder for the next run
    failed: int = 0  # handle() raised: left too, logged with the message's UID


class MailboxError(Exception):
    """The server could not be reached, refused us, or broke off: one line, naming the mailbox."""

    def __init__(self, mailbox: str, message: str):
        super().__init__(f'mailbox "{mailbox}": {message}')
        self.mailbox = mailbox


# -- settings ------------------------------------------------------------------------------------

_ENV_FIELDS = ("host", "port", "security", "username", "password", "folder", "processed_folder", "cafile", "timeout")
_FILE_FIELDS = ("name", "password_env", *_ENV_FIELDS)


def mailboxes_from_config(config: Mapping, environ: Mapping[str, str] = os.environ) -> list[Mailbox]:
    """The "default" mailbox of the MAIL_IMAP_* settings, then those of MAIL_MAILBOXES_FILE.
    Bad settings raise a ValueError naming the mailbox and the field."""
    found = []
    if config.get("MAIL_IMAP_HOST"):
        values = {name: config[f"MAIL_IMAP_{name.upper()}"] for name in _ENV_FIELDS
                  if config.get(f"MAIL_IMAP_{name.upper()}") is not None}
        found.append(_mailbox("default", values, environ, label=lambda name: f"MAIL_IMAP_{name.upper()}", where=""))
    if config.get("MAIL_MAILBOXES_FILE"):
        found.extend(_mailboxes_file(Path(config["MAIL_MAILBOXES_FILE"]), environ))
    names = [mailbox.name for mailbox in found]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'mailbox "{name}" is defined twice')
    return found


def _mailboxes_file(path: Path, environ: Mapping[str, str]) -> list[Mailbox]:
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"MAIL_MAILBOXES_FILE {path}: {error}") from None
    tables = data.get("mailboxes", [])
    if set(data) - {"mailboxes"} or not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{path}: expected only [[mailboxes]] tables")
    mailboxes = []
    for number, table in enumerate(tables, start=1):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path}: mailbox {number} needs a name")
        unknown = sorted(set(table) - set(_FILE_FIELDS))
        if unknown:
            raise ValueError(f'mailbox "{name}": unknown field "{unknown[0]}" (in {path})')
        values = {key: value for key, value in table.items() if key != "name"}
        mailboxes.append(_mailbox(name.strip(), values, environ, label=str, where=f" (in {path})"))
    return mailboxes


def _mailbox(name: str, values: dict, environ: Mapping[str, str], *, label: Callable[[str], str], where: str):
    def bad(key: str, problem: str) -> ValueError:
        return ValueError(f'mailbox "{name}": {label(key)} {problem}{where}')

    def text(key: str, default: str | None = None) -> str | None:
        value = values.get(key, default)
        if isinstance(value, bool | int | float):
            value = json.dumps(value)  # from_prefixed_env read "123456" as a number: it was text
        if value is not None and not isinstance(value, str):
            raise bad(key, "must be text")
        return value.strip() if value is not None and key != "password" else value

    host = text("host")
    if not host:
        raise bad("host", "is required")
    security = (text("security", "ssl") or "").lower()
    if security not in SECURITIES:
        raise bad("security", "must be ssl, starttls or none")
    port = values.get("port", DEFAULT_PORTS[security])
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise bad("port", "must be a number from 1 to 65535")
    username = text("username")
    if not username:
        raise bad("username", "is required")
    password, variable = text("password"), text("password_env")
    if password is not None and variable:
        raise bad("password", "and password_env are both given: give one")
    if variable:
        password = environ.get(variable)
        if password is None:
            raise bad("password_env", f"names {variable}, which is not set in the environment")
    if password is None:
        raise bad("password", "is required" + (" (or password_env: the name of an environment variable holding it)"
                                               if where else ""))
    folder = text("folder", "INBOX")
    if not folder:
        raise bad("folder", "must not be empty")
    processed = values.get("processed_folder", "Processed")
    processed = None if processed in (False, "", None) else text("processed_folder", "Processed")
    if processed == folder:
        raise bad("processed_folder", "must differ from the folder it takes messages from")
    cafile = text("cafile") or None
    if cafile and not Path(cafile).is_file():
        raise bad("cafile", f"{cafile} is not a file")
    timeout = values.get("timeout", 30)
    if isinstance(timeout, str):
        try:
            timeout = float(timeout)
        except ValueError:
            pass
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise bad("timeout", "must be a number of seconds above 0")
    return Mailbox(name=name, host=host, port=port, security=security, username=username, password=password,
                   folder=folder, processed_folder=processed, cafile=cafile, timeout=float(timeout))


# -- fetching ------------------------------------------------------------------------------------


def fetch(mailbox: Mailbox, handle: Handler, *, limit: int | None = None) -> FetchResult:
    """Take the messages of the folder, oldest first: each is fetched without setting \\Seen
    (BODY.PEEK[]) and handed to ``handle``; True means it is stored elsewhere, and only then is
    it moved to processed_folder (MOVE, or COPY + \\Deleted + EXPUNGE without MOVE). False or
    an exception leaves it untouched for the next run. At most ``limit`` messages are handed.
    Raises MailboxError when the server cannot be reached or refuses us."""
    with _session(mailbox) as box:
        return _take(box, mailbox, handle, claims=_claims(box, mailbox), limit=limit)


# Two fetchers that MOVE one message at the same moment both copy it (Dovecot does). So a fetcher
# first claims the message with a conditional STORE of this keyword (RFC 7162 CONDSTORE), which
# only one session can make on the message as it was fetched, and only the winner moves it. A
# message found claimed is being moved by another fetcher, or that fetcher died in between:
# after this grace it is taken if still unchanged.
CLAIM_KEYWORD = "$PortalClaimed"
CLAIM_GRACE_SECONDS = 2.0


def _take(box: BaseMailBox, mailbox: Mailbox, handle: Handler, *, claims: bool, limit: int | None = None,
          stop: threading.Event | None = None) -> FetchResult:
    result = FetchResult()

    def done() -> bool:
        handed = result.taken + result.left + result.failed
        return (limit is not None and handed >= limit) or bool(stop and stop.is_set())

    # \Deleted ones await someone's EXPUNGE; without a processed folder, \Seen marks those taken.
    criteria = "UNDELETED" if mailbox.processed_folder else "UNSEEN UNDELETED"
    claimed_elsewhere = []
    for uid in sorted(box.uids(criteria), key=int):
        if done():
            return result
        message = _fetch_one(box.client, uid, modseq=claims)
        if message is None:
            log.debug('mailbox "%s": UID %s was taken by another fetcher', mailbox.name, uid)
        elif claims and CLAIM_KEYWORD in message.flags:
            claimed_elsewhere.append(message)
        else:
            _take_one(box, mailbox, handle, message, result, claims)
    if claimed_elsewhere and not done():
        (stop.wait if stop else time.sleep)(CLAIM_GRACE_SECONDS)
        for seen in claimed_elsewhere:
            if done():
                break
            message = _fetch_one(box.client, seen.uid, modseq=True)
            if message is not None and message.modseq == seen.modseq:  # its claimer is gone
                _take_one(box, mailbox, handle, message, result, claims)
    return result


def _take_one(box: BaseMailBox, mailbox: Mailbox, handle: Handler, message: _RawMessage, result: FetchResult,
              claims: bool) -> None:
    uid = message.uid
    try:
        stored = handle(message.raw)
    except Exception:
        log.exception('mailbox "%s": could not process UID %s; it stays in %s for the next run',
                      mailbox.name, uid, mailbox.folder)
        result.failed += 1
        return
    if not stored:
        result.left += 1
        return
    client = box.client
    if mailbox.processed_folder is None:
        # Not imap-tools' flag(): that also EXPUNGEs whatever anyone flagged \Deleted.
        check_command_status(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), MailboxFlagError)
    elif claims and not _claim(client, message):
        log.debug('mailbox "%s": UID %s was claimed by another fetcher meanwhile', mailbox.name, uid)
    else:
        try:
            # Moved by another fetcher meanwhile: Dovecot says OK (nothing to move) or EXPUNGEISSUED.
            box.move(uid, mailbox.processed_folder)
        except UnexpectedCommandStatusError as error:
            if not _expunged(error):
                if claims:
                    _unclaim(client, uid)
                raise
        log.info('mailbox "%s": took UID %s', mailbox.name, uid)
    result.taken += 1


class _RawMessage(MailMessage):
    """The exact bytes the server sent (``raw``); parsing is the processing layer's business."""

    def __init__(self, fetch_data: list):
        self.raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)

    @cached_property
    def obj(self) -> Message:
        return email.message_from_bytes(self.raw)

    @cached_property
    def modseq(self) -> int | None:
        for item in self._raw_flag_data:
            found = re.search(rb"MODSEQ \((\d+)\)", item)
            if found:
                return int(found.group(1))
        return None


def _fetch_one(client: imaplib.IMAP4, uid: str, *, modseq: bool) -> _RawMessage | None:
    """One message, or None when another session moved it since our SEARCH. Not imap-tools'
    fetch(): it cannot ask for MODSEQ, and it would mix in the unsolicited FETCH responses
    (other sessions' flag changes) that the server sends along."""
    result = client.uid("FETCH", uid, f"(UID FLAGS{' MODSEQ' if modseq else ''} BODY.PEEK[])")
    try:
        check_command_status(result, MailboxFetchError)
    except MailboxFetchError as error:
        if _expunged(error):
            return None
        raise
    items = result[1]
    ours = re.compile(rb"\bUID %s\b" % uid.encode())
    for index, item in enumerate(items):
        # Ours: ("1 (UID 1 FLAGS () BODY[] {22}", b"..."), b")"; a moved one: b"1 (UID 1 BODY[] NIL)".
        if isinstance(item, tuple) and ours.search(item[0]):
            rest = items[index + 1] if index + 1 < len(items) and isinstance(items[index + 1], bytes) else b""
            return _RawMessage([item, rest])
    return None


def _claims(box: BaseMailBox, mailbox: Mailbox) -> bool:
    """Whether to claim before moving: the server has CONDSTORE and takes our keyword (PERMANENTFLAGS,
    from the SELECT). Without, two fetchers at once may both put a message in processed_folder."""
    permanent = b" ".join(box.client.untagged_responses.get("PERMANENTFLAGS", []))
    return (mailbox.processed_folder is not None and "CONDSTORE" in box.client.capabilities
            and (b"\\*" in permanent or CLAIM_KEYWORD.encode() in permanent))


def _claim(client: imaplib.IMAP4, message: _RawMessage) -> bool:
    """True if this session won the message: nobody changed it since we fetched it. Toggling
    the keyword (it is there when a dead claimer left it) always changes the message."""
    if message.modseq is None:
        return True
    sign = "-" if CLAIM_KEYWORD in message.flags else "+"
    client.untagged_responses.pop("MODIFIED", None)
    result = client.uid("STORE", message.uid, f"(UNCHANGEDSINCE {message.modseq})", f"{sign}FLAGS.SILENT",
                        f"({CLAIM_KEYWORD})")
    check_command_status(result, MailboxFlagError)
    return not client.untagged_responses.pop("MODIFIED", None)  # "OK [MODIFIED 7]": someone was first


def _unclaim(client: imaplib.IMAP4, uid: str) -> None:
    """So that the next run takes the message at once, not after the grace (best effort: we are
    failing already)."""
    try:
        client.uid("STORE", uid, "-FLAGS.SILENT", f"({CLAIM_KEYWORD})")
    except (OSError, imaplib.IMAP4.error):
        pass


def _expunged(error: UnexpectedCommandStatusError) -> bool:
    """Another session (a second fetcher) expunged the message since our SEARCH (RFC 5530)."""
    return "EXPUNGEISSUED" in _reason(error)


class _StartTls(BaseMailBox):
    """imap-tools' MailBoxStartTls, but closing the socket when STARTTLS or its certificate fails."""

    def __init__(self, host: str, port: int, timeout: float, ssl_context: ssl.SSLContext):
        self._host, self._port, self._timeout, self._ssl_context = host, port, timeout, ssl_context
        super().__init__()

    def _get_mailbox_client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self._host, self._port, timeout=self._timeout)
        try:
            check_command_status(client.starttls(self._ssl_context), MailboxStarttlsError)
        except BaseException:
            try:
                client.shutdown()
            except OSError:  # a failed handshake already closed the socket
                pass
            raise
        return client


def _connect(mailbox: Mailbox) -> BaseMailBox:
    if mailbox.security == "none":
        return MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=mailbox.timeout)
    context = ssl.create_default_context(cafile=mailbox.cafile)
    if mailbox.security == "starttls":
        return _StartTls(mailbox.host, mailbox.port, mailbox.timeout, context)
    return MailBox(mailbox.host, mailbox.port, timeout=mailbox.timeout, ssl_context=context)


@contextmanager
def _session(mailbox: Mailbox) -> Iterator[BaseMailBox]:
    """Logged in, the folder selected, the processed folder there; IMAP and network failures
    inside become one MailboxError (handle()'s own exceptions are caught before they get here)."""
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        box = _connect(mailbox)
    except ssl.SSLCertVerificationError as error:
        raise MailboxError(mailbox.name, f"the TLS certificate of {where} is not trusted: {error.verify_message}"
                                         + ("" if mailbox.cafile else " (verified with the system's CAs; set cafile?)")
                           ) from error
    except ssl.SSLError as error:
        raise MailboxError(mailbox.name, f"TLS with {where} failed: {error}") from error
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        raise MailboxError(mailbox.name, f"cannot connect to {where}: {_reason(error)}") from error
    try:
        try:
            if (mailbox.username + mailbox.password).isascii():
                box.login(mailbox.username, mailbox.password, initial_folder=None)
            else:
                box.login_utf8(mailbox.username, mailbox.password, initial_folder=None)
        except MailboxLoginError as error:
            raise MailboxError(mailbox.name, f"login as {mailbox.username} failed: {_reason(error)}") from None
        _refresh_capabilities(box.client)
        if mailbox.processed_folder:
            _ensure_folder(box, mailbox.processed_folder)
        try:
            box.folder.set(mailbox.folder)
        except ImapToolsError as error:
            raise MailboxError(mailbox.name, f'cannot open folder "{mailbox.folder}": {_reason(error)}') from None
        yield box
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        raise MailboxError(mailbox.name, f"IMAP with {where} failed: {_reason(error)}") from error
    finally:
        _close(box)


def _refresh_capabilities(client: imaplib.IMAP4) -> None:
    """imaplib keeps the greeting's capabilities; servers offer MOVE and IDLE only after login."""
    typ, data = client.capability()
    if typ == "OK" and data and data[-1]:
        client.capabilities = tuple(data[-1].decode().upper().split())


def _ensure_folder(box: BaseMailBox, folder: str) -> None:
    if box.folder.exists(folder):
        return
    try:
        box.folder.create(folder)
        box.folder.subscribe(folder, True)  # so that people's mail clients show it
    except MailboxFolderCreateError:
        if not box.folder.exists(folder):  # else another fetcher created it a moment ago
            raise


def _close(box: BaseMailBox) -> None:
    try:
        box.logout()
    except Exception:  # a broken connection cannot say goodbye
        pass
    finally:
        if box.client.sock.fileno() != -1:
            try:
                box.client.shutdown()
            except OSError:
                pass


def _reason(error: Exception) -> str:
    """The server's own words ("[AUTHENTICATIONFAILED] Authentication failed.") when it gave some."""
    result = getattr(error, "command_result", None)
    if result and isinstance(result[1], list | tuple):
        words = " ".join(item.decode(errors="replace") if isinstance(item, bytes) else str(item)
                         for item in result[1] if item)
        if words:
            return words
    return str(error) or type(error).__name__


# -- watching ------------------------------------------------------------------------------------


def watch(mailboxes: list[Mailbox], handle: Handler, *, stop: threading.Event, idle_seconds: int = 300,
          poll_seconds: int = 60, on_error: Callable[[Mailbox, Exception], None] | None = None) -> None:
    """Fetch each mailbox, then wait for new mail with IDLE where the server offers it (renewed
    every ``idle_seconds``, at most 29 minutes), else poll every ``poll_seconds``; until ``stop``
    is set, then return within about a second. Errors are logged, passed to ``on_error`` and
    retried with backoff; they never end the loop. One thread per mailbox."""
    if len(mailboxes) == 1:
        _watch_one(mailboxes[0], handle, stop, idle_seconds, poll_seconds, on_error)
        return
    threads = [threading.Thread(target=_watch_one, name=f"imap-{mailbox.name}",
                                args=(mailbox, handle, stop, idle_seconds, poll_seconds, on_error))
               for mailbox in mailboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _watch_one(mailbox: Mailbox, handle: Handler, stop: threading.Event, idle_seconds: float,
               poll_seconds: float, on_error) -> None:
    failures = 0
    while not stop.is_set():
        try:
            with _session(mailbox) as box:
                idle, claims = "IDLE" in box.client.capabilities, _claims(box, mailbox)
                while not stop.is_set():
                    _take(box, mailbox, handle, claims=claims, stop=stop)
                    box.client.untagged_responses.clear()  # imaplib keeps them all: days of EXPUNGEs
                    failures = 0
                    if idle:
                        _idle(box, stop, min(idle_seconds, IDLE_RENEW_SECONDS))
                    else:
                        stop.wait(poll_seconds)
        except Exception as error:
            failures += 1
            delay = min(2 ** (failures - 1), BACKOFF_MAX_SECONDS)
            if isinstance(error, MailboxError):
                log.warning("%s; retrying in %s s", error, delay)
            else:
                log.exception('mailbox "%s": unexpected error; retrying in %s s', mailbox.name, delay)
            if on_error is not None:
                try:
                    on_error(mailbox, error)
                except Exception:
                    log.exception('mailbox "%s": on_error failed', mailbox.name)
            stop.wait(delay)


def _idle(box: BaseMailBox, stop: threading.Event, seconds: float) -> None:
    """IDLE until the server says something (new mail), ``seconds`` pass, or stop is set."""
    deadline = time.monotonic() + seconds
    box.idle.start()
    try:
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if _unread(box.client):
                break
            slice_ = min(1.0, remaining)  # short polls, so that stop is noticed within a second
            started = time.monotonic()
            if box.idle.poll(timeout=slice_):
                break
            if time.monotonic() - started < slice_ / 2:
                # Readable yet nothing read: the server closed the connection. DONE will tell.
                break
    finally:
        box.idle.stop()


def _unread(client: imaplib.IMAP4) -> bool:
    """Something the server sent is already in imaplib's or TLS's buffer, where polling the socket
    cannot see it: e.g. "* 3 EXISTS" right behind "+ idling", for mail that came just before IDLE."""
    sock = client.sock
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    timeout = sock.gettimeout()
    sock.settimeout(0)
    try:
        return bool(client.file.peek(1))  # peek consumes nothing; it never waits on a socket without timeout
    except OSError:  # nothing there (SSLWantReadError) or a broken connection, which DONE will report
        return False
    finally:
        sock.settimeout(timeout)
