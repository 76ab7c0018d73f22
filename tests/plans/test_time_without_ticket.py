"""Time logged against an organization without a ticket (seed 003's video calls): billed as a query
of its own by the plan's rules, unless the plan does not count its kind; shown in the ledger and its CSV."""

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.plans import hours
from portal.plans.catalog import PlansError, load_plans
from portal.plans.models import TimeEntry
from portal.plans.services import local_day
from portal.tickets import billing
from tests.conftest import csrf_token
from tests.factories import gen_org, gen_ticket, gen_user

PLANS_FILE = "contract-hours.toml"


def _log(org, agent, kind, minutes, **flags):
    return hours.log_organization_time(org, agent, kind, minutes, None, flags.pop("note", None), local_day(org),
                                       **flags)


def test_entries_without_a_ticket_are_queries_of_their_own(app, now):
    org = gen_org(plan="contract", started_on=now.date() - timedelta(days=30))
    agent = gen_user(Role.AGENT)
    ticket = gen_ticket(gen_user(Role.CUSTOMER, org=org))
    billing.log_time(ticket, agent, 10)  # 30: the minimum per query
    _log(org, agent, "video_call", 10, note="Dashboard setup with Marta")  # 30: its own minimum
    _log(org, agent, "video_call", 20, escalated=True)  # 60 with development
    _log(org, agent, "call", 45, bug=True)  # our bug: not deducted
    _log(org, agent, "guided_setup", 90)
    _log(org, agent, "onboarding", 60)  # the contract plan does not bill onboarding
    _log(org, agent, "visit", 120)  # nor visits
    balance = billing.balance(org)
    assert [(line.kind, line.logged, line.billed, line.rule) for line in balance.lines] == [
        ("ticket", 10, 30, "minimum"), ("video_call", 10, 30, "minimum"),
        ("video_call", 20, 60, "development minimum"), ("call", 45, 0, "bug"), ("guided_setup", 90, 90, ""),
        ("onboarding", 60, 0, "not billable"), ("visit", 120, 0, "not billable")]
    assert balance.used_minutes == 30 + 30 + 60 + 90
    assert balance.lines[1].note == "Dashboard setup with Marta"
    rows = [dict(zip(*pair, strict=True)) for pair in
            (lambda r: [(r[0], row) for row in r[1:]])(list(csv.reader(io.StringIO(hours.ledger_csv(balance)))))]
    assert [(r["kind"], r["ticket"], r["ticket_minutes_billed"], r["rule"]) for r in rows] == [
        ("time", ticket.reference, "30", "minimum"), ("video_call", "", "30", "minimum"),
        ("video_call", "", "60", "development minimum"), ("call", "", "0", "bug"), ("guided_setup", "", "90", ""),
        ("onboarding", "", "0", "not billable"), ("visit", "", "0", "not billable")]
    assert rows[2]["escalated_to_development"] == "true" and rows[3]["caused_by_bug"] == "true"
    logged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "time.log")).all()
    assert len(logged) == 6 and logged[0].detail["kind"] == "video_call" and logged[0].organization_id == org.id


def test_bad_entries_are_refused_with_nothing_written(app, now):
    org = gen_org(plan="contract")
    agent = gen_user(Role.AGENT)
    today = local_day(org)
    for kind, minutes, day, by, field in (
            ("video_call", "abc", None, agent, "minutes"), ("video_call", 0, None, agent, "minutes"),
            ("video_call", 961, None, agent, "minutes"), ("ticket", 30, None, agent, "kind"),
            ("lunch", 30, None, agent, "kind"), ("call", 30, today + timedelta(days=5), agent, "worked_on"),
            ("call", 30, today + timedelta(days=1), agent, "worked_on"),  # the organization's own tomorrow
            ("call", 30, today - timedelta(days=367), agent, "worked_on"),
            ("call", 30, None, gen_user(Role.CUSTOMER_ADMIN, org=org), None)):
        with pytest.raises(DomainError) as refused:
            hours.log_organization_time(org, by, kind, minutes, day, "x", today)
        assert refused.value.field == field
        db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TimeEntry)) == 0


