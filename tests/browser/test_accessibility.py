"""axe-core on the main pages, light and dark: no serious or critical violations."""

import json

import pytest

from tests.conftest import REPO

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ["/kb/", "/kb/search?q=ticket", "/kb/how-to-write-a-good-ticket", "/kb/api-create-ticket", "/login",
         "/kb/no-such-page"]

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(browser, live_server, scheme):
    assert AXE.is_file(), "axe-core is installed by `make install` (npm ci)"
    # Injecting axe needs an inline script, which the portal's CSP rightly refuses.
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    problems = {}
    for path in PAGES:
        page.goto(f"{live_server}{path}")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[path] = serious
    context.close()
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_ticket_pages_have_no_serious_accessibility_violations(browser, live_server, live_app, scheme, now):
    from portal.auth.services import user_by_email
    from portal.demo import seed_demo
    from tests.factories import gen_ticket

    with live_app.app_context():
        seed_demo(now)
        customer = user_by_email("customer@acme.example.com")
        reference = gen_ticket(customer, category="technical_issue", steps_to_reproduce="1. open 2. click",
                               affected_account="ana").reference
        from portal.api.services import create_token

        create_token(customer, "Team dashboard")  # the account page lists it, with its revoke button
        flujo = user_by_email("admin@flujo.example.com").organization_id
        ana = customer.id
        from sqlalchemy import select

        from portal.extensions import db
        from portal.onboarding.models import OnboardingSession

        held = db.session.scalar(select(OnboardingSession.id).where(OnboardingSession.status == "held"))
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    problems = {}
    visits = [
        ("customer@acme.example.com",
         ["/tickets/new", "/tickets/", f"/tickets/{reference}", f"/tickets/{reference}/filed", "/org",
          "/account"]),
        ("admin@flujo.example.com", ["/org"]),  # with the support-hours ledger
        ("admin@acme.example.com", ["/onboarding/", "/onboarding/week/3", f"/onboarding/sessions/{held}",
                                    "/onboarding/feedback"]),
        ("agent@portal.example.com", ["/agent/", "/agent/macros", "/agent/analytics", f"/tickets/{reference}", f"/org/{flujo}", "/onboarding/expert/",
                                      f"/agent/tickets/new?requester={ana}",  # filing for a customer
                                      f"/onboarding/sessions/{held}"]),  # SLA clock, time and billing; sessions
        ("admin@portal.example.com", ["/onboarding/admin/", "/agent/audit"]),
    ]
    for email, paths in visits:
        context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("portal-demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        for path in paths:
            page.goto(f"{live_server}{path}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            serious = [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:5]}
                       for v in result["violations"] if v["impact"] in ("serious", "critical")]
            if serious:
                problems[f"{email} {path}"] = serious
    context.close()
    assert not problems, json.dumps(problems, indent=1)
