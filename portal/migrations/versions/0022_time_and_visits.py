"""time without a ticket: a kind for every time entry, its own billing flags, links to the visit or onboarding session

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_time_entries', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='ticket'))
        batch_op.add_column(sa.Column('escalated_to_development', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('caused_by_bug', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('visit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('onboarding_session_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_ticket_time_entries_visit_id', ['visit_id'])
        batch_op.create_unique_constraint('uq_ticket_time_entries_onboarding_session_id', ['onboarding_session_id'])
        batch_op.create_foreign_key('fk_ticket_time_entries_onboarding_session_id', 'onboarding_sessions',
                                    ['onboarding_session_id'], ['id'], ondelete='SET NULL')


def downgrade():
    op.execute("DELETE FROM ticket_time_entries WHERE ticket_id IS NULL")
    with op.batch_alter_table('ticket_time_entries', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_time_entries_onboarding_session_id', type_='foreignkey')
        batch_op.drop_constraint('uq_ticket_time_entries_onboarding_session_id', type_='unique')
        batch_op.drop_constraint('uq_ticket_time_entries_visit_id', type_='unique')
        batch_op.drop_column('onboarding_session_id')
        batch_op.drop_column('visit_id')
        batch_op.drop_column('caused_by_bug')
        batch_op.drop_column('escalated_to_development')
        batch_op.drop_column('kind')
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
