"""Two-step sign-in (TOTP): setting it up, the second step of signing in, recovery codes,
required roles, support's reset, and API tokens left alone. Codes are computed at the frozen
instant (``now``), never from the wall clock."""

import re
from datetime import UTC, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from portal.auth import two_factor
from portal.auth.models import RecoveryCode, Role, TwoFactor
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import PASSWORD, gen_user

SECRET_ON_PAGE = re.compile(r'<code id="two-factor-secret">([A-Z2-7 ]+)</code>')
RECOVERY_CODE = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


def code_at(secret, now, steps=0):
    """The app's code at the frozen instant, or ``steps`` 30-second steps later."""
    return pyotp.TOTP(secret).at(now.replace(tzinfo=UTC) + timedelta(seconds=30 * steps))


def setup_page(client):
    response = client.get("/account/two-factor")
    page = response.get_data(as_text=True)
    return response, page, SECRET_ON_PAGE.search(page).group(1).replace(" ", "")


def enable(client, now):
    """Turn two-step sign-in on through the pages; returns the secret and the recovery codes."""
    _response, _page, secret = setup_page(client)
    response = client.post("/account/two-factor", data={"code": code_at(secret, now), "password": PASSWORD,
                                                        "csrf_token": csrf_token(client, "/account/two-factor")})
    assert response.status_code == 200, response.get_data(as_text=True)
    return secret, RECOVERY_CODE.findall(response.get_data(as_text=True))


def user_with_two_factor(client, auth, now):
    """Ana, with two-step sign-in on (through the pages) and signed out: (user, secret, recovery codes)."""
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    secret, codes = enable(client, now)
    auth.logout()
    return user, secret, codes


def send_code(client, code):
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_token(client, "/login/code")})


def signed_in(client) -> bool:
    return "Sign out" in client.get("/kb/").get_data(as_text=True)


def test_enabling_needs_a_right_code_then_shows_recovery_codes_once(app, client, auth, now):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    assert "Turn on two-step sign-in" in client.get("/account").get_data(as_text=True)
    response, page, secret = setup_page(client)
    assert response.headers["Cache-Control"] == "no-store"  # the secret is on the page
    wrong = client.post("/account/two-factor", data={"code": "000000", "password": PASSWORD,
                                                     "csrf_token": csrf_token(client, "/account")})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "That code is not right" in page and 'value="000000"' in page
    assert 'class="field-error" id="code-error"' in page
    assert not two_factor.is_enabled(user)
    assert SECRET_ON_PAGE.search(page).group(1).replace(" ", "") == secret  # the same secret until confirmed
    right = client.post("/account/two-factor", data={"code": code_at(secret, now), "password": PASSWORD,
                                                     "csrf_token": csrf_token(client, "/account")})
    assert right.status_code == 200 and right.headers["Cache-Control"] == "no-store"
    codes = RECOVERY_CODE.findall(right.get_data(as_text=True))
    assert len(codes) == 10 == len(set(codes))
    settings = db.session.get(TwoFactor, user.id)
    assert abs(settings.enabled_at - now) < timedelta(minutes=1)  # (the frozen clock ticks on)
    assert secret not in settings.secret_encrypted and two_factor.unseal(settings.secret_encrypted) == secret
    hashes = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)
    account = client.get("/account").get_data(as_text=True)
    assert "On since" in account and "10 recovery codes left." in account
    assert secret not in account and not any(c in account for c in codes)  # shown that once
    assert client.get("/account/two-factor").status_code == 302  # already on


def test_the_qr_code_is_made_here_as_a_data_uri(app, client, auth):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    response, page, secret = setup_page(client)
    [src] = re.findall(r'<img class="qr-code" src="([^"]+)"', page)
    assert src.startswith("data:image/svg+xml")
    assert not re.search(r'src="(https?:)?//', page)  # nothing from another site (and CSP allows only self/data:)
    assert "img-src 'self' data:" in response.headers["Content-Security-Policy"]
    uri = two_factor.enrolment(user, secret).uri
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert "issuer=127.0.0.1" in uri and "ana%40example.com" in uri  # the BASE_URL's host names the portal


