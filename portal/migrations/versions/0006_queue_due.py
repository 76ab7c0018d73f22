"""agents' queue: the running SLA clock's due time on each ticket

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:25:00

"""
from datetime import datetime

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

NO_CLOCK = datetime(9999, 12, 31)


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_next_due', sa.DateTime(), nullable=False,
                                      server_default=sa.text("'9999-12-31 00:00:00'")))
        batch_op.create_index('ix_tickets_queue', ['sla_next_due', 'id'], unique=False)
        # An index leading with status made SQLite sort every active ticket instead of walking the queue index.
        batch_op.drop_index('ix_tickets_status_waiting_since')
        batch_op.create_index('ix_tickets_waiting_since', ['waiting_since'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # The agents' text search (portal.agent.services.SEARCH_DOCUMENT); SQLite searches words with LIKE.
        op.execute("CREATE INDEX ix_tickets_search ON tickets "
                   "USING gin (to_tsvector('simple', subject || ' ' || description))")
    tickets = sa.table('tickets', sa.column('sla_next_due', sa.DateTime()), sa.column('status', sa.String()),
                       sa.column('sla_paused_since', sa.DateTime()), sa.column('first_response_at', sa.DateTime()),
                       sa.column('first_response_due', sa.DateTime()), sa.column('resolution_due', sa.DateTime()))
    running = sa.and_(tickets.c.status.not_in(['solved', 'closed']), tickets.c.sla_paused_since.is_(None))
    op.execute(tickets.update().where(running, tickets.c.first_response_at.is_(None),
                                      tickets.c.first_response_due.is_not(None))
               .values(sla_next_due=tickets.c.first_response_due))
    op.execute(tickets.update().where(running, tickets.c.first_response_at.is_not(None),
                                      tickets.c.resolution_due.is_not(None))
               .values(sla_next_due=tickets.c.resolution_due))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX ix_tickets_search")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_waiting_since')
        batch_op.create_index('ix_tickets_status_waiting_since', ['status', 'waiting_since'], unique=False)
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_column('sla_next_due')
