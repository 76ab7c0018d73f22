"""ticket viewers: which agents have a ticket open, for the collision notice

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_viewers',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_viewers_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_viewers_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'user_id', name=op.f('pk_ticket_viewers')),
    )
    op.create_index(op.f('ix_ticket_viewers_seen_at'), 'ticket_viewers', ['seen_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ticket_viewers_seen_at'), table_name='ticket_viewers')
    op.drop_table('ticket_viewers')
