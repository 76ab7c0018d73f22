"""Sessions that end (portal.auth.sessions): signing out, a new password, a new role and
deactivation end every session and remember-me cookie of the account; idle and absolute
lifetimes end one browser's."""

from datetime import UTC, timedelta
from urllib.parse import unquote

import pytest
import time_machine

from portal.auth.models import Role
from tests.conftest import IsolatedClient, csrf_token
from tests.factories import PASSWORD, gen_org, gen_user

NEW_PASSWORD = "a-brand-new-passphrase"


def later(now, **delta):
    """The clock moved on by ``delta`` (and still ticking)."""
    return time_machine.travel((now + timedelta(**delta)).replace(tzinfo=UTC), tick=True)


def browser(app, **cookies) -> IsolatedClient:
    """Another browser holding these cookies (copied from a signed-in one: what a thief has)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def cookies_of(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token") if client.get_cookie(name)}


def signed_in(client) -> bool:
    response = client.get("/tickets/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    return False


def end_by_logout(client, auth, runner, user):
    auth.logout()


def end_by_sign_out_everywhere(client, auth, runner, user):
    response = client.post("/account/sign-out-everywhere", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def end_by_new_password_from_the_cli(client, auth, runner, user):
    result = runner.invoke(args=["user", "set-password", user.email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0 and "sessions have ended" in result.output


def end_by_new_password_on_the_account_page(client, auth, runner, user):
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302


def end_by_role_change(client, auth, runner, user):
    result = runner.invoke(args=["user", "set-role", user.email, "customer_admin"])
    assert result.exit_code == 0, result.output


def end_by_deactivation(client, auth, runner, user):
    result = runner.invoke(args=["user", "deactivate", user.email])
    assert result.exit_code == 0, result.output


ENDINGS = [end_by_logout, end_by_sign_out_everywhere, end_by_new_password_from_the_cli,
           end_by_new_password_on_the_account_page, end_by_role_change, end_by_deactivation]


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__.removeprefix("end_by_"))
def test_old_cookies_stop_working(app, client, auth, runner, ending):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login("ana@example.com", remember=True)
    stolen = cookies_of(client)
    laptop = browser(app, session=stolen["session"])  # signed in elsewhere, before
    assert signed_in(browser(app, **stolen)) and signed_in(browser(app, remember_token=stolen["remember_token"]))
    assert signed_in(laptop)

    ending(client, auth, runner, user)

    assert not signed_in(browser(app, session=stolen["session"]))
    assert not signed_in(browser(app, remember_token=stolen["remember_token"]))
    assert not signed_in(laptop)


def test_an_ended_session_says_so_and_comes_back_to_the_page(app, client, auth):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    laptop = browser(app, session=cookies_of(client)["session"])
    auth.logout()
    response = laptop.get("/tickets/?status=open")
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == "/login?next=/tickets/?status=open"
    assert "You were signed out" in laptop.get(response.headers["Location"]).get_data(as_text=True)


def test_a_new_password_keeps_this_browser_signed_in(app, client, auth):
    user = gen_user(email="ana@example.com")
    auth.login("ana@example.com", remember=True)
    page = client.get("/account").get_data(as_text=True)
    assert 'action="/account/password#password"' in page and 'autocomplete="current-password"' in page
    assert 'action="/account/sign-out-everywhere"' in page and "Sign out everywhere" in page
    end_by_new_password_on_the_account_page(client, auth, None, user)
    assert "every other device" in client.get("/account").get_data(as_text=True)
    assert signed_in(client)
    assert signed_in(browser(app, remember_token=client.get_cookie("remember_token").value))  # issued anew
    auth.logout()
    assert auth.login("ana@example.com").status_code == 422
    assert auth.login("ana@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("fields, message", [
    ({"current_password": "not-my-password", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "not your current password"),
    ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"}, "at least 10 characters"),
    ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "not the same"),
])
def test_a_refused_password_change_explains_and_ends_nothing(app, client, auth, fields, message):
    user = gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    laptop = browser(app, session=cookies_of(client)["session"])
    response = client.post("/account/password", data={**fields, "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert signed_in(laptop) and user.check_password(PASSWORD)


def test_password_change_needs_the_csrf_token(client, auth):
    user = gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert client.post("/account/sign-out-everywhere").status_code == 400
    assert user.check_password(PASSWORD) and signed_in(client)


def test_deactivated_then_reactivated(app, client, auth, runner):
    from portal.api import services as api_services

    user = gen_user(email="ana@example.com")
    _token, secret = api_services.create_token(user, "Monitor")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tickets", headers=bearer).status_code == 200
    assert runner.invoke(args=["user", "deactivate", "ana@example.com"]).exit_code == 0
    assert auth.login("ana@example.com").status_code == 422
    assert client.get("/api/v1/tickets", headers=bearer).status_code == 401
    result = runner.invoke(args=["user", "reactivate", "ana@example.com"])
    assert result.exit_code == 0 and "Reactivated" in result.output
    assert auth.login("ana@example.com").status_code == 302
    assert client.get("/api/v1/tickets", headers=bearer).status_code == 200
    assert "No user" in runner.invoke(args=["user", "deactivate", "nobody@example.com"]).output


def test_a_new_role_applies_and_follows_the_staff_rules(app, client, auth, runner):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    gen_org("Acme")
    result = runner.invoke(args=["user", "set-role", "ana@example.com", "agent", "--org", "Acme"])
    assert result.exit_code != 0 and "do not belong" in result.output
    assert runner.invoke(args=["user", "set-role", "ana@example.com", "customer_admin"]).exit_code == 0
    agent = gen_user(Role.AGENT, email="sam@example.com")
    result = runner.invoke(args=["user", "set-role", "sam@example.com", "customer"])
    assert result.exit_code != 0 and "belong to an organization" in result.output
    assert runner.invoke(args=["user", "set-role", "sam@example.com", "customer", "--org", "Acme"]).exit_code == 0
    from portal.extensions import db

    db.session.expire_all()
    assert user.role is Role.CUSTOMER_ADMIN
    assert agent.role is Role.CUSTOMER and agent.organization.name == "Acme"


def test_idle_session_ends_after_the_idle_time(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=7):
        assert signed_in(client)  # activity moves the idle limit on
    with later(now, hours=14):
        assert signed_in(client)
    with later(now, hours=22, minutes=1):
        response = client.get("/tickets/")
        assert response.status_code == 302
        assert unquote(response.headers["Location"]) == "/login?next=/tickets/"
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "without activity" in page and "8 hours" in page
        assert not signed_in(client)


def test_remember_me_has_no_idle_limit_but_ends_after_the_maximum(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com", remember=True)
    remembered = client.get_cookie("remember_token").value
    with later(now, days=3):
        assert signed_in(client)
        assert signed_in(browser(app, remember_token=remembered))  # the browser was closed and opened again
    with later(now, days=30, minutes=1):
        response = client.get("/tickets/")
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "A sign-in lasts 30 days" in page
        # The cookie alone is refused too, even if a browser kept it past its expiry.
        assert not signed_in(browser(app, remember_token=remembered))


def test_lifetimes_are_settings(make_app, now):
    app = make_app(SESSION_IDLE_MINUTES=30)
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        gen_user(email="ana@example.com")
        client.post("/login", data={"email": "ana@example.com", "password": PASSWORD,
                                    "csrf_token": csrf_token(client, "/login")})
        with later(now, minutes=29):
            assert signed_in(client)
        with later(now, minutes=60):
            response = client.get("/tickets/")
            assert response.status_code == 302
            assert "after 30 minutes without" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_an_htmx_request_of_an_ended_session_sends_the_page_to_sign_in(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=9):
        response = client.get("/tickets/", headers={"HX-Request": "true",
                                                    "HX-Current-URL": "http://localhost/tickets/?q=vpn"})
    assert response.status_code == 204
    assert unquote(response.headers["HX-Redirect"]) == "/login?next=/tickets/?q=vpn"


def test_the_sign_in_page_of_an_ended_session_shows_the_form(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=9):
        response = client.get("/login")
    assert response.status_code == 200 and 'name="password"' in response.get_data(as_text=True)


def test_a_session_from_before_this_change_signs_in_again(app, client):
    """Sessions once held only the user's id: such a cookie is one sign-in, not an error."""
    user = gen_user(email="ana@example.com")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert not signed_in(client)
    with client.session_transaction() as session:
        session["_user_id"] = "99999999999:0:1"
    assert not signed_in(client)


