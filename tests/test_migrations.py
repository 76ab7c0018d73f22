"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db

# Built by migration 0006 on PostgreSQL only: the tickets' full-text GIN index, an expression
# the models do not declare because SQLite has no equivalent.
MIGRATION_ONLY = {"ix_tickets_search"}


def _compared(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in MIGRATION_ONLY)


def test_the_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _compared})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "a model changed without a migration (flask db migrate), or the reverse"


def test_0011_carries_every_organization_over_to_a_one_entry_history(database_url, kb_index, tmp_path, monkeypatch):
    """Each organization's plan becomes its history: from go-live, open-ended or ending per the
    plan's valid_months; the downgrade puts the plan back on the organization."""
    from datetime import date, datetime

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    from portal import create_app
    from tests.conftest import _config
    from tests.plans.conftest import EXAMPLES

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_config(database_url, kb_index, PLANS_FILE=str(EXAMPLES / "support-levels.toml")))
    with app.app_context():
        try:
            downgrade(revision="0010")
            with db.engine.begin() as connection:
                for name, plan, started in (("Old Monthly", "monthly", date(2026, 1, 31)),
                                            ("Preferred", "preferential", date(2025, 5, 2)),
                                            ("Gone", "gold", date(2024, 3, 1))):
                    connection.execute(text(
                        "INSERT INTO organizations (name, plan, started_on, timezone, created_at) "
                        "VALUES (:name, :plan, :started, 'Europe/Madrid', :created)"),
                        {"name": name, "plan": plan, "started": started, "created": datetime(2026, 1, 1)})
                connection.execute(text(  # rows that refer to an organization survive the change of its table
                    "INSERT INTO users (email, name, password_hash, role, organization_id, active, created_at) "
                    "SELECT 'ana@example.com', 'Ana', 'x', 'customer', id, :yes, :created FROM organizations "
                    "WHERE name = 'Gone'"), {"yes": True, "created": datetime(2026, 1, 1)})
            upgrade(revision="0011")
            with db.engine.connect() as connection:
                rows = connection.execute(text(
                    "SELECT o.name, h.plan, h.starts_on, h.ends_on, h.trial FROM organization_plans h "
                    "JOIN organizations o ON o.id = h.organization_id ORDER BY o.name")).all()
            assert [(n, p, str(s), e and str(e), bool(t)) for n, p, s, e, t in rows] == [
                ("Gone", "gold", "2024-03-01", None, False),  # a plan the file no longer has: kept as it was
                ("Old Monthly", "monthly", "2026-01-31", "2026-07-30", False),  # six months after go-live
                ("Preferred", "preferential", "2025-05-02", None, False),
            ]
            assert "plan" not in {c["name"] for c in inspect(db.engine).get_columns("organizations")}
            with db.engine.connect() as connection:
                assert connection.execute(text("SELECT o.name FROM users u JOIN organizations o "
                                               "ON o.id = u.organization_id")).scalar() == "Gone"
            downgrade(revision="0010")
            with db.engine.connect() as connection:
                plans = dict(connection.execute(text("SELECT name, plan FROM organizations")).all())
            assert plans == {"Old Monthly": "monthly", "Preferred": "preferential", "Gone": "gold"}
        finally:
            upgrade()
            with db.engine.begin() as connection:
                connection.execute(text("DELETE FROM organization_plans"))
                connection.execute(text("DELETE FROM users"))
                connection.execute(text("DELETE FROM organizations"))
            db.engine.dispose()
