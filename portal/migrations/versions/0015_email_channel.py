"""the email channel: inbound messages, organizations' mail domains, bouncing addresses, the channel of tickets and messages, follow-ups

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 12:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

CHANNEL = sa.Enum('web', 'email', 'api', name='channel', native_enum=False, length=30)


def upgrade():
    op.create_table(
        'organization_domains',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('domain', sa.String(length=253), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('domain'),
    )
    op.create_index('ix_organization_domains_organization_id', 'organization_domains', ['organization_id'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_bouncing_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('email_bounce_reason', sa.String(length=200), nullable=True))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', CHANNEL, nullable=False, server_default='web'))
        batch_op.add_column(sa.Column('follow_up_of_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_tickets_follow_up_of_id', 'tickets', ['follow_up_of_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', CHANNEL, nullable=False, server_default='web'))
    op.create_table(
        'mail_inbound',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=255), nullable=False),
        sa.Column('source', sa.String(length=80), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=False),
        sa.Column('from_address', sa.String(length=320), nullable=True),
        sa.Column('from_name', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=400), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=True),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('ticket_message_id', sa.Integer(), nullable=True),
        sa.Column('handled_by_id', sa.Integer(), nullable=True),
        sa.Column('handled_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_message_id'], ['ticket_messages.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['handled_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_mail_inbound_ticket_id', 'mail_inbound', ['ticket_id'])
    op.create_index('ix_mail_inbound_outcome', 'mail_inbound', ['outcome', 'id'])
    op.create_index('ix_mail_inbound_sender', 'mail_inbound', ['from_address', 'received_at'])


def downgrade():
    op.drop_index('ix_mail_inbound_sender', table_name='mail_inbound')
    op.drop_index('ix_mail_inbound_outcome', table_name='mail_inbound')
    op.drop_index('ix_mail_inbound_ticket_id', table_name='mail_inbound')
    op.drop_table('mail_inbound')
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tickets_follow_up_of_id', type_='foreignkey')
        batch_op.drop_column('follow_up_of_id')
        batch_op.drop_column('channel')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_bounce_reason')
        batch_op.drop_column('email_bouncing_at')
    op.drop_index('ix_organization_domains_organization_id', table_name='organization_domains')
    op.drop_table('organization_domains')
