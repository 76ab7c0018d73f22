"""An agent files a ticket by phone for a customer who called; the customer then finds it in their list."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.tickets.models import Ticket
from tests.browser.conftest import sign_in

# Wednesday 10:00 UTC: 10:00 in London, inside the phone hours of Acme's Standard plan.
pytestmark = [pytest.mark.browser, pytest.mark.instants("wednesday-10:00-utc")]


def test_an_agent_files_by_phone_and_the_customer_sees_it(browser, page, live_server, live_app, page_errors, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    sign_in(page, live_server, "agent@portal.example.com")
    page.goto(f"{live_server}/agent/")
    page.get_by_role("link", name="File for a customer").click()
    expect(page.locator("h1")).to_have_text("File a ticket for a customer")
    expect(page.locator("#channel")).to_have_value("phone")

    page.locator("#requester").select_option(label="Ana Customer <customer@acme.example.com>")
    notice = page.locator("#channel-notice")
    expect(notice).to_contain_text("Acme Logistics's plan (Standard) takes tickets by phone: Mon–Fri 08:00–17:00")
    page.locator("#channel").select_option("visit")  # Standard has no on-site visits: told before sending
    expect(notice).to_contain_text("takes new tickets through web, email, phone, not visit.")
    page.locator("#channel").select_option("phone")
    expect(notice).to_contain_text("takes tickets by phone")

    page.locator("#category").select_option("question")
    page.locator("#subject").fill("Reprint a week of delivery notes")
    page.locator("#description").fill("Ana phoned: she needs last week's delivery notes printed again for an audit.")
    page.locator("input[name=impact][value=low]").check()
    page.locator("input[name=urgency][value=high]").check()
    expect(page.locator("#computed-priority")).to_contain_text("P3")
    page.get_by_role("button", name="File the ticket").click()

    expect(page.locator(".flash")).to_contain_text("filed for Ana Customer (Acme Logistics)")
    expect(page.locator("h1")).to_contain_text("Reprint a week of delivery notes")
    expect(page.get_by_text("Sam Agent filed the ticket (P3) by phone on behalf of Ana Customer.")).to_be_visible()
    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.subject == "Reprint a week of delivery notes"))
        assert (ticket.channel.value, ticket.requester.email, ticket.filed_by.email) == (
            "phone", "customer@acme.example.com", "agent@portal.example.com")
        reference = ticket.reference

    customer = browser.new_context()
    mine = customer.new_page()
    sign_in(mine, live_server, "customer@acme.example.com")
    mine.goto(f"{live_server}/tickets/")
    row = mine.locator("tr", has=mine.get_by_role("link", name=reference))
    expect(row).to_contain_text("Reprint a week of delivery notes")
    expect(row.locator(".channel-flag")).to_have_text("by phone")
    row.get_by_role("link", name=reference).click()
    expect(mine.locator("h1")).to_contain_text("Reprint a week of delivery notes")
    customer.close()
    assert page_errors == []
    assert re.fullmatch(r"\d{4}-\d{5}", reference)
