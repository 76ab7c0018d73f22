"""on-site visits: a consultant's day at an organization, one active visit per consultant and day; time entries point at the visit they were logged for

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 23:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'cancelled'"


def upgrade():
    op.create_table(
        'visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('consultant_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('agenda', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=True),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['consultant_id'], ['users.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_visits_organization_id'), 'visits', ['organization_id'], unique=False)
    # A consultant is on one site a day: the database refuses the second of two racing bookings.
    op.create_index('uq_visits_consultant_day', 'visits', ['consultant_id', 'day'], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))
    op.execute("UPDATE ticket_time_entries SET visit_id = NULL")  # 0022 had no visits to point at
    with op.batch_alter_table('ticket_time_entries', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_ticket_time_entries_visit_id', 'visits', ['visit_id'], ['id'],
                                    ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('ticket_time_entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_time_entries_visit_id', type_='foreignkey')
    op.drop_index('uq_visits_consultant_day', table_name='visits')
    op.drop_index(op.f('ix_visits_organization_id'), table_name='visits')
    op.drop_table('visits')
