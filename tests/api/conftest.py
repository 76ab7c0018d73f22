"""The API's tests: an app whose rate limits never get in the way (one test sets
a small one on purpose), and a client that sends a personal token."""

from __future__ import annotations

import pytest

from portal.api import services as api_services
from portal.extensions import db
from tests.conftest import IsolatedClient

UNTHROTTLED = {"API_RATE_LIMIT": "100000 per minute", "API_RATE_LIMIT_ANONYMOUS": "100000 per minute",
               "API_RATE_LIMIT_FILING": "100000 per minute"}


@pytest.fixture
def app(make_app, request):
    plans = getattr(request.module, "PLANS_FILE", None)
    extra = {"PLANS_FILE": str(plans)} if plans else {}
    app = make_app(**UNTHROTTLED, **extra)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()


def token_for(user, name: str = "tests") -> str:
    return api_services.create_token(user, name)[1]


class ApiClient:
    """The test client with ``Authorization: Bearer`` set for one user."""

    def __init__(self, client, secret: str | None = None):
        self.client, self.secret = client, secret

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.secret}"} if self.secret else {}
        merged.update(headers or {})
        return merged

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, headers=None, **kwargs):
        return self.client.post(path, headers=self._headers(headers), **kwargs)


@pytest.fixture
def api(client):
    """``api(user)``: a client that calls the API with a new token of ``user`` (None: no token)."""
    def make(user=None):
        return ApiClient(client, token_for(user) if user is not None else None)

    return make


def assert_problem(response, status: int, slug: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    assert body["detail"] and body["title"]
    if slug:
        assert body["type"].endswith(f"#{slug}"), body["type"]
    return body
