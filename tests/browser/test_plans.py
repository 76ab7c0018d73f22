from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_plan_change_and_sees_it_next(page, live_server, live_app, page_errors):
    from portal.auth.models import Role
    from portal.plans import services as plan_services
    from tests.factories import PASSWORD, gen_org, gen_user

    with live_app.app_context():
        org = gen_org(name="Acme Browsers", plan="standard", started_on=date(2026, 1, 15))
        admin = gen_user(Role.ADMIN, email="ada@vendor.example.com", name="Ada Admin")
        org_id, email = org.id, admin.email
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")
    page.goto(f"{live_server}/org/{org_id}")
    expect(page.locator("#next-change")).to_contain_text("No change is planned.")
    page.wait_for_load_state("load")  # htmx is a deferred script
    page.evaluate("window.__samePage = true")

    history = page.locator("#plan-history")
    history.get_by_label("Plan", exact=True).select_option("premium")
    history.get_by_label("From").fill("2099-01-01")
    history.get_by_label("Until (included, optional)").fill("2098-12-01")  # before the start: refused
    history.get_by_label("Note").fill("Order PO-118")
    history.get_by_role("button", name="Add the change").click()
    expect(history.locator(".field-error")).to_contain_text("comes before the first (2099-01-01)")
    expect(history.get_by_label("Note")).to_have_value("Order PO-118")  # what was typed is kept

    history.get_by_label("Until (included, optional)").fill("")
    history.get_by_role("button", name="Add the change").click()
    expect(page.locator(".flash")).to_contain_text("Plan change saved: Premium from 2099-01-01.")
    expect(page.locator("#next-change")).to_contain_text("From January 1, 2099: Premium.")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").nth(1)).to_contain_text("Order PO-118")
    expect(history.locator("tbody tr").nth(1)).to_contain_text("Ada Admin")
    assert page.evaluate("window.__samePage") is True  # boosted: no whole page load
    assert [e for e in page_errors if "422" not in e] == []  # the refused change answered 422, on purpose
    with live_app.app_context():
        from portal.auth.models import Organization
        from portal.extensions import db

        entries = plan_services.history(db.session.get(Organization, org_id))
        assert [(e.plan, e.ends_on) for e in entries] == [("standard", date(2098, 12, 31)), ("premium", None)]
