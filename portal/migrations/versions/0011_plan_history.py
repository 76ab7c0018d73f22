"""plan history: each organization's plans over time, instead of one plan forever

Every organization gets a one-entry history: the plan it had, from its go-live
date, ending when the plan's ``valid_months`` say (seed 001: six months after
go-live), otherwise open-ended. ``organizations.plan`` is dropped: the history is
the only place that says which plan applies.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

"""
from datetime import date, datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def _valid_months(key: str) -> int | None:
    """The plan's validity from the plans file in force (the rule that ended plans until now)."""
    try:
        from flask import current_app

        plan = current_app.extensions.get("portal.plans", {}).get(key)
    except RuntimeError:  # alembic run without the app: no plans file, no validity
        return None
    return getattr(getattr(plan, "spec", None), "valid_months", None)


def _drop_plan_column():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column in place. Alembic's batch mode would copy the table and
        # drop the old one, and with foreign keys on that deletes (or refuses, or cascades to)
        # every row that refers to an organization.
        op.execute("ALTER TABLE organizations DROP COLUMN plan")
    else:
        op.drop_column('organizations', 'plan')


def upgrade():
    organizations = sa.table('organizations', sa.column('id', sa.Integer()), sa.column('plan', sa.String()),
                             sa.column('started_on', sa.Date()))
    connection = op.get_bind()
    carried = list(connection.execute(
        sa.select(organizations.c.id, organizations.c.plan, organizations.c.started_on)))
    _drop_plan_column()

    history = op.create_table(
        'organization_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('plan', sa.String(length=80), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('trial', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_organization_plans_organization_id_organizations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_organization_plans_set_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organization_plans')),
    )
    op.create_index(op.f('ix_organization_plans_organization_id'), 'organization_plans', ['organization_id'],
                    unique=False)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for org_id, plan, started_on in carried:
        months = _valid_months(plan)
        ends_on = _add_months(started_on, months) - timedelta(days=1) if months else None
        rows.append({'organization_id': org_id, 'plan': plan, 'starts_on': started_on, 'ends_on': ends_on,
                     'trial': False, 'note': None, 'set_by_id': None, 'created_at': now})
    if rows:
        op.bulk_insert(history, rows)


def downgrade():
    # Back to one plan: the latest entry that has started (or the first one). Added in place with a
    # default (SQLite cannot make a column NOT NULL without copying the table: see _drop_plan_column).
    op.add_column('organizations', sa.Column('plan', sa.String(length=80), nullable=False,
                                             server_default='standard'))
    connection = op.get_bind()
    today = datetime.now(timezone.utc).date()
    history = sa.table('organization_plans', sa.column('organization_id', sa.Integer()),
                       sa.column('plan', sa.String()), sa.column('starts_on', sa.Date()))
    organizations = sa.table('organizations', sa.column('id', sa.Integer()), sa.column('plan', sa.String()))
    chosen: dict[int, tuple[date, str]] = {}
    for org_id, plan, starts_on in connection.execute(
            sa.select(history.c.organization_id, history.c.plan, history.c.starts_on).order_by(history.c.starts_on)):
        if org_id not in chosen or starts_on <= today:
            chosen[org_id] = (starts_on, plan)
    for org_id, (_start, plan) in chosen.items():
        connection.execute(organizations.update().where(organizations.c.id == org_id).values(plan=plan))
    if connection.dialect.name != "sqlite":
        op.alter_column('organizations', 'plan', server_default=None)
    op.drop_index(op.f('ix_organization_plans_organization_id'), table_name='organization_plans')
    op.drop_table('organization_plans')
