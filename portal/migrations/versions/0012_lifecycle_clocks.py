"""lifecycle clocks: update promises, calendar-hour pauses, best-effort tickets

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_paused_calendar_seconds', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('best_effort', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('update_clock_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_update_due', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('update_at_risk_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('update_breached_at', sa.DateTime(), nullable=True))
        # Solved tickets close by themselves after the confirmation window.
        batch_op.create_index('ix_tickets_solved_at', ['solved_at'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_solved_at')
        for column in ('update_breached_at', 'update_at_risk_at', 'next_update_due', 'update_clock_since',
                       'best_effort', 'sla_paused_calendar_seconds'):
            batch_op.drop_column(column)