def test_cookies_go_only_over_https_when_the_portal_is_served_so(make_app):
    app = make_app(BASE_URL="https://support.example.com")
    app.test_client_class = IsolatedClient
    client = app.test_client()
    with app.app_context():
        gen_user(email="ana@example.com")
        response = client.post("/login", base_url="https://localhost", data={
            "email": "ana@example.com", "password": PASSWORD, "remember": "y",
            "csrf_token": csrf_token(client, "https://localhost/login")})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "; Secure" in cookies["session"] and "; Secure" in cookies["remember_token"]
    assert "; HttpOnly" in cookies["remember_token"]


def test_background_polls_do_not_keep_a_session_alive(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=7):
        assert client.get("/kb/", headers={"HX-Request": "true", "X-Portal-Poll": "1"}).status_code == 200
    with later(now, hours=9):  # 9 hours since anyone used the page: the poll did not count
        assert not signed_in(client)


def test_a_line_break_in_next_is_no_error(app, client, auth):
    gen_user(email="ana@example.com")
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD,
                                           "next": "/tickets/\r\nSet-Cookie: x=1",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and response.headers["Location"] == "/kb/"
    assert client.get("/login?next=/a%0Ab").headers["Location"] == "/kb/"


def test_an_ended_session_and_a_new_password_in_the_audit_log(app, client, auth, runner, now):
    from sqlalchemy import select

    from portal.audit.models import AuditEntry
    from portal.extensions import db

    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=9):
        assert not signed_in(client)  # idle: ended, which is not the user signing out
    auth.login("ana@example.com")
    client.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                            "confirm": NEW_PASSWORD, "csrf_token": csrf_token(client, "/account")})
    assert runner.invoke(args=["user", "set-password", "ana@example.com", "--password", PASSWORD]).exit_code == 0
    db.session.rollback()
    actions = [(e.action, e.detail) for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert ("auth.sign_out", {}) not in actions
    assert [a for a in actions if a[0] == "auth.password_change"] == [
        ("auth.password_change", {}), ("auth.password_change", {"via": "cli"})]


def test_an_ended_session_reads_on_signed_out_in_the_help_center(app, client, auth, now):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    with later(now, hours=9):
        response = client.get("/kb/")
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "without activity" in page and "Sign in" in page
        assert not signed_in(client)