def test_the_plan_says_which_kinds_count(tmp_path):
    spec = load_plans()["prepaid"].spec.support_hours
    assert "onboarding" not in spec.billable_kinds and "video_call" in spec.billable_kinds
    for body, where in (
            ('channels = ["web"]\n[plans.x.calendar]\nhours = ["always"]\n'
             '[plans.x.support_hours]\nhours = 1\nbillable_kinds = ["lunch"]\n', "support_hours.billable_kinds"),
            ('channels = ["web"]\nvisit_days_per_week = 2\n[plans.x.calendar]\nhours = ["always"]\n',
             "visit_days_per_week")):
        bad = tmp_path / "plans.toml"
        bad.write_text('[plans.x]\nname = "X"\n' + body)
        with pytest.raises(PlansError) as error:
            load_plans(bad)
        problems = " ".join(error.value.problems)
        assert 'plan "x"' in problems and where in problems


def test_agents_log_time_on_the_organization_page(app, client, auth, now):
    org = gen_org(plan="contract", started_on=now.date() - timedelta(days=30))
    admin = gen_user(Role.CUSTOMER_ADMIN, org=org)
    auth.login(gen_user(Role.AGENT).email)
    url = f"/org/{org.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Log time without a ticket" in page
    token = csrf_token(client, url)
    for minutes, worked_on, message in (("abc", "", "whole minutes"), ("30", "yesterday", "Enter a date like"),
                                        ("30", (now.date() + timedelta(days=5)).isoformat(), "future day")):
        response = client.post(f"{url}/time", data={"csrf_token": token, "kind": "video_call", "minutes": minutes,
                                                    "worked_on": worked_on, "note": "Dashboards with Marta"})
        text = response.get_data(as_text=True)
        assert response.status_code == 422 and message in text and "Dashboards with Marta" in text
    assert client.post(f"{url}/time", data={"kind": "call", "minutes": "30"}).status_code == 400  # no CSRF token
    preview = client.get(f"{url}/time/preview?kind=video_call&minutes=10",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in preview and "would bill 30 min" in preview
    preview = client.get(f"{url}/time/preview?kind=onboarding&minutes=10", headers={"HX-Request": "true"})
    assert "Not billable on this plan" in preview.get_data(as_text=True)
    assert client.get(f"{url}/time/preview?kind=call&minutes=99999999999").status_code == 200
    # A day no plan period around fits in a date: previewed as today, and refused beside its field.
    far = client.get(f"{url}/time/preview?kind=call&minutes=10&worked_on=9999-12-31", headers={"HX-Request": "true"})
    assert far.status_code == 200 and "would bill 30 min" in far.get_data(as_text=True)
    refused = client.post(f"{url}/time", data={"csrf_token": csrf_token(client, url), "kind": "call", "minutes": "10",
                                               "worked_on": "9999-12-31", "note": "Far off"})
    assert refused.status_code == 422 and "Time cannot be logged for a future day." in refused.get_data(as_text=True)
    response = client.post(f"{url}/time", data={"csrf_token": token, "kind": "video_call", "minutes": "40",
                                                "note": "Dashboards with Marta"})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Video call" in page and "Dashboards with Marta" in page
    auth.logout()
    auth.login(admin.email)  # the customer admin sees the line in the ledger and its CSV, and no form
    page = client.get("/org").get_data(as_text=True)
    assert "Dashboards with Marta" in page and "Log time without a ticket" not in page
    assert "video_call,,,"in client.get("/org/hours.csv").get_data(as_text=True)
    assert client.post(f"/org/{org.id}/time", data={"csrf_token": csrf_token(client, "/org"), "kind": "call",
                                                    "minutes": "5"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(TimeEntry)) == 1


def test_customers_cannot_log_time(app, client, auth):
    org = gen_org(plan="contract")
    customer = gen_user(Role.CUSTOMER, org=org)
    auth.login(customer.email)
    token = csrf_token(client, "/org")
    assert client.post(f"/org/{org.id}/time", data={"csrf_token": token, "kind": "call",
                                                    "minutes": "5"}).status_code == 404
    assert client.get(f"/org/{org.id}/time/preview?minutes=5").status_code == 404
