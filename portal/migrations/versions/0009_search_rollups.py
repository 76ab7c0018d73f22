"""search rollups: searches and content gaps counted per day for the analytics page

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 17:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kb_search_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('searches', sa.Integer(), nullable=False),
        sa.Column('without_results', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_kb_search_days')),
    )
    op.create_table(
        'kb_search_gap_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('normalized', sa.String(length=200), nullable=False),
        sa.Column('times', sa.Integer(), nullable=False),
        sa.Column('last_seen', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'normalized', name=op.f('pk_kb_search_gap_days')),
    )


def downgrade():
    op.drop_table('kb_search_gap_days')
    op.drop_table('kb_search_days')
