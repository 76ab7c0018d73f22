"""Several app servers share one rate-limit budget per token through Redis (a real
redis-server on 127.0.0.1, as CI installs it from Debian's packages)."""

from __future__ import annotations

from portal.auth.models import Role
from tests.api.conftest import token_for
from tests.conftest import IsolatedClient
from tests.factories import gen_user


def _server(make_app, storage: str):
    """One app server: its own rate-limit storage connection (init_app makes a new one)."""
    app = make_app(API_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=storage)
    app.test_client_class = IsolatedClient
    return app


def _get_org(app, secret):
    return app.test_client().get("/api/v1/org", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_servers_share_each_tokens_budget_through_redis(make_app, redis_url):
    first = _server(make_app, redis_url)
    with first.app_context():
        secret = token_for(gen_user(Role.CUSTOMER))
    assert [_get_org(first, secret) for _ in range(2)] == [200, 200]
    second = _server(make_app, redis_url)  # another server: a fresh connection, the same counts
    assert [_get_org(second, secret) for _ in range(2)] == [200, 429]


def test_in_memory_counts_belong_to_one_server(make_app):
    """The default: each server counts alone (what the Redis setting is for)."""
    first = _server(make_app, "memory://")
    with first.app_context():
        secret = token_for(gen_user(Role.CUSTOMER))
    assert [_get_org(first, secret) for _ in range(2)] == [200, 200]
    second = _server(make_app, "memory://")
    assert [_get_org(second, secret) for _ in range(2)] == [200, 200]
