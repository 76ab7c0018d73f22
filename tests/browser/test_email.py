"""An agent on a phone deals with mail that matched nobody: assigns the demo's stranger's question
to a customer, and finds it on the ticket with its original."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_agent import _sign_in

pytestmark = pytest.mark.browser


def test_an_agent_assigns_unmatched_email_on_a_phone(demo_phone, live_server, page_errors):
    page = demo_phone
    _sign_in(page, live_server, "agent@portal.example.com")
    nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Email")
    expect(nav).to_contain_text("1")  # the stranger's question waits
    nav.click()
    card = page.locator(".card", has_text="Do you support single sign-on?")
    expect(card).to_contain_text("jordan.lee@mail.example.org")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off the screen
    card.get_by_label("Customer's email").fill("nobody@acme.example.com")
    card.get_by_role("button", name="Assign").click()
    card = page.locator(".card", has_text="Do you support single sign-on?")
    expect(card.locator(".field-error")).to_contain_text("No active customer has the address nobody@acme.example.com")
    expect(card.get_by_label("Customer's email")).to_have_value("nobody@acme.example.com")  # kept to correct
    card.get_by_label("Customer's email").fill("customer@acme.example.com")
    card.get_by_role("button", name="Assign").click()
    expect(page.locator(".flash")).to_contain_text("Assigned: it is now on")
    expect(page.locator(".empty")).to_contain_text("No email waits for an agent.")
    reference = page.locator(".flash").inner_text().split("on ")[-1].rstrip(".")
    page.goto(f"{live_server}/tickets/{reference}")
    expect(page.locator("h1")).to_have_text("Do you support single sign-on?")
    original = page.get_by_role("link", name="by email: original")
    expect(original).to_have_attribute("href", re.compile(r"^/agent/email/\d+\.eml$"))
    assert [e for e in page_errors if "422" not in e] == []  # the refused assignment is a 422 page, as intended
