"""The organization page: the plan, as customers and staff see it."""

from pathlib import Path

from portal.auth.models import Role
from tests.factories import gen_org, gen_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plans"


def test_customers_see_their_plan(app, client, auth):
    org = gen_org(plan="standard", timezone="Europe/London")
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    page = client.get("/org").get_data(as_text=True)
    assert "Your support plan" in page and "Standard" in page
    assert "P1" in page and "1 h" in page and "24 h" in page
    assert "Mon–Fri" in page and "08:00–17:00" in page and "Europe/London" in page
    assert "Support hours balance" not in page  # no ledger in this plan, and not for plain customers
    assert "Custom development" in page  # what is not included
    # The shipped plans: the matrix, and seed 001's fields for technical issues.
    assert "From the impact and the urgency you give when you file a ticket" in page
    assert "A technical issue must say how to reproduce the problem and the user account it happens with." in page


def test_plans_and_ranges_from_another_file(make_app, auth, now):
    app = make_app(PLANS_FILE=str(EXAMPLES / "support-levels.toml"))
    with app.app_context():
        org = gen_org(plan="monthly", started_on=now.date())  # in force: six months from go-live
        user = gen_user(Role.CUSTOMER_ADMIN, org=org)
        client = app.test_client()
        from tests.conftest import AuthActions

        AuthActions(client).login(user.email)
        page = client.get("/org").get_data(as_text=True)
    assert "Every ticket" in page and "1 to 2 business days" in page
    assert "40 tickets per calendar month, not cumulative" in page and "Included until" in page
    assert "Tickets this month: 0 of 40 used." in page


def test_an_unknown_plan_is_explained_not_an_error(app, client, auth):
    org = gen_org(plan="gold")
    auth.login(gen_user(Role.CUSTOMER, org=org).email)
    response = client.get("/org")
    assert response.status_code == 200 and "No support plan named “gold” is configured" in response.get_data(as_text=True)


def test_staff_without_organization_have_no_own_plan(app, client, auth):
    auth.login(gen_user(Role.AGENT).email)
    assert client.get("/org").status_code == 404
    auth.logout()
    auth.login(gen_user(Role.WRITER).email)
    assert client.get(f"/org/{gen_org().id}").status_code == 404


def test_an_id_longer_than_the_database_stores_is_a_404(client, auth, app):
    """PostgreSQL refuses integers past 32 bits: such an address must be a 404, not a 500."""
    from portal.auth.models import Role
    from tests.factories import gen_user

    auth.login(gen_user(Role.AGENT).email)
    for path in ("/org/99999999999", "/agent/macros/99999999999", "/onboarding/sessions/99999999999"):
        assert client.get(path).status_code == 404, path
    assert client.get("/org/2147483647").status_code == 404  # the largest id: looked up, not found


def test_the_page_shows_the_plans_severity_levels(make_app, now):
    from tests.conftest import AuthActions

    app = make_app(PLANS_FILE=str(EXAMPLES / "prepaid-hours.toml"))
    with app.app_context():
        user = gen_user(Role.CUSTOMER, org=gen_org(plan="dedicated"))
        client = app.test_client()
        AuthActions(client).login(user.email)
        page = client.get("/org").get_data(as_text=True)
    assert "You choose the severity when you file a ticket" in page
    assert "Severity 1" in page and "mission-critical" in page and "Never Severity 1:" in page
    assert "has not completed UAT" in page and "We may downgrade a Severity 1 error" in page
    assert "A technical issue needs no fields beyond the subject and the description." in page
    assert "From the impact and the urgency" not in page
