import pytest
from sqlalchemy import func, select

from portal.auth.models import Organization, Role, User
from portal.extensions import db
from tests.conftest import KB_DIR


def test_org_and_user_create(runner, app):
    result = runner.invoke(args=["org", "create", "Acme", "--plan", "standard", "--started", "2026-01-15",
                                 "--timezone", "Europe/Madrid"])
    assert result.exit_code == 0, result.output
    assert "Created organization 'Acme'" in result.output
    org = db.session.scalar(select(Organization))
    assert (org.started_on.isoformat(), org.timezone) == ("2026-01-15", "Europe/Madrid")
    from portal.plans.services import history

    [entry] = history(org)
    assert (entry.plan, entry.starts_on.isoformat(), entry.ends_on) == ("standard", "2026-01-15", None)
    result = runner.invoke(args=["user", "create", "Ana@Example.com", "--role", "customer_admin", "--org", "acme",
                                 "--name", "Ana", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.role, user.name, user.organization.name) == ("ana@example.com", Role.CUSTOMER_ADMIN, "Ana", "Acme")
    assert user.check_password("long-enough-pw")


def test_cli_errors_are_messages_not_tracebacks(runner, app):
    result = runner.invoke(args=["org", "create", "Acme", "--plan", "gold"])
    assert result.exit_code == 1 and "No plan 'gold' in the plans file; known plans: standard, premium" in result.output
    result = runner.invoke(args=["org", "create", "Acme", "--plan", "standard", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 1 and "Unknown time zone 'Mars/Olympus'" in result.output
    result = runner.invoke(args=["user", "create", "a@example.com", "--role", "customer", "--org", "Ghost",
                                 "--password", "long-enough-pw"])
    assert result.exit_code == 1 and "No organization named 'Ghost'" in result.output
    result = runner.invoke(args=["user", "create", "not-an-email", "--role", "agent", "--password", "long-enough-pw"])
    assert result.exit_code == 1 and "not a valid email address" in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_loads_once_and_prints_the_accounts(runner, app, now):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "Loaded the demo data." in first.output
    assert "customer@acme.example.com" in first.output and "portal-demo" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "already loaded" in second.output and "agent@portal.example.com" in second.output
    roles = set(db.session.scalars(select(User.role)))
    assert roles == set(Role)
    assert db.session.scalar(select(func.count()).select_from(User)) == 7
    # Demo tickets at different ages, with SLA clocks and an hours ledger to look at.
    from portal.auth.services import organization_by_name
    from portal.tickets import billing
    from portal.tickets.models import Ticket

    tickets = db.session.scalars(select(Ticket)).all()
    assert len(tickets) == 21 and all(t.first_response_due for t in tickets)
    assert [t.subject for t in tickets if t.channel.value == "email"] == ["Labels print blank since this morning"]
    [by_phone] = [t for t in tickets if t.channel.value == "phone"]  # Sam filed it for Ana, who phoned
    assert (by_phone.requester.email, by_phone.filed_by.email) == ("customer@acme.example.com",
                                                                   "agent@portal.example.com")
    assert sum(t.status.value == "closed" for t in tickets) == 14  # seven weeks of history, two a week
    # Acme evaluated Premium on a trial before going live, and moves to Premium next month.
    from portal.plans import history

    acme = organization_by_name("Acme Logistics")
    assert [(e.plan, e.trial) for e in history.history(acme)] == [("premium", True), ("standard", False),
                                                                  ("premium", False)]
    assert history.next_change(acme).entry.plan == "premium"
    balance = billing.balance(organization_by_name("Flujo Retail"))
    assert (balance.used_minutes, balance.bought_minutes) == (60, 20 * 60)
    # Eight weeks of searches and suggestions, about real articles, for the analytics page.
    from datetime import timedelta

    from portal.agent import analytics
    from portal.demo import DEMO_SUGGESTED
    from portal.kb.content import find_article_path

    assert all(find_article_path(KB_DIR, slug) for slug in DEMO_SUGGESTED)
    weeks = analytics.deflection_by_week(now - timedelta(days=60))
    assert len(weeks) >= 8 and sum(w.deflected for w in weeks) > sum(w.filed for w in weeks) == 19
    assert all(w.filed for w in weeks[-7:])  # every recent week has tickets filed after suggestions
    gaps = [q for q, _n, _last in analytics.searches(now - timedelta(days=60)).gaps]
    assert "single sign-on saml" in gaps and "reset password" not in gaps


def test_demo_accounts_can_sign_in(client, runner, auth):
    runner.invoke(args=["seed-demo"])
    assert auth.login("writer@portal.example.com", "portal-demo").status_code == 302


def test_kb_reindex_command(make_app, small_kb_dir, tmp_path):
    app = make_app(KB_DIR=str(small_kb_dir), INDEX_DIR=str(tmp_path / "idx"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0 and "Rebuilt the index: 1 articles" in result.output
    assert "up to date" in runner.invoke(args=["kb", "reindex"]).output
    (small_kb_dir / "faq").mkdir()
    (small_kb_dir / "faq" / "new.md").write_text("---\ntitle: New\nsummary: s\ncategory: tickets\nlang: en\n---\nx")
    assert "1 added, 0 changed, 0 removed" in runner.invoke(args=["kb", "reindex"]).output
    assert "Rebuilt the index: 2 articles" in runner.invoke(args=["kb", "reindex", "--full"]).output


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_set_password(runner, app):
    from tests.factories import gen_user

    user = gen_user(email="ana@example.com")
    result = runner.invoke(args=["user", "set-password", "ana@example.com", "--password", "brand-new-password"])
    assert result.exit_code == 0 and "New password set for ana@example.com" in result.output
    db.session.refresh(user)
    assert user.check_password("brand-new-password")
    result = runner.invoke(args=["user", "set-password", "ghost@example.com", "--password", "brand-new-password"])
    assert result.exit_code == 1 and "No user with the email ghost@example.com" in result.output
    result = runner.invoke(args=["user", "set-password", "ana@example.com", "--password", "short"])
    assert result.exit_code == 1 and "at least 10 characters" in result.output


@pytest.mark.instants("new-year-eve-23:59-utc")
def test_org_create_goes_live_today_in_its_own_zone(runner, app, now):
    # 23:59 UTC on 31 December is already 1 January in Madrid, still 31 December in New York.
    for name, zone, day in (("Acme", "Europe/Madrid", "2027-01-01"), ("Beta", "America/New_York", "2026-12-31")):
        result = runner.invoke(args=["org", "create", name, "--plan", "standard", "--timezone", zone])
        assert result.exit_code == 0, result.output
        org = db.session.scalar(select(Organization).where(Organization.name == name))
        assert org.started_on.isoformat() == day
