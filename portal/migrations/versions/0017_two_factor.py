"""two-step sign-in: users' TOTP secrets (encrypted) and their recovery codes (hashed)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_two_factor',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
        sa.Column('enabled_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_step', sa.Integer(), nullable=True),
        sa.Column('failed_codes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'user_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_user_recovery_codes_user_id', 'user_recovery_codes', ['user_id'])


def downgrade():
    op.drop_index('ix_user_recovery_codes_user_id', table_name='user_recovery_codes')
    op.drop_table('user_recovery_codes')
    op.drop_table('user_two_factor')
