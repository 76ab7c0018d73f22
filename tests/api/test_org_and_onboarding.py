"""GET /org and GET /onboarding: the organization page's figures, from the same services."""

from datetime import date, timedelta

from portal.auth.models import Role
from portal.onboarding import services as onboarding
from portal.plans import hours
from portal.tickets import billing
from tests.api.conftest import assert_problem
from tests.factories import gen_org, gen_ticket, gen_user
from tests.onboarding.conftest import NOW, START, new_customer
from tests.onboarding.conftest import expert  # noqa: F401  (a fixture)


def test_org_gives_plan_targets_hours_and_quota(app, api):
    org = gen_org(plan="standard", timezone="Europe/Madrid", started_on=date(2026, 1, 5))
    customer = gen_user(Role.CUSTOMER, org=org)
    gen_ticket(customer)
    response = api(customer).get("/api/v1/org")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["name"] == org.name and body["timezone"] == "Europe/Madrid"
    plan = body["plan"]
    assert plan["key"] == "standard" and plan["name"] == "Standard" and plan["started_on"] == "2026-01-05"
    assert {t["applies_to"]: t["due_minutes"] for t in plan["response_targets"]} == {
        "P1": 60, "P2": 180, "P3": 480, "P4": 1440}
    assert plan["support_hours"] == {"always": False, "timezone": "Europe/Madrid", "holidays": None, "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "08:00", "closes": "17:00"}]}
    # Unlimited plans count nothing, as on the page.
    assert body["quota"]["used"] == 0 and body["quota"]["limit"] is None and body["quota"]["left"] is None
    assert body["hours"] is None


def test_the_hours_balance_is_for_customer_admins(app, api, now):
    org = gen_org(plan="prepaid", started_on=now.date() - timedelta(days=30))
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org)
    hours.buy_hours(org, 5)
    body = api(admin).get("/api/v1/org").get_json()
    balance = billing.balance(org)
    assert body["hours"] == {"period_start": balance.period.start.isoformat(),
                             "period_end": balance.period.last_day.isoformat(),
                             "bought_minutes": 25 * 60, "used_minutes": 0, "left_minutes": 25 * 60, "state": "ok"}
    assert body["plan"]["support_hours"]["holidays"] == "ES-MD"
    assert api(gen_user(Role.CUSTOMER, org=org)).get("/api/v1/org").get_json()["hours"] is None


def test_staff_have_no_organization(app, api):
    for role in (Role.AGENT, Role.ADMIN, Role.WRITER):
        assert_problem(api(gen_user(role)).get("/api/v1/org"), 404, "not-found")


def test_onboarding_weeks_and_their_state(app, api, expert):  # noqa: F811
    customer = new_customer(START)
    slots = onboarding.week_slots(onboarding.program(customer.organization), 1, NOW)
    onboarding.book(customer, 1, expert.user_id, slots[0].starts_at, "tickets", now=NOW)
    body = api(customer).get("/api/v1/onboarding").get_json()
    assert body["included"] is True and body["sessions_included"] == 4 and body["booked"] == 1
    weeks = body["weeks"]
    assert [w["number"] for w in weeks] == [1, 2, 3, 4]
    assert weeks[0]["state"] == "booked" and weeks[0]["session"]["expert"] == "Eva Expert"
    assert weeks[0]["session"]["starts_at"] == slots[0].starts_at.isoformat() + "Z"
    assert weeks[1]["session"] is None and weeks[1]["state"] in ("not_booked", "week_over")


def test_onboarding_without_a_program_and_for_staff(app, api):
    org = gen_org(plan="standard", started_on=date(2020, 1, 6))
    body = api(gen_user(Role.CUSTOMER, org=org)).get("/api/v1/onboarding").get_json()
    assert body["included"] is True and {w["state"] for w in body["weeks"]} == {"week_over"}
    assert_problem(api(gen_user(Role.AGENT)).get("/api/v1/onboarding"), 403, "forbidden")
