"""Results emails keep their rendered message, committed with the results

Reviewed by hand: three nullable text columns on email_deliveries, nothing else. A delivery
row is now written in the same commit as the results it reports, with its message; a worker
killed before queueing it, or a Redis that lost the queued job, no longer loses the email:
workers (as they start) and ``flask jobs requeue`` queue it again. Rows written before this
revision have no message and are never queued again. Dropped on downgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('text_body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('html_body', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('email_deliveries', schema=None) as batch_op:
        batch_op.drop_column('html_body')
        batch_op.drop_column('text_body')
        batch_op.drop_column('subject')
