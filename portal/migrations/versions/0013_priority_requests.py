"""priority schemes per plan: customers' priority-change requests; impact and urgency optional

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 06:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PRIORITY = sa.Enum('P1', 'P2', 'P3', 'P4', name='priority', native_enum=False, length=30)
LEVEL = sa.Enum('high', 'medium', 'low', name='level', native_enum=False, length=30)


def upgrade():
    op.create_table(
        'ticket_priority_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('current_priority', PRIORITY, nullable=False),
        sa.Column('requested_priority', PRIORITY, nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decision', sa.String(length=10), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decline_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_priority_requests_ticket_id', 'ticket_priority_requests', ['ticket_id'])
    # One open request per ticket, also under concurrent requests.
    op.create_index('uq_ticket_priority_requests_open', 'ticket_priority_requests', ['ticket_id'], unique=True,
                    sqlite_where=sa.text('decision IS NULL'), postgresql_where=sa.text('decision IS NULL'))
    # Plans with severity levels or a fixed priority ask neither impact nor urgency.
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('impact', existing_type=LEVEL, nullable=True)
        batch_op.alter_column('urgency', existing_type=LEVEL, nullable=True)


def downgrade():
    op.execute("UPDATE tickets SET impact = 'medium' WHERE impact IS NULL")
    op.execute("UPDATE tickets SET urgency = 'medium' WHERE urgency IS NULL")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.alter_column('urgency', existing_type=LEVEL, nullable=False)
        batch_op.alter_column('impact', existing_type=LEVEL, nullable=False)
    op.drop_index('uq_ticket_priority_requests_open', table_name='ticket_priority_requests')
    op.drop_index('ix_ticket_priority_requests_ticket_id', table_name='ticket_priority_requests')
    op.drop_table('ticket_priority_requests')
