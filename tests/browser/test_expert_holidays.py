"""An expert chooses Madrid's public holidays on their page (the region list comes by htmx), and a
customer's booking page then offers no slot on 8 December 2026."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from portal.auth.models import Role
from portal.onboarding import services
from tests.browser.test_agent import _sign_in
from tests.factories import PASSWORD, gen_org, gen_user

# Week 2 of a program started on Monday 30 November is 7-13 December, whatever the hour before it.
pytestmark = [pytest.mark.browser, pytest.mark.instants("wednesday-10:00-utc", "saturday-11:00-utc")]


def _offered_days(page, expert_id) -> set[str]:
    values = page.locator("input[name=slot]").evaluate_all("inputs => inputs.map(i => i.value)")
    return {m.group(1) for v in values if (m := re.fullmatch(rf"{expert_id}\|(\d{{4}}-\d\d-\d\d)T.*", v))}


def test_an_expert_takes_madrids_holidays_off_and_customers_see_no_slot_then(page, live_server, live_app,
                                                                               page_errors, now):
    with live_app.app_context():
        eva = gen_user(Role.AGENT, email="eva@vendor.example.com", name="Eva Expert")
        profile = services.make_expert(eva, "Europe/Madrid", "https://meet.example.com/eva")
        services.set_availability(profile, ["mon-fri 09:00-12:00"])
        expert_id = eva.id
        customer = gen_user(Role.CUSTOMER, email="lena@acme.example.com",
                            org=gen_org(plan="standard", timezone="Europe/Madrid", started_on=date(2026, 11, 30)))
        program = services.program(customer.organization)
        before = {s.starts_at.date().isoformat() for s in services.week_slots(program, 2, now)}
        assert {"2026-12-07", "2026-12-08", "2026-12-09"} <= before  # bookable until she says otherwise

    _sign_in(page, live_server, "eva@vendor.example.com", PASSWORD)
    page.goto(f"{live_server}/onboarding/expert/")
    page.wait_for_load_state("load")  # htmx is a deferred script
    page.evaluate("window.__samePage = true")
    page.get_by_label("Country").select_option("ES")
    region = page.get_by_label("Region")
    expect(region.locator("option[value=MD]")).to_have_text("Madrid (MD)")
    assert page.evaluate("window.__samePage") is True  # the region list came without a page load
    region.select_option("MD")
    page.get_by_role("button", name="Save public holidays").click()
    expect(page.locator(".flash")).to_contain_text("public holidays of ES-MD")
    holidays = page.locator("#holidays-title ~ ul")
    expect(holidays).to_contain_text("Immaculate Conception")
    expect(holidays).to_contain_text("Monday following Constitution Day")
    expect(page.get_by_label("Region")).to_have_value("MD")

    page.context.clear_cookies()
    _sign_in(page, live_server, "lena@acme.example.com", PASSWORD)
    page.goto(f"{live_server}/onboarding/week/2")
    expect(page.locator("input[name=slot]").first).to_be_attached()
    offered = _offered_days(page, expert_id)
    assert "2026-12-08" not in offered and "2026-12-07" not in offered
    assert {"2026-12-09", "2026-12-10", "2026-12-11"} <= offered
    assert page_errors == []
