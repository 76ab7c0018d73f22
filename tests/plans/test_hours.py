"""The support-hours ledger: logging time, billing rules, balance, CSV, who sees it."""

import csv
import io
from datetime import date, timedelta

import pytest

from portal.auth.models import Role
from portal.extensions import db
from portal.plans import hours
from portal.tickets import billing
from portal.plans.models import TimeEntry
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_ticket, gen_user

PLANS_FILE = "contract-hours.toml"




def _org_with_tickets(now):
    org = gen_org(plan="contract", started_on=now.date() - timedelta(days=30))
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org)
    customer = gen_user(Role.CUSTOMER, org=org)
    return org, admin, customer, [gen_ticket(customer, subject=f"Query {i}") for i in range(3)]


def test_balance_applies_the_plans_billing_rules(app, now):
    org, _admin, _customer, (plain, escalated, bug) = _org_with_tickets(now)
    agent = gen_user(Role.AGENT)
    billing.log_time(plain, agent, 10)  # billed 30: the minimum per query
    billing.log_time(escalated, agent, 20)
    billing.set_billing_flags(escalated, agent, escalated=True)  # billed 60
    billing.log_time(bug, agent, 90)
    billing.set_billing_flags(bug, agent, bug=True)  # not deducted
    hours.buy_hours(org, "2.5", note="Invoice 42")
    balance = billing.balance(org)
    rows = list(csv.reader(io.StringIO(hours.ledger_csv(balance))))
    purchase = dict(zip(rows[0], rows[-1], strict=True))
    assert (purchase["kind"], purchase["minutes"], purchase["note"]) == ("purchase", "150", "Invoice 42")
    assert [(line.logged, line.billed, line.rule) for line in balance.lines] == [
        (10, 30, "minimum"), (20, 60, "development minimum"), (90, 0, "bug")]
    assert balance.bought_minutes == 20 * 60 + 150 and balance.used_minutes == 90
    assert balance.left_minutes == 1350 - 90 and balance.state == "ok"
    assert billing.preview(plain, 45) == (55, 55)
    no_ledger = gen_ticket(gen_user(Role.CUSTOMER, org=gen_org(plan="unknown-plan")))
    assert billing.preview(no_ledger, 45) is None and billing.balance(no_ledger.organization) is None
    kinds = [e.kind for e in escalated.events] + [e.kind for e in bug.events]
    assert "escalated" in kinds and "bug" in kinds


@pytest.mark.instants("new-year-eve-23:59-utc")
def test_time_logged_today_counts_in_the_organizations_own_period(app, now):
    # 23:59 UTC on 31 December is 00:59 on 1 January in Madrid: the new contract period.
    org = gen_org(plan="contract", started_on=date(2026, 1, 1), timezone="Europe/Madrid")
    ticket = gen_ticket(gen_user(Role.CUSTOMER, org=org), now=now - timedelta(hours=1))
    assert billing.preview(ticket, 45) == (45, 45)
    entry = billing.log_time(ticket, gen_user(Role.AGENT), 45)
    assert entry.worked_on == date(2027, 1, 1)
    balance = billing.balance(org)
    assert balance.period.start == date(2027, 1, 1) and balance.used_minutes == 45
    purchase = hours.buy_hours(org, "1")  # bought today: the organization's today, 1 January
    assert purchase.purchased_on == date(2027, 1, 1) and billing.balance(org).bought_minutes == 20 * 60 + 60


def test_running_out_warns(app, client, auth, now):
    org, admin, _customer, (ticket, *_rest) = _org_with_tickets(now)
    agent = gen_user(Role.AGENT)
    for _ in range(2):
        billing.log_time(ticket, agent, 600)
    assert billing.balance(org).state == "exhausted"
    auth.login(admin.email)
    page = client.get("/org").get_data(as_text=True)
    assert "All the support hours of this period are used" in page
    assert "Each query is billed at least 30 minutes." in page and "not deducted" in page


def test_periods_follow_the_contract_start():
    from portal.plans.catalog import load_plans

    from tests.plans.conftest import EXAMPLES

    spec = load_plans(EXAMPLES / "contract-hours.toml")["contract"].spec.support_hours
    start = date(2025, 3, 31)
    assert hours.period_for(start, spec, date(2025, 3, 31)) == hours.Period(date(2025, 3, 31), date(2026, 3, 31))
    assert hours.period_for(start, spec, date(2026, 3, 30)).start == date(2025, 3, 31)
    assert hours.period_for(start, spec, date(2026, 3, 31)) == hours.Period(date(2026, 3, 31), date(2027, 3, 31))
    assert hours.period_for(start, spec, date(2031, 1, 1)).start == date(2030, 3, 31)
    # The plan entry's last day cuts the period holding it.
    assert hours.period_for(start, spec, date(2026, 5, 1), date(2026, 9, 30)) == hours.Period(date(2026, 3, 31),
                                                                                               date(2026, 10, 1))


