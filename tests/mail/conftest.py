"""The mail channel's fixtures: one real Dovecot for the whole run (tests/servers/dovecot.py),
and a fresh user on it for each test, as a ``Mailbox`` over verified IMAPS."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest

from portal.mail.imap import Mailbox
from tests.servers import dovecot as servers

_users = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    if not servers.installed():
        pytest.skip("the IMAP tests need Debian's dovecot-imapd (apt-get install dovecot-imapd)")
    # Not tmp_path_factory: pytest's folders are private to root, and Dovecot's own users read this one.
    folder = Path(tempfile.mkdtemp(prefix="portal-dovecot-"))
    server = servers.Dovecot(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot) -> Mailbox:
    """A new, empty user: nothing a previous test left behind can show up."""
    number = next(_users)
    address, password = f"support{number}@portal.test", f"secret-{number}"
    dovecot.add_user(address, password)
    return Mailbox(name=f"test-{number}", host=servers.HOST, port=dovecot.ssl_port, security="ssl",
                   username=address, password=password, cafile=dovecot.cafile, timeout=10)
