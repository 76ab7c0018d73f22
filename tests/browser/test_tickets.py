import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.tickets.models import Attachment, Suggestion, Ticket

# Filing goes through the quota, the SLA start and the year's references: a new
# UTC day, a weekend and the year's last minute.
pytestmark = [pytest.mark.browser,
              pytest.mark.instants("thursday-00:03-utc", "saturday-11:00-utc", "new-year-eve-23:59-utc")]


@pytest.fixture
def customer_page(page, live_server, live_app, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill("customer@acme.example.com")
    page.get_by_label("Password").fill("portal-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")
    return page


def test_file_a_ticket_after_reading_a_suggestion(customer_page, live_server, live_app, tmp_path, page_errors):
    page = customer_page
    page.goto(f"{live_server}/tickets/new")
    page.select_option("select[name=category]", "technical_issue")
    page.locator("#subject").press_sequentially("cannot reset my password", delay=30)
    suggestion = page.locator("#suggestions a", has_text="reset my password")
    expect(suggestion).to_be_visible()
    page.evaluate("window.__samePage = true")
    suggestion.click()
    expect(page.locator("#suggestion-preview")).to_contain_text("This solved my problem")
    page.get_by_role("button", name="Continue with my ticket").click()
    expect(page.locator("#suggestion-preview")).to_be_empty()
    assert page.evaluate("window.__samePage") is True  # nothing typed was lost

    page.locator("#description").fill("The reset link says it expired although I just asked for it.")
    page.get_by_label("Steps to reproduce").fill("1. Sign-in page 2. Forgot password 3. Open the link")
    page.get_by_label("Affected user account").fill("ana@acme.example.com")
    page.locator("input[name=impact][value=high]").check()
    page.locator("input[name=urgency][value=high]").check()
    expect(page.locator("#computed-priority")).to_contain_text("P1")
    screenshot = tmp_path / "error.png"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(screenshot)
    page.locator("input[name=files]").set_input_files(str(screenshot))
    page.get_by_role("button", name="File the ticket").click()

    expect(page.locator("h1")).to_have_text("Thank you, we have your ticket")
    reference = page.locator(".reference").inner_text()
    assert re.fullmatch(r"\d{4}-\d{5}", reference)
    page.get_by_role("link", name="See the ticket").click()
    expect(page.locator("img.thumb")).to_be_visible()
    assert page_errors == []

    with live_app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.reference == reference))
        assert ticket.priority.value == "P1" and ticket.subject == "cannot reset my password"
        assert db.session.scalar(select(Attachment.filename).where(Attachment.ticket_id == ticket.id)) == "error.png"
        actions = set(db.session.scalars(select(Suggestion.action).where(Suggestion.ticket_id == ticket.id)))
        assert {"shown", "opened", "rejected"} <= actions


def test_a_suggestion_that_solves_the_problem_files_nothing(customer_page, live_server, live_app):
    page = customer_page
    page.goto(f"{live_server}/tickets/new")
    page.locator("#subject").press_sequentially("monthly ticket quota reached", delay=30)
    page.locator("#suggestions a").first.click()
    page.get_by_role("button", name="This solved my problem").click()
    expect(page.locator("h1")).to_have_text("Glad that helped")
    with live_app.app_context():
        assert db.session.scalar(select(Ticket).where(Ticket.subject.contains("quota"))) is None  # only demo tickets
        assert db.session.scalar(select(Suggestion.action).where(Suggestion.action == "solved")) == "solved"