def test_bad_time_entries_get_clear_messages_and_keep_the_text(app, client, auth, now):
    _org, _admin, _customer, (ticket, *_rest) = _org_with_tickets(now)
    agent = gen_user(Role.AGENT)
    auth.login(agent.email)
    url = f"/tickets/{ticket.reference}"
    token = csrf_token(client, url)
    for minutes, worked_on, message in (("abc", "", "whole minutes"), ("0", "", "between 1 and 960"),
                                        ("30", "yesterday", "Enter a date like"),
                                        ("30", (now.date() + timedelta(days=5)).isoformat(), "future day")):
        response = client.post(f"{url}/time", data={"csrf_token": token, "minutes": minutes, "worked_on": worked_on,
                                                    "note": "Call with the customer"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page and "Call with the customer" in page
    response = client.post(f"{url}/time", data={"csrf_token": token, "minutes": "25", "note": "Call"})
    assert response.status_code == 302
    preview = client.get(f"{url}/time/preview?minutes=10", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in preview and "35 min logged, 35 min billed" in preview
    response = client.post(f"{url}/billing", data={"csrf_token": token, "escalated": "y"})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "escalated the ticket to the development team" in page and "60 min billed" in page


def test_who_sees_the_hours(app, client, auth, now):
    org, admin, customer, (ticket, *_rest) = _org_with_tickets(now)
    billing.log_time(ticket, gen_user(Role.AGENT), 45, note="=HYPERLINK(\"http://evil\")")
    other_org = gen_org(plan="contract")
    auth.login(customer.email)
    assert "Support hours balance" not in client.get("/org").get_data(as_text=True)
    assert client.get("/org/hours.csv").status_code == 403
    assert client.post(f"/tickets/{ticket.reference}/time", data={"minutes": "5"}).status_code in (400, 403)
    assert client.get(f"/org/{org.id}").status_code == 404
    auth.logout()
    auth.login(admin.email)
    assert "Support hours balance" in client.get("/org").get_data(as_text=True)
    response = client.get("/org/hours.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert response.headers["Content-Disposition"].startswith("attachment")
    header = rows[0]
    entry = dict(zip(header, rows[1], strict=True))
    assert entry["kind"] == "time" and entry["ticket"] == ticket.reference
    assert entry["minutes"] == "45" and entry["ticket_minutes_billed"] == "45"
    assert entry["note"].startswith("'=")  # a formula in a note is not run by spreadsheets
    assert client.get(f"/org/{other_org.id}/hours.csv").status_code == 404
    auth.logout()
    auth.login(gen_user(Role.AGENT).email)
    page = client.get(f"/org/{org.id}").get_data(as_text=True)
    assert "Support plan of" in page and "Support hours balance" in page
    assert client.get(f"/org/{other_org.id}/hours.csv").status_code == 200
    assert client.get("/org/99999").status_code == 404


def test_buy_hours_command(app, now):
    org = gen_org(plan="contract", name="Hours Buyer", started_on=now.date())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["plans", "buy-hours", "Hours Buyer", "10", "--note", "INV-1"])
    assert result.exit_code == 0 and "Recorded 10 h for Hours Buyer" in result.output and "30.00 h left" in result.output
    assert runner.invoke(args=["plans", "buy-hours", "Hours Buyer", "-3"]).exit_code != 0
    assert runner.invoke(args=["plans", "buy-hours", "Nobody", "3"]).exit_code != 0
    assert billing.balance(org).bought_minutes == 30 * 60


def test_earlier_contract_periods_stay_readable(app, client, auth, now):
    org = gen_org(plan="contract", started_on=now.date() - timedelta(days=400))
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org)
    ticket = gen_ticket(gen_user(Role.CUSTOMER, org=org), subject="Last year's query")
    agent = gen_user(Role.AGENT)
    billing.log_time(ticket, agent, 50, worked_on=ticket.created_at.date())  # this period
    from portal.plans.services import plan_for

    first = hours.period_for(org.started_on, plan_for(org).spec.support_hours, now.date() - timedelta(days=390))
    db.session.add(TimeEntry(ticket_id=ticket.id, organization_id=org.id, agent_id=agent.id, minutes=20,
                             worked_on=first.start + timedelta(days=3)))
    db.session.commit()
    auth.login(admin.email)
    page = client.get("/org").get_data(as_text=True)
    assert "Previous period" in page and "Next period" not in page and "50 min" in page
    page = client.get(f"/org?period={first.start.isoformat()}").get_data(as_text=True)
    assert "Next period" in page and "Previous period" not in page and "30 min" in page  # 20 logged, 30 billed
    body = client.get(f"/org/hours.csv?period={first.start.isoformat()}").get_data(as_text=True)
    assert ",20," in body and ",50," not in body
    assert client.get("/org?period=not-a-date").status_code == 200


def test_a_period_far_outside_the_calendar_shows_the_current_one(app, client, auth, now):
    org, admin, _customer, (ticket, *_rest) = _org_with_tickets(now)
    billing.log_time(ticket, gen_user(Role.AGENT), 45)
    current = billing.balance(org).period.start.isoformat()
    auth.login(gen_user(Role.AGENT).email)
    for day in ("9999-12-31", "9999-12-01", "0001-01-01"):
        response = client.get(f"/org/{org.id}?period={day}")
        assert response.status_code == 200 and "Support hours balance" in response.get_data(as_text=True)
        response = client.get(f"/org/{org.id}/hours.csv?period={day}")
        assert response.status_code == 200 and f"{current}.csv" in response.headers["Content-Disposition"]