def test_sign_in_asks_for_the_code_and_keeps_next_and_remember_me(app, client, auth, now):
    user, secret, _codes = user_with_two_factor(client, auth, now)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token,
                                           "remember": "y", "next": "/tickets/"})
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert not signed_in(client) and client.get("/account").status_code == 302  # not signed in yet
    assert client.get_cookie("remember_token") is None
    page = client.get("/login/code").get_data(as_text=True)
    assert "6-digit code" in page and "recovery codes" in page
    wrong = send_code(client, "123456")
    assert wrong.status_code == 422 and "That code is not right" in wrong.get_data(as_text=True)
    empty = send_code(client, "")
    assert empty.status_code == 422 and "Enter the code." in empty.get_data(as_text=True)
    response = send_code(client, code_at(secret, now, 1))  # the next step's code: within the window
    assert response.status_code == 302 and response.headers["Location"] == "/tickets/"
    assert signed_in(client) and client.get_cookie("remember_token") is not None
    assert client.get("/login/code").status_code == 302  # the marker is spent


def test_a_code_is_good_once(app, client, auth, now):
    user, secret, _codes = user_with_two_factor(client, auth, now)  # used the current step's code
    auth.login(user.email)
    replayed = send_code(client, code_at(secret, now))
    assert replayed.status_code == 422 and "already used" in replayed.get_data(as_text=True)
    assert send_code(client, code_at(secret, now, -1)).status_code == 422  # older than the last one used
    assert send_code(client, code_at(secret, now, 1)).status_code == 302
    auth.logout()
    auth.login(user.email)
    assert "already used" in send_code(client, code_at(secret, now, 1)).get_data(as_text=True)
    assert "not right" in send_code(client, code_at(secret, now, 3)).get_data(as_text=True)  # outside ±1 step


def test_a_recovery_code_signs_in_once(app, client, auth, now):
    user, _secret, codes = user_with_two_factor(client, auth, now)
    auth.login(user.email)
    response = send_code(client, codes[3].upper().replace("-", " "))  # as people type them
    assert response.status_code == 302
    assert "recovery code" in client.get("/kb/").get_data(as_text=True)  # flashed: "… 9 left."
    assert two_factor.recovery_codes_left(user) == 9
    auth.logout()
    auth.login(user.email)
    spent = send_code(client, codes[3])
    assert spent.status_code == 422 and "used already" in spent.get_data(as_text=True)
    assert not signed_in(client)


def test_five_wrong_codes_send_you_back_to_the_password(app, client, auth, now):
    user, secret, _codes = user_with_two_factor(client, auth, now)
    auth.login(user.email)
    kept = client.get_cookie("session").value  # a copy of the session with the pending sign-in
    for _ in range(4):
        assert send_code(client, "000000").status_code == 422
    response = send_code(client, "000000")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Too many wrong codes" in client.get("/login").get_data(as_text=True)
    client.set_cookie("session", kept)  # the old cookie again: the count is in the database
    refused = send_code(client, code_at(secret, now, 1))
    assert refused.status_code in (302, 429) and not signed_in(client)  # (the throttle may answer first)
    # Wrong codes count with wrong passwords: for five minutes the password step is refused too.
    throttled = auth.login(user.email)
    assert throttled.status_code == 429 and "Too many attempts" in throttled.get_data(as_text=True)
    with time_machine.travel((now + timedelta(minutes=6)).replace(tzinfo=UTC), tick=True):
        auth.login(user.email)  # the password again: new tries
        assert send_code(client, code_at(secret, now + timedelta(minutes=6))).status_code == 302
        assert signed_in(client)


def test_wrong_codes_are_recorded_and_throttled_with_the_password(app, client, auth, now):
    from portal.audit.models import AuditEntry

    user, secret, _codes = user_with_two_factor(client, auth, now)
    auth.login(user.email)
    for _ in range(3):
        assert send_code(client, "000000").status_code == 422
    auth.login(user.email)  # the right password again: a new count of codes, not of failures
    assert send_code(client, "000000").status_code == 422
    assert send_code(client, "000000").status_code == 422
    response = send_code(client, "000000")  # the sixth in five minutes is not checked
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    db.session.rollback()
    failed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.2fa_failed")).all()
    assert [e.target_label for e in failed] == [user.email] * 5
    assert auth.login(user.email).status_code == 429


