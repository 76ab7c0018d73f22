"""An agent schedules an on-site visit on the organization's page (a refusal first, shown beside the
consultant with the address kept), then logs a video call without a ticket and finds it in the ledger."""

import pytest
from playwright.sync_api import expect

from portal.auth import services as accounts
from tests.browser.test_agent import _sign_in

pytestmark = [pytest.mark.browser, pytest.mark.instants("wednesday-10:00-utc")]


def test_an_agent_schedules_a_visit_and_logs_a_video_call(page, live_server, live_app, page_errors, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)  # Sam visits Nubes on Thursday 3 December
        nubes, flujo = (accounts.organization_by_name(n).id for n in ("Nubes y Datos S.L.", "Flujo Retail"))
    _sign_in(page, live_server, "agent@portal.example.com")
    page.goto(f"{live_server}/org/{nubes}")
    page.wait_for_load_state("load")  # htmx is a deferred script
    page.evaluate("window.__samePage = true")
    visits = page.locator("#visits")
    expect(visits).to_contain_text("Sam Agent")
    form = page.locator("form[aria-labelledby=schedule-visit-title]")
    form.get_by_label("Day").fill("2026-12-03")
    form.get_by_label("Consultant").select_option(label="Sam Agent")
    form.get_by_label("Address").fill("Calle de Alcalá 42, Madrid")
    form.get_by_label("Agenda").fill("Second day: purchase orders")
    form.get_by_role("button", name="Schedule the visit").click()
    expect(page.locator("#visit-consultant-error")).to_contain_text("Sam Agent already has a visit on 2026-12-03")
    form = page.locator("form[aria-labelledby=schedule-visit-title]")
    expect(form.get_by_label("Address")).to_have_value("Calle de Alcalá 42, Madrid")
    expect(form.get_by_label("Agenda")).to_have_value("Second day: purchase orders")
    form.get_by_label("Day").fill("2026-12-04")
    form.get_by_label("Consultant").select_option(label="Ada Admin")
    form.get_by_role("button", name="Schedule the visit").click()
    expect(page.locator(".flash")).to_contain_text("Visit scheduled: Ada Admin on 2026-12-04.")
    expect(page.locator("#visits .visit-list").first).to_contain_text("Friday, December 4, 2026")
    assert page.evaluate("window.__samePage") is True  # both answers came through htmx

    page.goto(f"{live_server}/org/{flujo}")
    log = page.locator("#log-time")
    log.get_by_label("Spent on").select_option("video_call")
    log.get_by_label("Minutes spent").fill("45")
    expect(page.locator("#org-time-preview")).to_contain_text("45 min")
    log.get_by_label("Note").fill("Dashboards with Fran")
    log.get_by_role("button", name="Log time").click()
    expect(page.locator(".flash")).to_contain_text("Time logged.")
    ledger = page.locator("#support-hours table")
    expect(ledger).to_contain_text("Video call")
    expect(ledger).to_contain_text("Dashboards with Fran")
    assert [e for e in page_errors if "422" not in e] == []  # the refused visit answered 422, on purpose
