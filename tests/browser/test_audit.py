"""The audit log on a phone: its table scrolls in its own box, the page stays the screen's width."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_agent import _sign_in

pytestmark = pytest.mark.browser


def test_the_audit_log_fits_a_phone(browser, live_server, live_app, page_errors, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    _sign_in(page, live_server, "admin@portal.example.com")
    page.goto(f"{live_server}/agent/audit")
    region = page.get_by_role("region", name="Audit log")
    expect(region.locator("tbody tr").first).to_contain_text("Signed in")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off the screen
    assert region.evaluate("box => box.scrollWidth > box.clientWidth")  # the table scrolls inside its box
