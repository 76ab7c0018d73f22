"""Fixtures: every test that uses ``app`` runs on SQLite and, when
``PORTAL_TEST_DATABASE_URL`` is set, again on PostgreSQL. Every test runs at a
fixed instant (``now``); ``@pytest.mark.instants`` runs one at several."""

from __future__ import annotations

import contextvars
import errno
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from portal import create_app
from portal.extensions import db
from portal.kb.search import reindex

REPO = Path(__file__).resolve().parents[1]
KB_DIR = REPO / "kb"
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
# In CI nothing may be skipped: a missing PostgreSQL or Chromium fails the run.
NO_SKIPS = bool(os.environ.get("PORTAL_NO_SKIPS"))


# Naive UTC, like utcnow(). The default is an ordinary working moment: a Wednesday
# morning in every zone our plans and demo use.
DEFAULT_INSTANT = datetime(2026, 12, 2, 10, 0)
# The moments at which clocks, calendars and "today" go wrong. Zones: Madrid is
# UTC+1 in winter, UTC+2 in summer.
INSTANTS = {
    "wednesday-10:00-utc": DEFAULT_INSTANT,
    "thursday-00:03-utc": datetime(2026, 12, 3, 0, 3),  # a new UTC day; still Wednesday evening in the Americas
    "friday-17:59-madrid": datetime(2026, 12, 4, 16, 59),  # a minute before Madrid's business hours end
    "saturday-11:00-utc": datetime(2026, 12, 5, 11, 0),  # no business hours anywhere
    "dst-end-sunday-madrid": datetime(2026, 10, 25, 1, 30),  # Madrid's clocks went back from 03:00 to 02:00 at 01:00 UTC
    "new-year-eve-23:59-utc": datetime(2026, 12, 31, 23, 59),  # the last minute of the year (references, quotas)
}


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("instants")
    if marker:
        names = marker.args or tuple(INSTANTS)
        metafunc.parametrize("now", [INSTANTS[n] for n in names], ids=names, indirect=True)


@pytest.fixture(autouse=True)
def now(request) -> datetime:
    """The instant the test runs at (naive UTC): the clock is frozen there for every
    test, and ticks on from it so that timeouts, threads and browser waits still work."""
    instant = getattr(request, "param", DEFAULT_INSTANT)
    with time_machine.travel(instant.replace(tzinfo=UTC), tick=True):
        yield instant


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if NO_SKIPS and skipped and exitstatus == 0:
        reporter.write_line(f"PORTAL_NO_SKIPS is set and {skipped} test(s) were skipped: failing the run.", red=True)
        session.exitstatus = 1


def _config(database_url: str, index_dir: Path, **extra) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "KB_DIR": str(KB_DIR),
        "INDEX_DIR": str(index_dir),
        "KB_AUTO_REINDEX": False,
        "SECRET_KEY": "test-secret-key",
        **extra,
    }


def _migrate(database_url: str, index_dir: Path, instance: Path) -> None:
    from flask_migrate import upgrade

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PORTAL_INSTANCE_PATH", str(instance))
        app = create_app(_config(database_url, index_dir))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory) -> Path:
    """The demo KB indexed once; tests only read it."""
    index_dir = tmp_path_factory.mktemp("index")
    reindex(KB_DIR, index_dir, full=True)
    return index_dir


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, kb_index) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _migrate(f"sqlite:///{path}", kb_index, path.parent / "instance")
    return path


@pytest.fixture(scope="session")
def postgres_url(kb_index, tmp_path_factory) -> str:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need PORTAL_TEST_DATABASE_URL (make test sets it up with pg_virtualenv)")
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(PG_URL, kb_index, tmp_path_factory.mktemp("pg-instance"))
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "portal.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
        yield url
        engine = create_engine(url)
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()


@pytest.fixture
def make_app(database_url, kb_index, tmp_path, monkeypatch):
    """Build an app on this test's database; keyword arguments override settings."""
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    apps = []

    def factory(**overrides):
        app = create_app(_config(database_url, kb_index, **overrides))
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, with its own app context, ``g`` and
    database session, as in production, though the test holds an app context."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app_settings() -> dict:
    """Settings ``app`` runs with on top of the tests' own: a test folder's conftest overrides this
    fixture to serve, e.g., its own plans file ({"PLANS_FILE": ...})."""
    return {}


@pytest.fixture
def app(make_app, app_settings):
    app = make_app(**app_settings)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_IN_PAGE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, url: str = "/kb/") -> str:
    match = CSRF_IN_PAGE.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "correct-horse-battery", remember: bool = False):
        data = {"email": email, "password": password, "csrf_token": csrf_token(self.client, "/login")}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client)})


@pytest.fixture(scope="session")
def smtp_server():
    """One real SMTP server (aiosmtpd on 127.0.0.1) for the whole run."""
    from tests.servers.smtp import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server):
    """The run's SMTP server, emptied, accepting everyone and up, for this test."""
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server on 127.0.0.1 (shared rate-limit counts), started once per run."""
    from tests.servers.redis import RedisServer, installed

    if installed() is None:
        pytest.skip("shared rate-limit tests need Debian's redis-server (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def small_kb_dir(tmp_path) -> Path:
    from tests.kb.conftest import write_article

    kb = tmp_path / "small-kb"
    write_article(kb, "guides", "hello", "Hello world.")
    return kb


def run_in_threads(app, count: int, work) -> tuple[list, list[str]]:
    """Run ``work(i)`` for i in range(count) at once, each thread in its own app
    context and session; returns (results, failures) for the test to assert on."""
    import threading

    results, failures = [], []

    def run(i):
        with app.app_context():
            try:
                results.append(work(i))
            except Exception as exc:  # collected: the test asserts on them
                failures.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    db.session.rollback()  # the test's own session sees what the threads committed
    return results, failures


@pytest.fixture
def full_disk(app, monkeypatch):
    """The upload disk fills up: a write under UPLOAD_DIR gets half its bytes out, then ENOSPC.
    Only the OS's write is simulated; the files, folders and clean-up are real."""
    upload_dir = Path(app.config["UPLOAD_DIR"])
    real_write_bytes = Path.write_bytes
    state = {"after": 0, "errno": errno.ENOSPC}  # writes that still succeed before the disk is full

    def write_bytes(path, data):
        if upload_dir in path.parents:
            if state["after"] > 0:
                state["after"] -= 1
            else:
                real_write_bytes(path, data[: len(data) // 2])
                raise OSError(state["errno"], os.strerror(state["errno"]), str(path))
        return real_write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    return state


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
