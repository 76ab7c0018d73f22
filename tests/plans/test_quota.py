"""The monthly ticket quota: counted per calendar month, refused beyond, race-safe."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.extensions import db
from portal.plans import services as plan_services
from portal.plans.models import QuotaUsage
from portal.tickets.models import Ticket
from tests.conftest import csrf_token, run_in_threads
from tests.factories import gen_org, gen_ticket, gen_user
from tests.tickets.test_routes import _file

PLANS_FILE = "support-levels.toml"




def _fill(org, used, month="2026-11"):
    db.session.merge(QuotaUsage(organization_id=org.id, month=month, used=used))
    db.session.commit()


def test_quota_counts_the_calendar_month_in_the_customers_zone(app):
    org = gen_org(plan="monthly", timezone="America/New_York", started_on=date(2026, 10, 1))
    customer = gen_user(Role.CUSTOMER, org=org)
    gen_ticket(customer, now=datetime(2026, 11, 30, 23, 0))  # 18:00 on 30 November in New York
    gen_ticket(customer, now=datetime(2026, 12, 1, 4, 59))  # still 30 November there
    gen_ticket(customer, now=datetime(2026, 12, 1, 5, 0))  # 1 December, midnight in New York
    november = plan_services.quota(org, datetime(2026, 11, 30, 12, 0))
    assert (november.used, november.limit, november.month) == (2, 40, "2026-11")
    assert november.resets_at == datetime(2026, 12, 1, 5, 0)
    assert plan_services.quota(org, datetime(2026, 12, 2)).used == 1


@pytest.mark.instants  # "this month" is the customer's: on 31 December at 23:59 UTC, January in Madrid
def test_filing_beyond_the_quota_is_refused_with_the_text_kept(app, client, auth, now):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    customer = gen_user(Role.CUSTOMER, org=org)
    month = plan_services.quota(org).month
    _fill(org, 39, month)
    auth.login(customer.email)
    page = client.get("/tickets/new").get_data(as_text=True)
    assert "Tickets this month: 39 of 40 used." in page
    assert _file(client, subject="The fortieth ticket").status_code == 302
    response = _file(client, subject="One ticket too many", description="Please keep this text for me.")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "used all 40 tickets of this month&#39;s quota" in page and "starts again" in page
    assert "One ticket too many" in page and "Please keep this text for me." in page
    assert "Tickets this month: 40 of 40 used." in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert "Tickets this month: 40 of 40 used." in client.get("/tickets/").get_data(as_text=True)


def test_unlimited_plans_count_nothing(app):
    org = gen_org(plan="preferential")
    gen_ticket(gen_user(Role.CUSTOMER, org=org))
    assert plan_services.quota(org).limit is None
    assert db.session.scalar(select(func.count()).select_from(QuotaUsage)) == 0


def test_a_plan_past_its_validity_refuses_filing(app, client, auth):
    org = gen_org(plan="monthly", started_on=date(2020, 1, 1))
    assert plan_services.history(org)[0].ends_on == date(2020, 6, 30)  # the plan's valid_months
    customer = gen_user(Role.CUSTOMER, org=org)
    auth.login(customer.email)
    response = _file(client, subject="After the six months")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "support plan has ended" in page and "After the six months" in page


def test_sixteen_concurrent_filings_at_quota_minus_one_file_exactly_one(app, now):
    org = gen_org(plan="monthly", started_on=now.date())
    user_ids = [gen_user(Role.CUSTOMER, org=org).id for _ in range(4)]
    _fill(org, 39, plan_services.quota(org).month)

    def file(i):
        try:
            return gen_ticket(db.session.get(User, user_ids[i % 4]), submission_key=f"race-{i}").reference
        except plan_services.QuotaExceeded:
            return "refused"

    results, failures = run_in_threads(app, 16, file)
    assert failures == []
    assert results.count("refused") == 15 and len(results) == 16
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert plan_services.quota(org).used == 40


def test_a_refused_ticket_is_kept_as_a_draft_until_filed_or_discarded(app, client, auth, now):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    customer = gen_user(Role.CUSTOMER, org=org)
    _fill(org, 40, plan_services.quota(org).month)
    auth.login(customer.email)
    response = _file(client, category="technical_issue", subject="Invoices do not add up",
                     description="The November invoice total is wrong.", steps_to_reproduce="Open November",
                     affected_account="ana@example.com")
    assert response.status_code == 422 and "We kept this text as a draft" in response.get_data(as_text=True)
    # Next time (another day, another session) the form comes back filled in.
    page = client.get("/tickets/new").get_data(as_text=True)
    assert "was kept as a draft and is filled in below" in page
    assert 'value="Invoices do not add up"' in page and "The November invoice total is wrong." in page
    assert "Open November" in page and 'value="ana@example.com"' in page
    # Once the month turns, filing it clears the draft.
    _fill(org, 0, plan_services.quota(org).month)
    assert _file(client, subject="Invoices do not add up").status_code == 302
    assert "kept as a draft" not in client.get("/tickets/new").get_data(as_text=True)
    # A draft can also be thrown away.
    _fill(org, 40, plan_services.quota(org).month)
    _file(client, subject="Another one")
    client.post("/tickets/draft/discard", data={"csrf_token": csrf_token(client, "/tickets/new")})
    page = client.get("/tickets/new").get_data(as_text=True)
    assert "kept as a draft" not in page and "Another one" not in page


def test_the_draft_keeps_the_product_area(app, client, auth, now):
    org = gen_org(plan="monthly", timezone="Europe/Madrid", started_on=now.date())
    customer = gen_user(Role.CUSTOMER, org=org)
    _fill(org, 40, plan_services.quota(org).month)
    auth.login(customer.email)
    assert _file(client, subject="Invoices do not add up", area="accounting").status_code == 422
    page = client.get("/tickets/new").get_data(as_text=True)
    assert '<option value="accounting" selected>' in page
    assert '<option value="inventory" selected>' not in page
    # Filed once the month turns: it goes to the area's team as if chosen now.
    _fill(org, 0, plan_services.quota(org).month)
    assert _file(client, subject="Invoices do not add up", area="accounting").status_code == 302
    assert db.session.scalar(select(Ticket.area).where(Ticket.subject == "Invoices do not add up")) == "accounting"
