"""Sign-in throttling (portal.auth.throttle): failed sign-ins per account typed and per address."""

import logging
from datetime import UTC, timedelta

import pytest
import time_machine

from portal.auth import services
from tests.conftest import IsolatedClient, csrf_token
from tests.factories import PASSWORD, gen_user

THROTTLED = "Too many attempts. Try again in 5 minutes: until then even the right password is refused."


def attempt(client, email, password="wrong-password", address="127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ)


@pytest.fixture
def no_password_checks(monkeypatch):
    def refuse(*args):
        raise AssertionError("a throttled attempt checked a password")

    monkeypatch.setattr(services, "authenticate", refuse)


@pytest.mark.parametrize("email", ["ana@example.com", "nobody@example.com"], ids=["account", "no-account"])
def test_five_failures_throttle_the_email_the_same_with_or_without_an_account(app, client, email, monkeypatch):
    gen_user(email="ana@example.com")
    for _ in range(5):
        assert attempt(client, email).status_code == 422
    monkeypatch.setattr(services, "authenticate", lambda *a: pytest.fail("a throttled attempt checked a password"))
    response = attempt(client, email, PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert THROTTLED in page and f'value="{email}"' in page
    assert 290 <= int(response.headers["Retry-After"]) <= 300
    # Another spelling of the same address is the same account.
    assert attempt(client, email.upper(), PASSWORD).status_code == 429


def test_the_wait_passes(app, client, now):
    gen_user(email="ana@example.com")
    for _ in range(5):
        attempt(client, "ana@example.com")
    with time_machine.travel((now + timedelta(minutes=4, seconds=30)).replace(tzinfo=UTC), tick=True):
        response = attempt(client, "ana@example.com", PASSWORD)
        assert response.status_code == 429 and "Try again in 1 minute:" in response.get_data(as_text=True)
    with time_machine.travel((now + timedelta(minutes=5, seconds=5)).replace(tzinfo=UTC), tick=True):
        assert attempt(client, "ana@example.com", PASSWORD).status_code == 302


def test_correct_sign_ins_do_not_count_and_end_the_accounts_count(app, client, auth):
    gen_user(email="ana@example.com")
    for _ in range(7):
        assert attempt(client, "ana@example.com", PASSWORD).status_code == 302
        auth.logout()
    for _ in range(4):
        attempt(client, "ana@example.com")
    assert attempt(client, "ana@example.com", PASSWORD).status_code == 302  # the typo-prone owner
    auth.logout()
    for _ in range(5):
        assert attempt(client, "ana@example.com").status_code == 422
    assert attempt(client, "ana@example.com", PASSWORD).status_code == 429


def test_one_address_guessing_many_accounts_is_throttled(make_app):
    app = make_app(LOGIN_RATE_LIMIT_ADDRESS="3 per 10 minutes")
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        gen_user(email="ana@example.com")
        for n in range(3):
            assert attempt(client, f"guess{n}@example.com", address="203.0.113.9").status_code == 422
        response = attempt(client, "ana@example.com", PASSWORD, address="203.0.113.9")
        assert response.status_code == 429 and "Try again in 10 minutes:" in response.get_data(as_text=True)
        assert attempt(client, "ana@example.com", PASSWORD, address="198.51.100.7").status_code == 302


def test_failures_and_throttled_attempts_are_logged(app, client, caplog):
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        for _ in range(6):
            attempt(client, "nobody@example.com", address="203.0.113.9")
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Failed sign-in")]
    throttled = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Sign-in throttled")]
    assert len(failed) == 5 and len(throttled) == 1
    assert "'nobody@example.com'" in throttled[0] and "'203.0.113.9'" in throttled[0]


def test_a_wrong_current_password_on_the_account_page_counts(app, client, auth):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    for _ in range(5):
        response = client.post("/account/password", data={
            "current_password": "guess-guess-guess", "new_password": "n" * 12, "confirm": "n" * 12,
            "csrf_token": csrf_token(client, "/account")})
        assert response.status_code == 422
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "n" * 12, "confirm": "n" * 12,
        "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)


def test_throttling_off_with_the_limiter(make_app, monkeypatch):
    from portal.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", limiter.enabled)  # init_app keeps False on the shared object
    app = make_app(RATELIMIT_ENABLED=False)
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        gen_user(email="ana@example.com")
        for _ in range(8):
            attempt(client, "ana@example.com")
        assert attempt(client, "ana@example.com", PASSWORD).status_code == 302


def test_servers_share_the_counts_through_redis(make_app, redis_url):
    """Two app servers on one redis: failures on the first count on the second."""
    def server():
        app = make_app(RATELIMIT_STORAGE_URI=redis_url, LOGIN_RATE_LIMIT_ACCOUNT="3 per 5 minutes")
        app.test_client_class = IsolatedClient
        return app

    first = server()
    with first.app_context():
        gen_user(email="ana@example.com")
        for _ in range(3):
            assert attempt(first.test_client(), "ana@example.com").status_code == 422
    second = server()  # a fresh connection, the same counts
    with second.app_context():
        assert attempt(second.test_client(), "ana@example.com", PASSWORD).status_code == 429
