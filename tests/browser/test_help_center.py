import re

from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.kb.models import ArticleVote, SearchEvent

pytestmark = __import__("pytest").mark.browser


def test_header_search_as_you_type_open_article_and_vote(page, live_server, live_app, page_errors):
    page.goto(f"{live_server}/kb/")
    page.evaluate("window.__samePage = true")
    page.locator("#header-q").press_sequentially("pasword res", delay=40)
    first = page.locator("#header-results .result-title").first
    expect(first).to_contain_text("password", ignore_case=True)
    assert page.evaluate("window.__samePage") is True  # no page load happened
    expect(page.locator("#header-results")).to_contain_text("See all")

    first.click()
    expect(page).to_have_url(re.compile(r"/kb/how-do-i-reset-my-password\?"))
    expect(page.locator("h1")).to_have_text("How do I reset my password?")
    page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="Yes").click()
    expect(page.locator("#vote")).to_contain_text("Thank you for your feedback.")
    expect(page.get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.__samePage") is True
    assert page_errors == []

    with live_app.app_context():
        vote = db.session.scalar(select(ArticleVote))
        assert (vote.slug, vote.helpful) == ("how-do-i-reset-my-password", True)
        searches = db.session.scalars(select(SearchEvent)).all()
        assert len(searches) == 1 and searches[0].query.startswith("pasword")


def test_search_page_updates_results_and_address(page, live_server, page_errors):
    page.goto(f"{live_server}/kb/search")
    page.evaluate("window.__samePage = true")
    page.locator("#q").press_sequentially("quota", delay=40)
    expect(page.locator("#results .result-title").first).to_contain_text("quota", ignore_case=True)
    expect(page).to_have_url(re.compile(r"q=quota"))
    page.locator("select[name=type]").select_option("faq")
    expect(page).to_have_url(re.compile(r"type=faq"))
    badges = page.locator("#results .type-badge")
    expect(badges.first).to_have_text("FAQ")
    assert set(badges.all_inner_texts()) == {"FAQ"}
    assert page.evaluate("window.__samePage") is True
    assert page_errors == []


def test_slash_focuses_the_search_and_escape_closes_results(page, live_server):
    page.goto(f"{live_server}/kb/priorities-explained")
    page.keyboard.press("/")
    expect(page.locator("#header-q")).to_be_focused()
    page.keyboard.type("ticket")
    expect(page.locator("#header-results .result").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#header-results .result")).to_have_count(0)


def test_the_help_center_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/kb/")
    page.locator("#hero-q").fill("bearer token")
    page.locator("#hero-q").press("Enter")
    expect(page.locator("#results .result-title").first).to_contain_text("API authentication")
    page.locator("#results .result-title").first.click()
    page.get_by_role("button", name="No").click()
    expect(page.locator(".flash")).to_contain_text("Thank you")
    context.close()


def test_sign_in_with_a_demo_account(page, live_server, live_app, now):
    from portal.demo import seed_demo

    with live_app.app_context():
        seed_demo(now)
    page.goto(f"{live_server}/kb/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("writer@portal.example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field-error")).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value("writer@portal.example.com")
    page.get_by_label("Password").fill("portal-demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back, Wren Writer")
    expect(page.get_by_role("link", name="Content gaps")).to_be_visible()
