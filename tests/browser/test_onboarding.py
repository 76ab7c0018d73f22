import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.onboarding.models import OnboardingSession, ProgramFeedback

# The program's weeks are counted from the start day in the customer's zone: a new
# UTC day, Friday evening and the day Madrid's clocks go back.
pytestmark = [pytest.mark.browser,
              pytest.mark.instants("thursday-00:03-utc", "friday-17:59-madrid", "dst-end-sunday-madrid")]


def _sign_in(page, live_server, email, password="portal-demo"):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")


def test_book_then_reschedule_an_onboarding_session(page, live_server, live_app, page_errors, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    _sign_in(page, live_server, "admin@acme.example.com")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Onboarding").click()
    expect(page.locator("#week-1")).to_contain_text("Done")
    page.wait_for_load_state("load")  # htmx is a deferred script
    page.evaluate("window.__samePage = true")
    page.locator("#week-3").get_by_role("link", name="Book").click()
    slots = page.locator("#week-3-slots input[name=slot]")
    expect(slots.first).to_be_visible()
    assert page.evaluate("window.__samePage") is True  # the slots came in without a page load
    first_label = page.locator("#week-3-slots label.slot").first.inner_text()
    slots.first.check()
    page.locator("#week-3-slots select[name=feature_area]").select_option("plans")
    page.locator("#week-3-slots textarea[name=questions]").fill("How is the monthly quota counted?")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.locator("h1")).to_contain_text("Onboarding session 3")
    expect(page.locator(".flash")).to_contain_text("Booked")
    expect(page.get_by_text("How is the monthly quota counted?")).to_be_visible()
    with live_app.app_context():
        booked = db.session.scalar(select(OnboardingSession).where(OnboardingSession.week == 3))
        first_start = booked.starts_at
    assert re.search(r"\d\d:\d\d", first_label)

    page.get_by_role("link", name="Reschedule").click()
    page.locator("input[name=slot]").nth(1).check()
    page.get_by_role("button", name="Move the session").click()
    expect(page.locator(".flash")).to_contain_text("moved")
    with live_app.app_context():
        moved = db.session.scalar(select(OnboardingSession).where(OnboardingSession.week == 3))
        assert moved.starts_at != first_start and moved.sequence == 1
    assert page_errors == []


def test_give_feedback_at_the_end_of_the_program(page, live_server, live_app, page_errors, now):
    from portal.auth.models import Role
    from tests.factories import PASSWORD, gen_org, gen_user

    with live_app.app_context():
        org = gen_org(plan="standard", started_on=now.date() - timedelta(days=45))
        user = gen_user(Role.CUSTOMER_ADMIN, org=org, email="lena@finished.example.com")
        email = user.email
    _sign_in(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/onboarding/")
    page.get_by_role("link", name="Give feedback").click()
    for name, score in (("usefulness", "5"), ("clarity", "4"), ("pace", "3")):
        page.locator(f"input[name={name}][value='{score}']").check()
    page.get_by_label("Comments").fill("More examples with real data, please.")
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator(".field-error")).to_contain_text("Give a score from 1 to 5.")
    expect(page.get_by_label("Comments")).to_have_value("More examples with real data, please.")
    page.locator("input[name=expert_score][value='5']").check()
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator(".flash")).to_contain_text("Thank you for your feedback")
    with live_app.app_context():
        feedback = db.session.scalar(select(ProgramFeedback))
        assert (feedback.usefulness, feedback.clarity, feedback.pace, feedback.expert_score) == (5, 4, 3, 5)
    # The refused form came back as a 422 on purpose; nothing else may have gone wrong.
    assert [e for e in page_errors if "422" not in e] == []
