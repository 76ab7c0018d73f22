"""The audit log: what is recorded (sign-ins, tokens, users, plans, hours, macros, unmatched email,
exports), the admins' page with its filters and CSV, and the retention prune."""

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal import audit
from portal.audit import services as log
from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import csrf_token
from tests.factories import PASSWORD, gen_org, gen_user


def entries(action: str | None = None) -> list[AuditEntry]:
    db.session.rollback()  # see what the requests committed
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def test_sign_ins_failed_sign_ins_and_sign_outs_are_recorded_without_the_password(app, client, auth, now):
    org = gen_org(name="Acme")
    ana = gen_user(Role.CUSTOMER, email="ana@example.com", org=org)
    auth.login("Ana@Example.com", "wrong-password-typed")
    auth.login("Nobody@Example.com", "another-secret-typed")
    failed = entries("auth.sign_in_failed")
    assert [(e.actor_id, e.actor_email, e.target_label, e.address) for e in failed] == [
        (None, "ana@example.com", "ana@example.com", "127.0.0.1"),
        (None, "nobody@example.com", "nobody@example.com", "127.0.0.1")]  # whether or not the account exists
    auth.login("ana@example.com")
    auth.logout()
    signed_in, = entries("auth.sign_in")
    assert (signed_in.actor_id, signed_in.actor_email, signed_in.organization_id) == (ana.id, ana.email, org.id)
    assert signed_in.address == "127.0.0.1" and abs(signed_in.at - now) < timedelta(minutes=1)
    signed_out, = entries("auth.sign_out")
    assert signed_out.actor_id == ana.id
    every_value = repr([(e.actor_email, e.target_label, e.detail) for e in entries()])
    assert "wrong-password-typed" not in every_value and "another-secret-typed" not in every_value
    assert PASSWORD not in every_value


def test_the_address_is_the_clients_behind_trusted_proxies(make_app):
    app = make_app(PROXY_HOPS=1)
    with app.app_context():
        gen_user(Role.AGENT, email="sam@example.com")
        client = app.test_client()
        token = csrf_token(client, "/login")
        client.post("/login", data={"email": "sam@example.com", "password": PASSWORD, "csrf_token": token},
                    headers={"X-Forwarded-For": "203.0.113.9"})
        assert [e.address for e in entries("auth.sign_in")] == ["203.0.113.9"]


