"""Dedup moves record the copy's do-not-call flag, call count and last call

Reviewed by hand: three nullable columns on dedup_moves, nothing else. The plan of a run
writes them; the golden records inherit from them in one pass over the plan instead of
reading every copy again. Moves written before this revision keep them empty: their golden
records were already done when their plan was written. Dropped on downgrade.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_do_not_call", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("from_call_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("from_last_called_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.drop_column("from_last_called_at")
        batch_op.drop_column("from_call_count")
        batch_op.drop_column("from_do_not_call")
