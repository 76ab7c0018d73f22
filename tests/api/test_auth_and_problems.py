"""Who the API lets in, and the one shape of every error."""

from sqlalchemy import select

from portal.api import services as api_services
from portal.api.models import ApiToken
from portal.auth.models import Role
from portal.extensions import db
from tests.api.conftest import UNTHROTTLED, assert_problem, token_for
from tests.conftest import IsolatedClient
from tests.factories import gen_ticket, gen_user


def test_a_token_acts_as_its_user_and_only_the_hash_is_kept(app, api):
    customer = gen_user(Role.CUSTOMER)
    token, secret = api_services.create_token(customer, "Monitoring")
    assert secret.startswith("pat_") and len(secret) > 40 and token.prefix == secret[:12]
    row = db.session.scalar(select(ApiToken).where(ApiToken.id == token.id))
    assert secret not in (row.secret_hash, row.prefix, row.name) and len(row.secret_hash) == 64
    assert row.last_used_at is None
    ticket = gen_ticket(customer)
    response = app.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert [t["reference"] for t in response.get_json()["items"]] == [ticket.reference]
    db.session.refresh(row)
    assert row.last_used_at is not None


def test_missing_malformed_unknown_and_revoked_tokens_get_401(app, api):
    customer = gen_user(Role.CUSTOMER)
    client = app.test_client()
    token, secret = api_services.create_token(customer, "Script")
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer pat_not-a-real-token"}, {"Authorization": "Bearer something-else"}):
        response = client.get("/api/v1/tickets", headers=headers)
        assert_problem(response, 401, "invalid-token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    api_services.revoke_token(customer, token.id)
    body = assert_problem(client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "revoked" in body["detail"]
    # A bad token is refused even where no token is needed.
    assert_problem(client.get("/api/v1/kb/search?q=quota", headers={"Authorization": f"Bearer {secret}"}), 401)


def test_a_deactivated_users_token_gets_401(app):
    customer = gen_user(Role.CUSTOMER)
    secret = token_for(customer)
    customer.active = False
    db.session.commit()
    body = assert_problem(app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"}), 401)
    assert "deactivated" in body["detail"]


def test_the_session_cookie_is_not_a_credential(app, client, auth):
    customer = gen_user(Role.CUSTOMER)
    auth.login(customer.email)
    assert client.get("/tickets/").status_code == 200  # signed in on the pages
    assert_problem(client.get("/api/v1/tickets"), 401)
    assert_problem(client.post("/api/v1/tickets", json={"subject": "x"}), 401)


def test_routing_errors_inside_the_api_are_problems(app, api):
    client = api(gen_user(Role.CUSTOMER))
    body = assert_problem(client.get("/api/v1/no-such-thing"), 404, "not-found")
    assert body["instance"] == "/api/v1/no-such-thing"
    assert_problem(app.test_client().delete("/api/v1/org"), 405, "method-not-allowed")
    assert_problem(app.test_client().get("/api/v1/tickets/2026-00001/replies"), 405)
    # Outside the API the pages keep their HTML error page.
    page = app.test_client().get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_a_crash_inside_the_api_is_a_500_problem_with_an_error_id(make_app, monkeypatch):
    app = make_app(PROPAGATE_EXCEPTIONS=False, **UNTHROTTLED)
    app.test_client_class = IsolatedClient
    with app.app_context():
        secret = token_for(gen_user(Role.CUSTOMER))

    def broken(*args, **kwargs):
        raise RuntimeError("the database caught fire")

    monkeypatch.setattr("portal.plans.services.quota", broken)
    response = app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"})
    body = assert_problem(response, 500, "internal-error")
    assert "error ID" in body["detail"] and "fire" not in body["detail"]


def test_the_rate_limit_answers_429_with_retry_after(make_app):
    app = make_app(API_RATE_LIMIT="3 per minute", API_RATE_LIMIT_ANONYMOUS="2 per minute",
                   API_RATE_LIMIT_FILING="100 per minute")
    app.test_client_class = IsolatedClient
    with app.app_context():
        alice, bob = gen_user(Role.CUSTOMER), gen_user(Role.CUSTOMER)
        alice_secret, bob_secret = token_for(alice), token_for(bob)
    client = app.test_client()

    def get(secret, path="/api/v1/org"):
        return client.get(path, headers={"Authorization": f"Bearer {secret}"})

    # One budget for the whole API, whichever endpoints the token calls.
    answers = [get(alice_secret), get(alice_secret, "/api/v1/tickets"), get(alice_secret)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert "Retry-After" not in answers[0].headers
    refused = get(alice_secret, "/api/v1/tickets")
    body = assert_problem(refused, 429, "rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and "3 per 1 minute" in body["detail"]
    assert get(bob_secret).status_code == 200  # counted per token
    # Without a token: per address, with its own limit.
    assert [client.get("/api/v1/kb/search?q=quota").status_code for _ in range(3)] == [200, 200, 429]


def test_ids_beyond_the_database_integers_are_not_found(app, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    assert_problem(client.get(f"/api/v1/tickets/{ticket.reference}/attachments/2147483648"), 404)
    import base64

    huge = base64.urlsafe_b64encode(b"t99999999999").decode().rstrip("=")
    assert_problem(client.get(f"/api/v1/tickets?cursor={huge}"), 422, "validation-error")


def test_nul_characters_are_refused_not_stored(app, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    assert_problem(client.get("/api/v1/kb/search?q=quota%00"), 400, "malformed-request")
    assert_problem(client.get("/api/v1/tickets?status=new&status=open%00"), 400)
    assert_problem(client.get(f"/api/v1/tickets/{ticket.reference}%00"), 400)
    assert_problem(client.post(f"/api/v1/tickets/{ticket.reference}/replies", json={"body": "a\u0000b"}), 400)
    assert_problem(client.get("/api/v1/tickets?updated_since=0001-01-01T00:00:00%2B01:00"), 422, "validation-error")


def test_a_form_body_or_json_nested_too_deep_is_a_problem_not_an_error(app, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    fields = {"category": "question", "subject": "Export", "description": "Where is it?"}
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for path in ("/api/v1/tickets", f"/api/v1/tickets/{ticket.reference}/replies"):
            body = assert_problem(client.post(path, data=fields, content_type=content_type), 400, "malformed-request")
            assert "takes a JSON body" in body["detail"], path
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{ticket.reference}/replies",
                 f"/api/v1/tickets/{ticket.reference}/confirm"):
        body = assert_problem(client.post(path, data=deep, content_type="application/json"), 400, "malformed-request")
        assert "nested too deeply" in body["detail"], path
    shallow_enough = '{"subject": ' + "[" * 500 + "]" * 500 + "}"
    assert_problem(client.post("/api/v1/tickets", data=shallow_enough, content_type="application/json"), 422)
    assert len(ticket.messages) == 0


def test_behind_a_proxy_each_client_has_its_own_anonymous_budget(make_app):
    """PROXY_HOPS trusts the proxy's X-Forwarded-For; without it the header is ignored (it is forgeable)."""
    for hops, second_client in ((1, 200), (0, 429)):
        app = make_app(PROXY_HOPS=hops, API_RATE_LIMIT_ANONYMOUS="1 per minute")
        client = app.test_client()

        def search(address, client=client):
            return client.get("/api/v1/kb/search?q=quota", headers={"X-Forwarded-For": address}).status_code

        assert [search("203.0.113.7"), search("203.0.113.7"), search("198.51.100.2")] == [200, 429, second_client]