def test_proof_forms_are_throttled_like_the_sign_in(app, client, auth, now):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    enable(client, now)
    for _ in range(5):
        refused = client.post("/account/two-factor/off",
                              data={"disable-proof": "guess", "csrf_token": csrf_token(client, "/account")})
        assert refused.status_code == 422
    response = client.post("/account/two-factor/off",
                           data={"disable-proof": PASSWORD, "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 422 and "Too many attempts" in response.get_data(as_text=True)
    assert two_factor.is_enabled(user)  # not even the right password is checked while it waits


def test_turning_it_on_ends_the_sessions_signed_in_with_the_password_alone(app, client, auth, now):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    other = app.test_client()
    other.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(other, "/login")})
    assert signed_in(other)
    auth.login(user.email)
    enable(client, now)
    assert signed_in(client) and not signed_in(other)


def test_the_pending_sign_in_lasts_five_minutes(app, now):
    user = gen_user(Role.CUSTOMER)
    marker = two_factor.start_sign_in(user, now, False, "")
    assert two_factor.pending_user(marker, now + timedelta(minutes=4, seconds=59)) == user
    assert two_factor.pending_user(marker, now + timedelta(minutes=5, seconds=1)) is None
    assert two_factor.pending_user(marker, now - timedelta(seconds=20)) == user  # another server's clock
    assert two_factor.pending_user(marker, now - timedelta(minutes=1)) is None
    assert two_factor.pending_user({"user_id": "x", "at": "nonsense"}, now) is None
    assert two_factor.pending_user({}, now) is None


def test_code_page_without_a_password_step_goes_to_sign_in(client):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post("/login/code", data={"code": "123456"}).status_code == 400  # no CSRF token


