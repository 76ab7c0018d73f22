"""experts' public holidays: the country and region whose holidays they take no sessions on

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 20:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('onboarding_experts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holiday_country', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('holiday_subdivision', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('onboarding_experts', schema=None) as batch_op:
        batch_op.drop_column('holiday_subdivision')
        batch_op.drop_column('holiday_country')
