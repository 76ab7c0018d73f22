"""A database that is restarting, unreachable or locked answers 503 with Retry-After, a page
or a problem document, never a 500; the next request gets a fresh connection."""

import socket
import sqlite3

import pytest
from sqlalchemy import create_engine, text

from portal.extensions import db
from tests.conftest import AuthActions, IsolatedClient
from tests.factories import gen_user


def _terminate_app_connections(url: str) -> int:
    """What a PostgreSQL restart does to the app: every backend of this database but ours ends."""
    engine = create_engine(url)
    with engine.begin() as conn:
        ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    engine.dispose()
    return ended


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_unavailable(response, api: bool = False):
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    if api:
        assert response.mimetype == "application/problem+json"
        assert response.json["type"].endswith("#service-unavailable") and "database" in response.json["detail"]
    else:
        assert "cannot reach its database" in response.get_data(as_text=True)


@pytest.fixture
def lost_app(make_app, database_url):
    """An app with a page (and an API address) whose connection is lost between two statements."""
    app = make_app()
    app.test_client_class = IsolatedClient

    def lose_connection_midway():
        db.session.execute(text("SELECT 1"))
        if database_url.startswith("postgresql"):
            assert _terminate_app_connections(database_url) >= 1
        else:  # SQLite: another process holds the write lock past the busy timeout
            locker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")
            db.session.execute(text("PRAGMA busy_timeout=100"))
            try:
                db.session.execute(text("INSERT INTO alembic_version (version_num) VALUES ('locked')"))
            finally:
                locker.execute("ROLLBACK")
                locker.close()
        db.session.execute(text("SELECT 1"))
        return "unreachable"

    app.add_url_rule("/lose-connection", "lose_connection", lose_connection_midway)
    app.add_url_rule("/api/v1/lose-connection", "api_lose_connection", lose_connection_midway)
    return app


def test_a_connection_lost_during_a_request_answers_503_and_the_next_request_works(lost_app):
    client = lost_app.test_client()
    _assert_unavailable(client.get("/lose-connection"))
    _assert_unavailable(client.get("/lose-connection", headers={"HX-Request": "true"}))
    _assert_unavailable(client.get("/api/v1/lose-connection"), api=True)
    health = client.get("/healthz")
    assert health.json["database"]["ok"], health.json


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server to restart
def test_a_signed_in_page_after_postgresql_restarts_is_never_a_500(make_app, database_url):
    app = make_app()
    app.test_client_class = IsolatedClient
    with app.app_context():
        gen_user(email="ana@acme.example.com")
        db.session.commit()
    client = app.test_client()
    assert AuthActions(client).login("ana@acme.example.com").status_code == 302
    assert client.get("/tickets/").status_code == 200
    with app.app_context():
        db.session.remove()
    assert _terminate_app_connections(database_url) >= 1
    after = client.get("/tickets/")
    assert after.status_code == 200 or (after.status_code == 503 and after.headers["Retry-After"])
    assert client.get("/tickets/").status_code == 200


def test_an_unreachable_database_answers_503_not_500(make_app, database_url, tmp_path):
    if database_url.startswith("postgresql"):
        unreachable = f"postgresql+psycopg://portal@127.0.0.1:{_closed_port()}/portal"
    else:
        unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'portal.db'}"
    app = make_app(DATABASE_URL=unreachable, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    _assert_unavailable(client.post("/login", data={"email": "ana@acme.example.com", "password": "x" * 12}))
    assert client.get("/healthz").status_code == 503
    _assert_unavailable(client.get("/api/v1/tickets", headers={"Authorization": "Bearer pat_unknown"}), api=True)


def test_a_mistake_in_a_statement_is_still_an_error_not_a_503(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    app.add_url_rule("/bad-statement", "bad_statement",
                     lambda: str(db.session.execute(text("SELECT * FROM no_such_table")).all()))
    response = app.test_client().get("/bad-statement")
    assert response.status_code == 500 and "Retry-After" not in response.headers
