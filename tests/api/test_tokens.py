"""Personal API tokens on the account page, and ``portal token create``."""

import re

from sqlalchemy import select

from portal.api.models import ApiToken
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import gen_user

SECRET = re.compile(r'id="new-token-secret"[^>]*value="(pat_[^"]+)"')


def _create(client, name):
    return client.post("/account/tokens", data={"name": name, "csrf_token": csrf_token(client, "/account")})


def test_create_list_and_revoke_on_the_account_page(app, client, auth):
    user = gen_user(Role.CUSTOMER)
    auth.login(user.email)
    page = client.get("/account").get_data(as_text=True)
    assert "API tokens" in page and "You have no API tokens yet." in page
    response = _create(client, "Monitoring")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(response.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.name == "Monitoring" and secret.startswith(token.prefix)
    # Shown once: the list shows the prefix, never the secret again.
    page = client.get("/account").get_data(as_text=True)
    assert secret not in page and f"{token.prefix}…" in page and "Monitoring" in page
    assert app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    revoked = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert revoked.status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert "is revoked" in page and "Revoked" in page
    assert app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_bad_input_keeps_what_was_typed(app, client, auth):
    auth.login(gen_user(Role.CUSTOMER).email)
    response = _create(client, "   ")
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)
    long_name = "Dashboard " * 11
    response = _create(client, long_name)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "at most 100 characters" in page and long_name.strip() in page
    assert db.session.scalar(select(ApiToken.id)) is None


def test_csrf_and_sign_in_are_required(app, client, auth):
    user = gen_user(Role.CUSTOMER)
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 302  # to the sign-in page
    auth.login(user.email)
    response = client.post("/account/tokens", data={"name": "No CSRF token"})
    assert response.status_code == 422 and "No CSRF token" in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken.id)) is None
    _create(client, "Mine")
    token = db.session.scalar(select(ApiToken))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 400  # no CSRF token


def test_nobody_revokes_another_users_token(app, client, auth):
    owner = gen_user(Role.CUSTOMER)
    from portal.api import services

    token, _secret = services.create_token(owner, "Owner's")
    auth.login(gen_user(Role.CUSTOMER).email)
    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 404
    db.session.refresh(token)
    assert token.revoked_at is None


def test_cli_prints_a_working_token(app, runner):
    user = gen_user(Role.CUSTOMER_ADMIN, email="ops@example.com")
    result = runner.invoke(args=["token", "create", "ops@example.com", "--name", "Backups monitor"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("pat_")
    assert app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"}).get_json()["name"] \
        == user.organization.name
    failed = runner.invoke(args=["token", "create", "nobody@example.com", "--name", "x"])
    assert failed.exit_code != 0 and "No user" in failed.output
    failed = runner.invoke(args=["token", "create", "ops@example.com", "--name", " "])
    assert failed.exit_code != 0 and "name" in failed.output
