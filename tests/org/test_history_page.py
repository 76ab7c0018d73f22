"""The organization page's plan history: admins read and change it, customers see what changes next."""

from datetime import date, datetime

import pytest
import time_machine

from portal.auth.models import Role
from portal.extensions import db
from portal.plans import services as plan_services
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_plan, gen_user

TODAY = datetime(2026, 12, 10, 12, 0)  # the page's "now", frozen


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def _org():
    org = gen_org(name="Acme", plan="standard", started_on=date(2026, 1, 15), timezone="Europe/Madrid")
    gen_plan(org, "premium", date(2027, 1, 1), date(2027, 1, 31), trial=True, note="Evaluation")
    return org


def _change(client, org, **fields):
    data = {"plan": "premium", "starts_on": "", "ends_on": "", "note": "",
            "csrf_token": csrf_token(client, f"/org/{org.id}"), **fields}
    return client.post(f"/org/{org.id}/plans", data=data)


def test_customers_see_their_plan_and_what_changes_next_but_not_the_history(app, client, auth):
    org = _org()
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "Standard" in page and "Since" in page and "January 15, 2026" in page
    assert "What changes next:" in page and "From January 1, 2027: Premium (trial until January 31, 2027)." in page
    assert "Plan history" not in page and "Add a plan change" not in page


def test_admins_see_the_history_and_add_a_change(app, client, auth):
    org = _org()
    admin = gen_user(Role.ADMIN, name="Ada Admin")
    auth.login(admin.email)
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "Plan history" in page and "Evaluation" in page and "(in force)" in page
    assert 'name="csrf_token"' in page and 'action="/org/%d/plans"' % org.id in page
    response = _change(client, org, plan="standard", starts_on="2027-02-01", note="Back after the trial")
    assert response.status_code == 302 and response.location.endswith(f"/org/{org.id}#plan-history")
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "Plan change saved: Standard from 2027-02-01." in page and "Back after the trial" in page
    assert "Ada Admin" in page
    assert [(e.plan, e.ends_on) for e in plan_services.history(org)] == [
        ("standard", date(2026, 12, 31)), ("premium", date(2027, 1, 31)), ("standard", None)]


def test_a_refused_change_keeps_what_was_typed_and_says_why(app, client, auth):
    org = _org()
    auth.login(gen_user(Role.ADMIN).email)
    for fields, message in (
        ({"starts_on": "2027-01-20", "note": "Keep this note"}, "These dates overlap Premium from 2027-01-01"),
        ({"starts_on": "2027-03-01", "ends_on": "2027-02-01", "note": "Keep this note"}, "comes before the first"),
        ({"starts_on": "next monday", "note": "Keep this note"}, "Enter a date like 2026-11-22."),
        ({"starts_on": "", "note": "Keep this note"}, "Enter the first day of the plan."),
        ({"plan": "gold", "starts_on": "2027-03-01", "note": "Keep this note"}, "There is no plan &#39;gold&#39;"),
        ({"starts_on": "2027-03-01", "trial": "y", "note": "Keep this note"}, "A trial needs the day it ends."),
    ):
        response = _change(client, org, **fields)
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, (fields, page[-3000:])
        assert 'value="Keep this note"' in page and 'class="field-error"' in page
        assert f'value="{fields["starts_on"]}"' in page
    assert len(plan_services.history(org)) == 2


def test_admins_correct_the_go_live_date(app, client, auth):
    org = _org()
    auth.login(gen_user(Role.ADMIN).email)
    token = csrf_token(client, f"/org/{org.id}")
    response = client.post(f"/org/{org.id}/go-live", data={"go_live": "2026-02-02", "csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert org.started_on == date(2026, 2, 2) and plan_services.history(org)[0].starts_on == date(2026, 2, 2)
    response = client.post(f"/org/{org.id}/go-live", data={"go_live": "2027-01-05", "csrf_token": token})
    assert response.status_code == 422 and "cannot come after it" in response.get_data(as_text=True)
    assert 'value="2027-01-05"' in response.get_data(as_text=True)


def test_boosted_posts_get_the_page_back(app, client, auth):
    org = _org()
    auth.login(gen_user(Role.ADMIN).email)
    data = {"plan": "premium", "starts_on": "2027-01-20", "csrf_token": csrf_token(client, f"/org/{org.id}")}
    response = client.post(f"/org/{org.id}/plans", data=data, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.status_code == 422 and "<html" in response.get_data(as_text=True)  # htmx swaps 422s


def test_only_admins_change_plans(app, client, auth):
    org = _org()
    other = gen_org(name="Other Ltd", plan="standard", started_on=date(2026, 1, 15))
    before = len(plan_services.history(org))
    customer_admin = gen_user(Role.CUSTOMER_ADMIN, org=other)
    auth.login(customer_admin.email)
    token = csrf_token(client, "/org")
    for path in (f"/org/{org.id}/plans", f"/org/{other.id}/plans", f"/org/{other.id}/go-live"):
        # Another organization's page is a 404 to customers, their own page by id too, as on GET.
        assert client.post(path, data={"plan": "premium", "starts_on": "2027-03-01", "go_live": "2026-03-01",
                                       "csrf_token": token}).status_code == 404
    assert "Plan history" not in client.get("/org").get_data(as_text=True)
    auth.logout()
    auth.login(gen_user(Role.AGENT).email)
    assert "Plan history" not in client.get(f"/org/{org.id}").get_data(as_text=True)
    response = client.post(f"/org/{org.id}/plans", data={"plan": "premium", "starts_on": "2027-03-01",
                                                         "csrf_token": csrf_token(client, f"/org/{org.id}")})
    assert response.status_code == 403
    auth.logout()
    auth.login(gen_user(Role.ADMIN).email)
    assert client.post(f"/org/{org.id}/plans", data={"plan": "premium", "starts_on": "2027-03-01"}).status_code == 400
    assert client.post("/org/2147483647/plans", data={
        "plan": "premium", "starts_on": "2027-03-01", "csrf_token": csrf_token(client, f"/org/{org.id}")}
    ).status_code == 404
    assert len(plan_services.history(org)) == before
    db.session.expire_all()
    assert other.started_on == date(2026, 1, 15)


def test_a_day_without_a_plan_is_explained(app, client, auth):
    org = gen_org(plan="standard", started_on=date(2026, 1, 15))
    gen_plan(org, "premium", date(2026, 6, 1), date(2026, 11, 30))  # ended Standard on 31 May, then a gap
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "no support plan in force today, so no tickets can be filed" in page
    assert "No change is planned." in page


def test_the_page_in_spanish(app, client, auth):
    org = _org()
    customer = gen_user(Role.CUSTOMER, org=org, locale="es")
    auth.login(customer.email)
    page = client.get("/org").get_data(as_text=True)
    assert "Próximo cambio:" in page and "Desde el 1 de enero de 2027: Premium (prueba hasta el 31 de enero de 2027)." \
        in page
