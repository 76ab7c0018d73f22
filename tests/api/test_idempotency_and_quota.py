"""Idempotency-Key on POST /tickets, and the monthly quota refused as a problem."""

from pathlib import Path

from sqlalchemy import func, select

from portal.api.models import IdempotencyKey
from portal.auth.models import Role
from portal.extensions import db
from portal.plans import services as plan_services
from portal.plans.models import QuotaUsage
from portal.tickets.models import Ticket
from tests.api.conftest import assert_problem, token_for
from tests.api.test_tickets import GOOD
from tests.conftest import run_in_threads
from tests.factories import gen_org, gen_user

PLANS_FILE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "support-levels.toml"


def _monthly_customer(now, role=Role.CUSTOMER):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    return gen_user(role, org=org)


def _count(model=Ticket) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_retry_with_the_same_key_returns_the_same_ticket_and_uses_the_quota_once(app, api, now):
    customer = _monthly_customer(now)
    client = api(customer)
    key = {"Idempotency-Key": "3f1c2a9e-3b7d-4c55-9e0a-1d2f8b4c7a31"}
    first = client.post("/api/v1/tickets", json=GOOD, headers=key)
    again = client.post("/api/v1/tickets", json=dict(reversed(GOOD.items())), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["reference"] == first.get_json()["reference"]
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count() == 1 and plan_services.quota(customer.organization).used == 1
    other = client.post("/api/v1/tickets", json=GOOD, headers={"Idempotency-Key": "another"})
    assert other.get_json()["reference"] != first.get_json()["reference"]
    assert plan_services.quota(customer.organization).used == 2


def test_the_same_key_with_another_body_is_refused(app, api, now):
    client = api(_monthly_customer(now))
    key = {"Idempotency-Key": "k-1"}
    assert client.post("/api/v1/tickets", json=GOOD, headers=key).status_code == 201
    assert_problem(client.post("/api/v1/tickets", json={**GOOD, "subject": "Something else entirely"},
                               headers=key), 422, "idempotency-key-reused")
    assert _count() == 1


def test_keys_belong_to_their_user(app, api):
    org = gen_org()
    alice, bob = gen_user(Role.CUSTOMER, org=org), gen_user(Role.CUSTOMER, org=org)
    key = {"Idempotency-Key": "shared-key"}
    one = api(alice).post("/api/v1/tickets", json=GOOD, headers=key).get_json()
    two = api(bob).post("/api/v1/tickets", json=GOOD, headers=key).get_json()
    assert one["reference"] != two["reference"] and _count() == 2


def test_a_refused_filing_frees_its_key(app, api):
    client = api(gen_user(Role.CUSTOMER))
    key = {"Idempotency-Key": "fix-and-retry"}
    assert_problem(client.post("/api/v1/tickets", json={**GOOD, "subject": "Hi"}, headers=key), 422,
                   "validation-error")
    assert _count(IdempotencyKey) == 0
    assert client.post("/api/v1/tickets", json=GOOD, headers=key).status_code == 201


def test_concurrent_duplicates_file_one_ticket(app, now):
    customer = _monthly_customer(now)
    secret = token_for(customer)

    def post(_i):
        response = app.test_client().post("/api/v1/tickets", json=GOOD, headers={
            "Authorization": f"Bearer {secret}", "Idempotency-Key": "same-moment"})
        return response.status_code, (response.get_json() or {}).get("reference")

    results, failures = run_in_threads(app, 6, post)
    assert not failures
    filed = {ref for status, ref in results if status == 201}
    assert len(filed) == 1, results
    # The others got the same ticket back, or were told the first request is still running.
    assert {status for status, _ in results} <= {201, 409}
    assert _count() == 1 and plan_services.quota(customer.organization).used == 1


def test_quota_refused_is_a_409_problem_with_when_it_resets(app, api, now):
    customer = _monthly_customer(now)
    quota = plan_services.quota(customer.organization)
    db.session.merge(QuotaUsage(organization_id=customer.organization_id, month=quota.month, used=40))
    db.session.commit()
    body = assert_problem(api(customer).post("/api/v1/tickets", json=GOOD, headers={"Idempotency-Key": "q"}),
                          409, "ticket-quota-exceeded")
    assert body["limit"] == 40 and body["used"] == 40
    assert body["resets_at"] == quota.resets_at.isoformat() + "Z"
    assert _count() == 0 and _count(IdempotencyKey) == 0
