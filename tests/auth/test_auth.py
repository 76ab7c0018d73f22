import re
from datetime import date

from portal.auth.models import Role
from tests.conftest import csrf_token
from tests.factories import PASSWORD, gen_user


def test_sign_in_and_out(client, auth):
    user = gen_user(Role.CUSTOMER, email="ana@example.com", name="Ana")
    response = auth.login("ana@example.com")
    assert response.status_code == 302
    page = client.get("/kb/").get_data(as_text=True)
    assert "Ana" in page and "Sign out" in page
    assert auth.logout().status_code == 302
    assert "Sign out" not in client.get("/kb/").get_data(as_text=True)
    assert user.check_password(PASSWORD) and not user.check_password("wrong")


def test_password_is_hashed_with_scrypt(app):
    user = gen_user()
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")


def test_wrong_password_keeps_the_email_and_explains(client, auth):
    gen_user(email="ana@example.com")
    response = auth.login("ana@example.com", "not-the-password")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "do not match an account" in page
    assert 'value="ana@example.com"' in page


def test_unknown_email_gets_the_same_message(client, auth):
    response = auth.login("nobody@example.com", "whatever-password")
    assert response.status_code == 422
    assert "do not match an account" in response.get_data(as_text=True)


def test_invalid_email_is_a_field_error_not_a_500(client):
    response = client.post("/login", data={"email": "not an email", "password": "x",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 422
    assert "Enter a valid email address." in response.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(client, auth, app):
    from portal.extensions import db

    user = gen_user(email="gone@example.com")
    user.active = False
    db.session.commit()
    assert auth.login("gone@example.com").status_code == 422


def test_remember_me_sets_a_lasting_cookie(client, auth):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com", remember=True)
    assert client.get_cookie("remember_token") is not None


def test_without_remember_me_no_lasting_cookie(client, auth):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    assert client.get_cookie("remember_token") is None


def test_login_without_csrf_token_is_refused_and_keeps_the_email(client):
    gen_user(email="ana@example.com")
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "open too long" in page and 'value="ana@example.com"' in page
    assert "Sign out" not in client.get("/kb/").get_data(as_text=True)


def test_logout_needs_post_with_csrf(client, auth):
    gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert "Sign out" in client.get("/kb/").get_data(as_text=True)


def test_next_goes_back_to_the_page_but_never_off_site(client, auth):
    gen_user(email="ana@example.com")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token,
                                           "next": "https://evil.example/phish"})
    assert response.headers["Location"] == "/kb/"
    auth.logout()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token,
                                           "next": "/kb/priorities-explained"})
    assert response.headers["Location"] == "/kb/priorities-explained"


def test_account_page_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_browser_language_picks_spanish(client):
    page = client.get("/kb/", headers={"Accept-Language": "es-ES,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "¿En qué podemos ayudarle?" in page or "¿Cómo podemos ayudarte?" in page


def test_visitor_language_choice_beats_the_browser(client):
    token = csrf_token(client)
    client.post("/language", data={"lang": "es", "next": "/kb/", "csrf_token": token})
    page = client.get("/kb/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_users_language_is_kept_on_the_account(client, auth, app):
    user = gen_user(email="ana@example.com")
    auth.login("ana@example.com")
    response = client.post("/account", data={"lang": "es", "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    assert user.locale == "es"
    page = client.get("/kb/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_unknown_language_is_refused_with_a_message(client):
    response = client.post("/language", data={"lang": "xx", "next": "/kb/", "csrf_token": csrf_token(client)},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "not available" in response.get_data(as_text=True)


def test_roles_and_staff_rules(app):
    import pytest

    from portal.auth import services
    from portal.errors import DomainError

    with pytest.raises(DomainError, match="belong to an organization"):
        services.create_user("c@example.com", PASSWORD, "customer")
    org = services.create_organization("Acme", date(2026, 1, 15))
    with pytest.raises(DomainError, match="do not belong"):
        services.create_user("a@example.com", PASSWORD, "agent", organization=org)
    with pytest.raises(DomainError, match="at least 10"):
        services.create_user("c@example.com", "short", "customer", organization=org)
    with pytest.raises(DomainError, match="Unknown role"):
        services.create_user("c@example.com", PASSWORD, "overlord", organization=org)
    with pytest.raises(DomainError, match="already exists"):
        services.create_organization("acme", date(2026, 1, 15))
    user = services.create_user("C@Example.com", PASSWORD, "customer_admin", organization=org)
    assert user.email == "c@example.com" and user.role is Role.CUSTOMER_ADMIN
    assert re.match(r"^c$", user.name)
