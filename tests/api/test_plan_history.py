"""GET/POST /api/v1/organizations/{id}/plans (admins), and the plan in force in GET /api/v1/org."""

from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from portal.plans import services as plan_services
from tests.api.conftest import assert_problem
from tests.factories import gen_org, gen_plan, gen_user


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 12, 10, 12, 0), tick=False):
        yield


def _org():
    org = gen_org(plan="standard", started_on=date(2026, 1, 15), timezone="Europe/Madrid")
    gen_plan(org, "premium", date(2027, 1, 1), date(2027, 1, 31), trial=True, note="Evaluation")
    return org


def test_admins_read_the_history(app, api):
    org = _org()
    body = api(gen_user(Role.ADMIN)).get(f"/api/v1/organizations/{org.id}/plans").get_json()
    assert body["go_live"] == "2026-01-15"
    assert [(e["plan"], e["starts_on"], e["ends_on"], e["trial"]) for e in body["entries"]] == [
        ("standard", "2026-01-15", "2026-12-31", False), ("premium", "2027-01-01", "2027-01-31", True)]
    assert body["in_force"] == body["entries"][0]["id"] and body["entries"][1]["note"] == "Evaluation"
    assert body["next_change"]["on"] == "2027-01-01" and body["next_change"]["plan"]["name"] == "Premium"


def test_admins_add_a_change(app, api):
    org = _org()
    admin = gen_user(Role.ADMIN, email="ada@vendor.example.com")
    response = api(admin).post(f"/api/v1/organizations/{org.id}/plans",
                               json={"plan": "standard", "starts_on": "2027-02-01", "note": "After the trial"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["plan"], body["starts_on"], body["ends_on"], body["set_by"]) == (
        "standard", "2027-02-01", None, "ada@vendor.example.com")
    assert response.headers["Location"].endswith(f"/api/v1/organizations/{org.id}/plans")
    assert len(plan_services.history(org)) == 3
    db.session.rollback()
    recorded = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "plan.change")).all()[-1]
    assert (recorded.actor_email, recorded.organization_id, recorded.address) == (
        "ada@vendor.example.com", org.id, "127.0.0.1")
    assert recorded.detail["via"] == "api" and recorded.detail["plan"] == "standard"


def test_bad_changes_are_problems_and_change_nothing(app, api):
    org = _org()
    client = api(gen_user(Role.ADMIN))
    url = f"/api/v1/organizations/{org.id}/plans"
    overlap = assert_problem(client.post(url, json={"plan": "prepaid", "starts_on": "2027-01-15"}), 409, "plan-overlap")
    assert "Premium from 2027-01-01 until 2027-01-31" in overlap["detail"]
    unknown = assert_problem(client.post(url, json={"plan": "gold", "starts_on": "2027-03-01"}), 422,
                             "validation-error")
    assert unknown["errors"][0]["field"] == "plan" and "no plan 'gold'" in unknown["detail"]
    backwards = assert_problem(client.post(url, json={"plan": "premium", "starts_on": "2027-03-01",
                                                      "ends_on": "2027-02-01"}), 422, "validation-error")
    assert backwards["errors"][0]["field"] == "ends_on"
    assert_problem(client.post(url, json={"plan": "premium", "starts_on": "March"}), 422, "validation-error")
    assert_problem(client.post(url, json={"plan": "premium", "starts_on": "2027-03-01", "colour": "red"}), 422)
    assert len(plan_services.history(org)) == 2


def test_only_admins(app, api):
    org = _org()
    url = f"/api/v1/organizations/{org.id}/plans"
    for role in (Role.CUSTOMER, Role.CUSTOMER_ADMIN, Role.AGENT, Role.WRITER):
        user = gen_user(role, org=org if role.is_customer else None)
        assert_problem(api(user).get(url), 403, "forbidden")
        assert_problem(api(user).post(url, json={"plan": "premium", "starts_on": "2027-03-01"}), 403)
    assert_problem(api().get(url), 401)
    assert_problem(api(gen_user(Role.ADMIN)).get("/api/v1/organizations/2147483647/plans"), 404, "not-found")
    assert len(plan_services.history(org)) == 2


def test_org_shows_the_plan_in_force_and_the_next_change(app, api):
    org = _org()
    body = api(gen_user(Role.CUSTOMER, org=org)).get("/api/v1/org").get_json()
    assert body["go_live"] == "2026-01-15"
    plan = body["plan"]
    assert (plan["key"], plan["started_on"], plan["ends_on"], plan["trial"]) == (
        "standard", "2026-01-15", "2026-12-31", False)
    assert body["next_change"]["on"] == "2027-01-01"
    assert body["next_change"]["plan"]["plan"] == "premium" and body["next_change"]["plan"]["trial"] is True
