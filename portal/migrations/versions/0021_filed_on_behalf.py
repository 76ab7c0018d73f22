"""tickets filed on a customer's behalf: the agent who filed (the phone, chat and visit channels need no change:
the channel is a non-native enum without a CHECK constraint)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 18:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_tickets_filed_by_id', 'users', ['filed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_filed_by_id', type_='foreignkey')
        batch_op.drop_column('filed_by_id')
