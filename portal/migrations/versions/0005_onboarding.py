"""onboarding: experts, availability, days off, sessions, feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

ACTIVE = "status <> 'cancelled'"


def upgrade():
    op.create_table(
        'onboarding_experts',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('meeting_url', sa.String(length=300), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_onboarding_experts_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_onboarding_experts')),
    )
    op.create_table(
        'onboarding_availability',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('start_minute', sa.Integer(), nullable=False),
        sa.Column('end_minute', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['expert_id'], ['onboarding_experts.user_id'], name=op.f('fk_onboarding_availability_expert_id_onboarding_experts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_availability')),
    )
    op.create_index(op.f('ix_onboarding_availability_expert_id'), 'onboarding_availability', ['expert_id'], unique=False)
    op.create_table(
        'onboarding_days_off',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['expert_id'], ['onboarding_experts.user_id'], name=op.f('fk_onboarding_days_off_expert_id_onboarding_experts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_days_off')),
    )
    op.create_index(op.f('ix_onboarding_days_off_expert_id'), 'onboarding_days_off', ['expert_id'], unique=False)
    op.create_table(
        'onboarding_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('booked_by_id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=False),
        sa.Column('week', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('feature_area', sa.String(length=60), nullable=False),
        sa.Column('questions', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('follow_up', sa.Text(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_onboarding_sessions_organization_id_organizations')),
        sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'], name=op.f('fk_onboarding_sessions_booked_by_id_users')),
        sa.ForeignKeyConstraint(['expert_id'], ['onboarding_experts.user_id'], name=op.f('fk_onboarding_sessions_expert_id_onboarding_experts')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_onboarding_sessions_ticket_id_tickets'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_sessions')),
    )
    op.create_index(op.f('ix_onboarding_sessions_organization_id'), 'onboarding_sessions', ['organization_id'], unique=False)
    op.create_index(op.f('ix_onboarding_sessions_expert_id'), 'onboarding_sessions', ['expert_id'], unique=False)
    # The database refuses double bookings: one active session per expert and start, one per week of a program.
    op.create_index('uq_onboarding_sessions_expert_slot', 'onboarding_sessions', ['expert_id', 'starts_at'], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))
    op.create_index('uq_onboarding_sessions_org_week', 'onboarding_sessions', ['organization_id', 'week'], unique=True,
                    postgresql_where=sa.text(ACTIVE + " AND week IS NOT NULL"),
                    sqlite_where=sa.text(ACTIVE + " AND week IS NOT NULL"))
    op.create_table(
        'onboarding_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('usefulness', sa.Integer(), nullable=False),
        sa.Column('clarity', sa.Integer(), nullable=False),
        sa.Column('pace', sa.Integer(), nullable=False),
        sa.Column('expert_score', sa.Integer(), nullable=False),
        sa.Column('comments', sa.Text(), nullable=True),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_onboarding_feedback_organization_id_organizations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_onboarding_feedback_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_feedback')),
        sa.UniqueConstraint('organization_id', name=op.f('uq_onboarding_feedback_organization_id')),
    )


def downgrade():
    op.drop_table('onboarding_feedback')
    op.drop_index('uq_onboarding_sessions_org_week', table_name='onboarding_sessions')
    op.drop_index('uq_onboarding_sessions_expert_slot', table_name='onboarding_sessions')
    op.drop_table('onboarding_sessions')
    op.drop_table('onboarding_days_off')
    op.drop_table('onboarding_availability')
    op.drop_table('onboarding_experts')