def test_regenerate_and_turn_off_need_the_password_or_a_code(app, client, auth, now):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    secret, old_codes = enable(client, now)
    refused = client.post("/account/two-factor/recovery-codes",
                          data={"regenerate-proof": "guess", "csrf_token": csrf_token(client, "/account")})
    assert refused.status_code == 422 and "neither your password nor a valid code" in refused.get_data(as_text=True)
    assert 'name="regenerate-csrf_token"' in client.get("/account").get_data(as_text=True)
    response = client.post("/account/two-factor/recovery-codes",  # the field's name as the page sends it
                           data={"regenerate-proof": PASSWORD, "regenerate-csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new_codes = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    refused = client.post("/account/two-factor/off",
                          data={"disable-proof": "", "csrf_token": csrf_token(client, "/account")})
    assert refused.status_code == 422 and "Enter your password or a code." in refused.get_data(as_text=True)
    assert client.post("/account/two-factor/off", data={"disable-proof": code_at(secret, now, 1)}).status_code == 400
    response = client.post("/account/two-factor/off", data={"disable-proof": code_at(secret, now, 1),
                                                            "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302 and not two_factor.is_enabled(user)
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    auth.logout()
    assert auth.login(user.email).headers["Location"] == "/kb/"  # the password alone again


@pytest.fixture
def agents_must(make_app):
    app = make_app(TWO_FACTOR_REQUIRED_ROLES=["admin", "agent"])
    with app.app_context():
        yield app
        db.session.remove()


def test_a_required_role_must_enrol_before_anything_else(agents_must, now):
    client = agents_must.test_client()
    from tests.conftest import AuthActions

    auth = AuthActions(client)
    agent = gen_user(Role.AGENT, email="sam@portal.example.com")
    customer = gen_user(Role.CUSTOMER, email="ana@example.com")
    response = auth.login(agent.email)
    assert response.status_code == 302
    blocked = client.get("/agent/")
    assert blocked.status_code == 303 and blocked.headers["Location"] == "/account/two-factor?next=/agent/"
    assert client.get("/account").status_code == 303 and client.get("/tickets/").status_code == 303
    htmx = client.get("/agent/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/account/two-factor")
    assert client.post("/account/tokens", data={"name": "x"}).status_code in (303, 400)
    with client.get("/static/css/portal.css") as static:
        assert static.status_code == 200
    response, page, secret = setup_page(client)
    assert response.status_code == 200 and "must use two-step sign-in" in page and "Not now" not in page
    response = client.post("/account/two-factor", data={"code": code_at(secret, now), "password": PASSWORD,
                                                        "next": "/agent/",
                                                        "csrf_token": csrf_token(client, "/account/two-factor")})
    assert response.status_code == 200 and 'href="/agent/"' in response.get_data(as_text=True)
    assert client.get("/agent/").status_code == 200
    account = client.get("/account").get_data(as_text=True)
    assert "cannot be turned off" in account and "Turn off two-step sign-in" not in account
    refused = client.post("/account/two-factor/off", data={"disable-proof": PASSWORD,
                                                           "csrf_token": csrf_token(client, "/account")})
    assert refused.status_code == 422 and "cannot be turned off" in refused.get_data(as_text=True)
    assert two_factor.is_enabled(agent)
    auth.logout()
    auth.login(customer.email)  # customers are not required here
    assert client.get("/tickets/").status_code == 200


def test_logout_still_works_while_enrolment_is_required(agents_must):
    from tests.conftest import AuthActions

    client = agents_must.test_client()
    auth = AuthActions(client)
    gen_user(Role.ADMIN, email="root@portal.example.com")
    auth.login("root@portal.example.com")
    token = csrf_token(client, "/account/two-factor")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/kb/").status_code == 200 and not signed_in(client)


def test_an_unknown_required_role_stops_the_start(make_app):
    with pytest.raises(ValueError, match="unknown role 'agents'"):
        make_app(TWO_FACTOR_REQUIRED_ROLES="admin,agents")
    assert two_factor.required_roles("admin, agent") == {Role.ADMIN, Role.AGENT}


def test_support_resets_two_factor_from_the_command_line(app, client, auth, runner, now):
    user, _secret, _codes = user_with_two_factor(client, auth, now)
    result = runner.invoke(args=["user", "reset-2fa", "ANA@example.com"])
    assert result.exit_code == 0, result.output
    assert "Two-step sign-in is off for ana@example.com" in result.output
    assert not two_factor.is_enabled(user)
    assert db.session.scalars(select(RecoveryCode)).all() == []
    assert auth.login(user.email).headers["Location"] == "/kb/"
    again = runner.invoke(args=["user", "reset-2fa", "ana@example.com"])
    assert again.exit_code == 1 and "does not use two-step sign-in" in again.output
    nobody = runner.invoke(args=["user", "reset-2fa", "nobody@example.com"])
    assert nobody.exit_code == 1 and "No user with the email" in nobody.output and "Traceback" not in nobody.output


def test_api_tokens_work_unchanged_for_two_factor_users(agents_must, now):
    from portal.api import services as api
    from tests.conftest import AuthActions

    client = agents_must.test_client()
    customer = gen_user(Role.CUSTOMER_ADMIN, email="ops@example.com")
    AuthActions(client).login(customer.email)
    enable(client, now)
    _token, secret = api.create_token(customer, "Backups monitor")
    answer = agents_must.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and answer.get_json()["name"] == customer.organization.name
    agent = gen_user(Role.AGENT)  # required, and not enrolled: the API does not ask
    _token, secret = api.create_token(agent, "Queue script")
    answer = agents_must.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_an_unreadable_secret_is_a_message_not_a_500(app, client, auth, now):
    user, _secret, _codes = user_with_two_factor(client, auth, now)
    db.session.get(TwoFactor, user.id).secret_encrypted = "gAAAA-not-a-token"  # as after a new SECRET_KEY
    db.session.commit()
    auth.login(user.email)
    response = send_code(client, "123456")
    assert response.status_code == 422 and "Ask support to reset it" in response.get_data(as_text=True)


def test_turning_it_on_needs_the_password_too(app, client, auth, now):
    user = gen_user(Role.CUSTOMER, email="ana@example.com")
    auth.login(user.email)
    _response, _page, secret = setup_page(client)
    for password in ("", "not-the-password"):
        refused = client.post("/account/two-factor", data={"code": code_at(secret, now), "password": password,
                                                           "csrf_token": csrf_token(client, "/account")})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and not two_factor.is_enabled(user)
        assert ("Enter your password." if not password else "That is not your current password.") in page
        assert f'value="{code_at(secret, now)}"' in page  # the code typed is kept
