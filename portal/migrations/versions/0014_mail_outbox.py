"""the mail outbox: every notification is queued in the transaction of its change, with its attempts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 12:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=400), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('thread', sa.String(length=40), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_mail_outbox_thread', 'mail_outbox', ['thread'])
    op.create_index('ix_mail_outbox_due', 'mail_outbox', ['status', 'next_attempt_at'])
    op.create_table(
        'mail_delivery_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=False),
        sa.Column('attempted_at', sa.DateTime(), nullable=False),
        sa.Column('worker', sa.String(length=100), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['outbox_id'], ['mail_outbox.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_mail_delivery_attempts_outbox_id', 'mail_delivery_attempts', ['outbox_id'])


def downgrade():
    op.drop_index('ix_mail_delivery_attempts_outbox_id', table_name='mail_delivery_attempts')
    op.drop_table('mail_delivery_attempts')
    op.drop_index('ix_mail_outbox_due', table_name='mail_outbox')
    op.drop_index('ix_mail_outbox_thread', table_name='mail_outbox')
    op.drop_table('mail_outbox')