def test_api_tokens_created_and_revoked_on_the_account_page_and_by_the_cli(app, client, auth, runner):
    ana = gen_user(Role.AGENT, email="ana@example.com")
    auth.login(ana.email)
    response = client.post("/account/tokens", data={"name": "monitoring", "csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 200
    created, = entries("token.create")
    assert (created.actor_id, created.target_type, created.target_label) == (ana.id, "token", "monitoring")
    assert created.detail["owner"] == "ana@example.com" and created.detail["prefix"].startswith("pat_")
    assert created.address == "127.0.0.1"
    client.post(f"/account/tokens/{created.target_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    revoked, = entries("token.revoke")
    assert (revoked.actor_id, revoked.target_id) == (ana.id, created.target_id)
    client.post(f"/account/tokens/{created.target_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert len(entries("token.revoke")) == 1  # revoking again changes nothing, and records nothing

    result = runner.invoke(args=["token", "create", "ana@example.com", "--name", "backup script"])
    assert result.exit_code == 0, result.output
    by_cli = entries("token.create")[-1]
    assert (by_cli.actor_id, by_cli.target_label, by_cli.detail["via"]) == (None, "backup script", "cli")


def test_users_created_by_the_cli(app, runner):
    gen_org(name="Acme")
    result = runner.invoke(args=["user", "create", "carla@example.com", "--role", "customer_admin", "--org", "Acme",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    created = entries("user.create")[-1]
    assert (created.actor_id, created.target_label) == (None, "carla@example.com")
    assert created.detail == {"role": "customer_admin", "via": "cli"} and created.organization_id is not None


def test_role_changes_by_the_cli_and_the_service(app, runner):
    from portal.auth import services as accounts

    acme = gen_org(name="Acme")
    ana = gen_user(Role.CUSTOMER, email="ana@example.com", org=acme)
    result = runner.invoke(args=["user", "set-role", "ana@example.com", "customer_admin"])
    assert result.exit_code == 0 and "is now customer_admin" in result.output, result.output
    changed, = entries("user.role_change")
    assert (changed.actor_id, changed.target_id, changed.organization_id) == (None, ana.id, acme.id)
    assert changed.detail == {"from": "customer", "to": "customer_admin", "via": "cli"}
    result = runner.invoke(args=["user", "set-role", "ana@example.com", "agent", "--org", "Acme"])
    assert result.exit_code != 0 and "do not belong to a customer organization" in result.output
    assert runner.invoke(args=["user", "set-role", "ana@example.com", "customer_admin"]).exit_code == 0
    assert len(entries("user.role_change")) == 1  # refused, or no change: nothing recorded
    boss = gen_user(Role.ADMIN, email="boss@example.com")
    accounts.set_role("ana@example.com", Role.AGENT, origin=log.Origin.of(boss, "10.0.0.5"))
    staff = entries("user.role_change")[-1]
    assert (staff.actor_email, staff.address, staff.organization_id) == ("boss@example.com", "10.0.0.5", acme.id)
    assert staff.detail == {"from": "customer_admin", "to": "agent", "organization": {"from": "Acme", "to": None}}
    assert db.session.get(type(ana), ana.id).organization_id is None


def test_plan_changes_on_the_page_and_by_the_cli(app, client, auth, runner):
    org = gen_org(name="Acme", plan="standard", started_on=date(2026, 1, 15))
    admin = gen_user(Role.ADMIN, email="boss@example.com")
    auth.login(admin.email)
    response = client.post(f"/org/{org.id}/plans", data={
        "plan": "premium", "starts_on": "2027-01-01", "ends_on": "2027-01-31", "note": "PO-7",
        "csrf_token": csrf_token(client, f"/org/{org.id}")})
    assert response.status_code == 302
    change, = entries("plan.change")[-1:]
    assert (change.actor_email, change.organization_id, change.target_label) == ("boss@example.com", org.id, "Acme")
    assert change.detail["plan"] == "premium" and change.detail["from"] == "2027-01-01"
    assert change.detail["previous"] == {"plan": "standard", "now_ends": "2026-12-31"}
    before = len(entries("plan.change"))
    response = client.post(f"/org/{org.id}/plans", data={
        "plan": "standard", "starts_on": "2027-01-05", "ends_on": "", "note": "",
        "csrf_token": csrf_token(client, f"/org/{org.id}")})
    assert response.status_code == 422
    assert len(entries("plan.change")) == before  # refused (it overlaps): nothing recorded

    result = runner.invoke(args=["org", "set-plan", "Acme", "standard", "--from", "2028-01-01"])
    assert result.exit_code == 0, result.output
    by_cli = entries("plan.change")[-1]
    assert by_cli.actor_id is None and by_cli.detail["via"] == "cli" and by_cli.detail["plan"] == "standard"


def test_hours_bought_by_the_cli(app, runner, now):
    org = gen_org(plan="prepaid", name="Hours Buyer", started_on=now.date())
    result = runner.invoke(args=["plans", "buy-hours", "Hours Buyer", "10", "--note", "INV-1"])
    assert result.exit_code == 0, result.output
    bought, = entries("hours.buy")
    assert bought.organization_id == org.id and bought.actor_id is None
    assert bought.detail == {"hours": 10.0, "on": now.date().isoformat(), "note": "INV-1", "via": "cli"}
    assert runner.invoke(args=["plans", "buy-hours", "Hours Buyer", "-3"]).exit_code != 0
    assert len(entries("hours.buy")) == 1


def test_canned_replies_created_edited_and_deleted(app, client, auth):
    agent = gen_user(Role.AGENT, email="sam@example.com")
    auth.login(agent.email)
    token = csrf_token(client, "/agent/macros")
    client.post("/agent/macros", data={"name": "Thanks", "body": "Thank you.", "csrf_token": token})
    created, = entries("macro.create")
    assert (created.actor_id, created.target_type, created.target_label) == (agent.id, "macro", "Thanks")
    response = client.post("/agent/macros", data={"name": "Thanks", "body": "Again.", "csrf_token": token})
    assert response.status_code == 422 and len(entries("macro.create")) == 1  # a taken name: nothing recorded
    client.post(f"/agent/macros/{created.target_id}", data={"name": "Thank you", "body": "Thanks!",
                                                            "csrf_token": token})
    edited, = entries("macro.edit")
    assert edited.detail == {"name": "Thank you", "was": "Thanks", "body_changed": True}
    client.post(f"/agent/macros/{created.target_id}/delete", data={"csrf_token": token})
    deleted, = entries("macro.delete")
    assert (deleted.actor_email, deleted.target_id, deleted.target_label) == ("sam@example.com", created.target_id,
                                                                              "Thank you")


def test_csv_exports_are_recorded(app, client, auth, now):
    org = gen_org(plan="prepaid", name="Acme", started_on=now.date())
    auth.login(gen_user(Role.CUSTOMER_ADMIN, email="carla@example.com", org=org).email)
    assert client.get("/org/hours.csv").status_code == 200
    export, = entries("export.csv")
    assert (export.actor_email, export.organization_id) == ("carla@example.com", org.id)
    assert export.target_label.startswith(f"support-hours-{org.id}-")
    auth.logout()
    auth.login(gen_user(Role.AGENT, email="sam@example.com").email)
    assert client.get("/agent/analytics/backlog.csv?days=30").status_code == 200
    analytics = entries("export.csv")[-1]
    assert (analytics.actor_email, analytics.target_label, analytics.detail) == (
        "sam@example.com", "analytics-backlog.csv", {"days": 30})


def _seed_log(now):
    acme, other = gen_org(name="Acme"), gen_org(name="Other")
    origin = log.Origin(None, "ana@example.com", "10.0.0.1")
    log.record("plan.change", origin, now - timedelta(days=3), target=("organization", acme.id, "Acme"),
               organization_id=acme.id, detail={"plan": "premium"})
    log.record("token.create", log.Origin(None, "bob@example.com"), now - timedelta(days=1),
               target=("token", 1, "<script>alert(1)</script>"), organization_id=other.id)
    log.failed_sign_in("=HYPERLINK(\"http://evil\")@x.com", log.Origin(address="10.0.0.2"), now)
    db.session.commit()
    return acme, other


def test_only_admins_see_the_audit_log(app, client, auth):
    assert client.get("/agent/audit").status_code == 302  # to the sign-in page
    for role in (Role.CUSTOMER, Role.CUSTOMER_ADMIN, Role.AGENT, Role.WRITER):
        user = gen_user(role)
        auth.login(user.email)
        assert client.get("/agent/audit").status_code == 403, role
        assert client.get("/agent/audit.csv").status_code == 403, role
        assert "/agent/audit" not in client.get("/kb/").get_data(as_text=True)
        auth.logout()
    auth.login(gen_user(Role.ADMIN).email)
    assert client.get("/agent/audit").status_code == 200
    assert 'href="/agent/audit"' in client.get("/kb/").get_data(as_text=True)  # in the staff menu


def test_the_page_lists_newest_first_filters_and_escapes(app, client, auth, now):
    acme, _other = _seed_log(now)
    admin = gen_user(Role.ADMIN, email="root@example.com")
    auth.login(admin.email)
    page = client.get("/agent/audit").get_data(as_text=True)
    assert page.index("Signed in") < page.index("Sign-in failed") < page.index("API token created") \
        < page.index("Plan changed")  # newest first: the admin's own sign-in is the newest
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'action="/agent/audit"' in page and 'method="get"' in page  # a plain GET form

    def rows(query):
        html = client.get("/agent/audit" + query).get_data(as_text=True)
        return [code for code in log.ACTIONS if f'<span class="muted small">{code}</span>' in html]

    assert rows("?action=plan.change") == ["plan.change"]
    assert rows("?actor=BOB") == ["token.create"]
    assert rows(f"?org={acme.id}") == ["plan.change"]
    assert rows(f"?since={(now - timedelta(days=2)).date()}&until={(now - timedelta(days=1)).date()}") == [
        "token.create"]
    fragment = client.get("/agent/audit?action=plan.change", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and "Plan changed" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_bad_filters_get_a_message_and_keep_what_was_typed(app, client, auth):
    auth.login(gen_user(Role.ADMIN).email)
    response = client.get("/agent/audit?since=yesterday&action=nope&org=12x&actor=%3Cb%3E")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Write the date as YYYY-MM-DD" in page and 'value="yesterday"' in page
    assert "Choose an action from the list." in page and "Choose an organization from the list." in page
    assert 'value="&lt;b&gt;"' in page
    response = client.get("/agent/audit?since=2026-12-02&until=2026-12-01")
    assert response.status_code == 422 and "The end date is before the start date." in response.get_data(as_text=True)
    assert client.get("/agent/audit.csv?until=soon").status_code == 422
    assert client.get("/agent/audit?page=99999999999").status_code == 200  # past the end: an empty page
    for hostile in ("?actor=%00", "?until=9999-12-31", "?since=0001-01-01", "?page=-1", "?org=99999999999"):
        assert client.get("/agent/audit" + hostile).status_code in (200, 422), hostile


def test_pages_of_entries_link_with_and_without_htmx(app, client, auth, now):
    for minute in range(log.PAGE_SIZE + 5):
        log.record("macro.edit", log.Origin(None, "sam@example.com"), now - timedelta(minutes=minute + 5),
                   target=("macro", 1, f"Macro {minute}"))
    db.session.commit()
    auth.login(gen_user(Role.ADMIN).email)
    first = client.get("/agent/audit?action=macro.edit").get_data(as_text=True)
    assert "Macro 0<" in first and "Macro 54<" not in first
    assert 'href="/agent/audit?page=2&amp;action=macro.edit"' in first
    assert 'hx-get="/agent/audit?page=2&amp;action=macro.edit"' in first
    second = client.get("/agent/audit?page=2&action=macro.edit", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second and "Macro 54<" in second and "Macro 0<" not in second


def test_the_csv_has_the_filtered_rows_safe_for_spreadsheets_and_is_itself_recorded(app, client, auth, now):
    acme, _other = _seed_log(now)
    admin = gen_user(Role.ADMIN, email="root@example.com")
    auth.login(admin.email)
    response = client.get("/agent/audit.csv?action=auth.sign_in_failed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == log.CSV_COLUMNS
    assert len(table) == 2 and table[1][1] == "auth.sign_in_failed"
    assert table[1][3] == "'=hyperlink(\"http://evil\")@x.com"  # not a formula in a spreadsheet
    assert table[1][8] == "10.0.0.2"
    everything = list(csv.reader(io.StringIO(client.get(f"/agent/audit.csv?org={acme.id}").get_data(as_text=True))))
    assert [row[1] for row in everything[1:]] == ["plan.change"] and everything[1][9] == '{"plan": "premium"}'
    exports = entries("export.csv")
    assert [(e.actor_email, e.detail["filters"]) for e in exports] == [
        ("root@example.com", {"action": "auth.sign_in_failed"}), ("root@example.com", {"org": str(acme.id)})]


def test_unmatched_email_discarded_is_recorded(app, now):
    from portal.inbox import services as inbox
    from portal.inbox.models import UNMATCHED, InboundMessage

    agent = gen_user(Role.AGENT, email="sam@example.com")
    row = InboundMessage(message_id="<m1@example.com>", source="test", received_at=now, processed_at=now,
                         from_address="stranger@example.org", from_name="", subject="Help", size=10, raw=b"x",
                         outcome=UNMATCHED, failures=0)
    db.session.add(row)
    db.session.commit()
    inbox.discard(row.id, agent, now, origin=log.Origin.of(agent, "10.1.1.1"))
    discarded, = entries("inbox.discard")
    assert (discarded.actor_id, discarded.address, discarded.target_label) == (
        agent.id, "10.1.1.1", "stranger@example.org: Help")
    with pytest.raises(inbox.NotWaiting):
        inbox.discard(row.id, agent, now)
    assert len(entries("inbox.discard")) == 1


def test_prune_keeps_the_retention_period(app, runner, now):
    for days in (400, 366, 364, 1):
        log.record("auth.sign_in", log.Origin(None, f"{days}@example.com"), now - timedelta(days=days))
    db.session.commit()
    assert app.config["AUDIT_RETENTION_DAYS"] == 365
    assert log.prune(now, 0) == 0  # 0 keeps everything
    assert log.prune(now, 365) == 2
    assert [e.actor_email for e in entries()] == ["364@example.com", "1@example.com"]
    result = runner.invoke(args=["audit", "prune", "--days", "30", "--now", (now + timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M")])
    assert result.exit_code == 0 and "Removed 1 audit entry older than 30 days." in result.output
    assert [e.actor_email for e in entries()] == ["1@example.com"]
    result = runner.invoke(args=["audit", "prune"])
    assert result.exit_code == 0 and "Removed 0 audit entries older than 365 days." in result.output


def test_the_worker_prunes_the_log(app, now):
    import threading

    assert audit.prune_job in app.extensions["portal.worker_jobs"]
    log.record("auth.sign_in", log.Origin(None, "old@example.com"), now - timedelta(days=800))
    log.record("auth.sign_in", log.Origin(None, "new@example.com"), now - timedelta(days=3))
    db.session.commit()
    stop = threading.Event()
    stop.set()  # one round, then stop
    audit.prune_job(app, stop)
    assert [e.actor_email for e in entries()] == ["new@example.com"]


def test_the_staff_menu_marks_the_audit_log_as_the_current_page(app, client, auth):
    auth.login(gen_user(Role.ADMIN).email)
    page = client.get("/agent/audit").get_data(as_text=True)
    assert '<a href="/agent/audit" aria-current="page">' in page
    assert page.count('aria-current="page"') == 1  # not the queue as well


def test_deactivation_two_step_sign_in_and_throttled_sign_ins_are_recorded(app, client, auth, runner, now):
    from tests.auth.test_two_factor import enable

    org = gen_org(name="Acme")
    gen_user(Role.CUSTOMER, email="ana@example.com", org=org)
    assert runner.invoke(args=["user", "deactivate", "ana@example.com"]).exit_code == 0
    assert runner.invoke(args=["user", "deactivate", "ana@example.com"]).exit_code == 0  # no change: no entry
    assert runner.invoke(args=["user", "reactivate", "ana@example.com"]).exit_code == 0
    assert [(e.action, e.organization_id, e.detail) for e in entries() if e.action.startswith("user.") and e.action != "user.create"] == [
        ("user.deactivate", org.id, {"via": "cli"}), ("user.reactivate", org.id, {"via": "cli"})]

    auth.login("ana@example.com")
    enable(client, now)
    turned_on, = entries("auth.2fa_on")
    assert (turned_on.actor_email, turned_on.target_label) == ("ana@example.com", "ana@example.com")
    assert runner.invoke(args=["user", "reset-2fa", "ana@example.com"]).exit_code == 0
    reset, = entries("auth.2fa_reset")
    assert reset.actor_id is None and reset.detail == {"via": "cli"}

    auth.logout()
    for _ in range(6):  # LOGIN_RATE_LIMIT_ACCOUNT is 5 per 5 minutes
        auth.login("ana@example.com", "wrong-password-typed")
    throttled = entries("auth.sign_in_throttled")
    assert [e.target_label for e in throttled] == ["ana@example.com"] and throttled[0].detail["wait"] > 0
