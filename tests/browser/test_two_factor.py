from datetime import UTC, timedelta

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.test_agent import _sign_in

pytestmark = pytest.mark.browser


def test_turn_on_two_step_sign_in_then_sign_in_with_a_code(page, live_server, live_app, page_errors, now):
    from portal.auth.models import Role
    from tests.factories import PASSWORD, gen_user

    with live_app.app_context():
        email = gen_user(Role.CUSTOMER, email="ana@example.com", name="Ana").email
    _sign_in(page, live_server, email, PASSWORD)
    page.goto(f"{live_server}/account")
    page.get_by_role("link", name="Turn on two-step sign-in").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: URI loaded under the CSP
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code").fill("000000")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".field-error")).to_contain_text("That code is not right")
    page.get_by_label("Code").fill(totp.at(now.replace(tzinfo=UTC)))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page.locator("#two-factor")).to_contain_text("10 recovery codes left.")

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{live_server}/login?next=/account")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-step sign-in")).to_be_visible()
    page.get_by_label("Code").fill(totp.at(now.replace(tzinfo=UTC) + timedelta(seconds=30)))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash")).to_contain_text("Welcome back")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()  # next= kept through the code
    assert [e for e in page_errors if "422" not in e] == []  # the wrong code answered 422, on purpose


def test_two_step_pages_have_no_serious_accessibility_violations(browser, live_server, live_app, now):
    import json

    from portal.auth.models import Role
    from tests.browser.test_accessibility import AXE
    from tests.factories import PASSWORD, gen_user

    with live_app.app_context():
        email = gen_user(Role.CUSTOMER, email="ana@example.com").email
    context = browser.new_context(bypass_csp=True)  # axe is added as a script
    page = context.new_page()
    problems = {}

    def check(name):
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")]
        if serious:
            problems[name] = serious

    def password_step():
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

    password_step()
    page.goto(f"{live_server}/account/two-factor")
    check("set-up")
    secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("Code").fill("000000")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    check("set-up with a wrong code")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(now.replace(tzinfo=UTC)))
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on").click()
    check("recovery codes")
    page.goto(f"{live_server}/account")
    check("account, two-step sign-in on")
    context.clear_cookies()
    password_step()
    check("the code step")
    context.close()
    assert not problems, json.dumps(problems, indent=1)
