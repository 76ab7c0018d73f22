"""the product area on a saved draft: the form fills it in again like the other fields

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 23:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_saved_drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('ticket_saved_drafts', schema=None) as batch_op:
        batch_op.drop_column('area')
