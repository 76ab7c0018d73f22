"""The audit log on a phone: its table scrolls in its own box, the page stays the screen's width."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_agent import _sign_in

pytestmark = pytest.mark.browser


def test_the_audit_log_fits_a_phone(demo_phone, live_server):
    page = demo_phone
    _sign_in(page, live_server, "admin@portal.example.com")
    page.goto(f"{live_server}/agent/audit")
    region = page.get_by_role("region", name="Audit log")
    expect(region.locator("tbody tr").first).to_contain_text("Signed in")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off the screen
    assert region.evaluate("box => box.scrollWidth > box.clientWidth")  # the table scrolls inside its box
