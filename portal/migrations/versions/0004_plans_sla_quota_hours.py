"""plans: SLA clocks on tickets, quota usage, time entries, hour purchases, saved drafts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('first_response_due', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_due', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_seconds', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('response_at_risk_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('response_breached_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_at_risk_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolution_breached_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_to_development', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('caused_by_bug', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_tickets_first_response_due'), ['first_response_due'], unique=False)

    op.create_table(
        'ticket_quota_usage',
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('used', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ticket_quota_usage_organization_id_organizations')),
        sa.PrimaryKeyConstraint('organization_id', 'month', name=op.f('pk_ticket_quota_usage')),
    )
    op.create_table(
        'ticket_time_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('worked_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_time_entries_ticket_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_ticket_time_entries_organization_id_organizations')),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_ticket_time_entries_agent_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_time_entries')),
    )
    with op.batch_alter_table('ticket_time_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_time_entries_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_time_entries_organization_id'), ['organization_id'], unique=False)
    op.create_table(
        'support_hour_purchases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('hours', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=False),
        sa.Column('purchased_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_support_hour_purchases_organization_id_organizations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_support_hour_purchases')),
    )
    with op.batch_alter_table('support_hour_purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_hour_purchases_organization_id'), ['organization_id'], unique=False)

    op.create_table(
        'ticket_saved_drafts',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('impact', sa.String(length=10), nullable=True),
        sa.Column('urgency', sa.String(length=10), nullable=True),
        sa.Column('priority_override', sa.String(length=2), nullable=True),
        sa.Column('steps_to_reproduce', sa.Text(), nullable=True),
        sa.Column('affected_account', sa.String(length=200), nullable=True),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_saved_drafts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_ticket_saved_drafts')),
    )


def downgrade():
    op.drop_table('ticket_saved_drafts')
    op.drop_table('support_hour_purchases')
    op.drop_table('ticket_time_entries')
    op.drop_table('ticket_quota_usage')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_first_response_due'))
        for column in ('caused_by_bug', 'escalated_to_development', 'resolution_breached_at', 'resolution_at_risk_at',
                       'response_breached_at', 'response_at_risk_at', 'sla_paused_seconds', 'sla_paused_since',
                       'resolution_due', 'first_response_at', 'first_response_due', 'plan'):
            batch_op.drop_column(column)
