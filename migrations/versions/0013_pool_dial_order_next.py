"""Dial order is file order until Shuffle: each pool numbers its leads 0, 1, 2, ...

Reviewed by hand: one column on lead_pools (``dial_order_next``, the next free dial-order
position, 0 by default). Every existing pool's leads get dense positions: a pool never
shuffled (no "pool.shuffled" in the audit log) in lead id order — the order the rows of
its files arrived in — and a shuffled one in its current (random) dial order; the pool's
``dial_order_next`` is then its lead count. Both are window-function updates (SQLite
3.25+, PostgreSQL). The column is dropped on downgrade; the positions stay (they are
valid dial orders).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:40:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lead_pools", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dial_order_next", sa.Integer(), nullable=False, server_default="0")
        )
    shuffled = (
        "SELECT object_id FROM audit_log WHERE action = 'pool.shuffled' "
        "AND object_type = 'LeadPool'"
    )
    op.execute(
        "UPDATE leads SET dial_order = ranked.position FROM ("
        "  SELECT id, ROW_NUMBER() OVER (PARTITION BY pool_id ORDER BY"
        f"    CASE WHEN pool_id IN ({shuffled}) THEN dial_order ELSE 0 END, id) - 1"
        "    AS position FROM leads"
        ") AS ranked WHERE leads.id = ranked.id"
    )
    op.execute(
        "UPDATE lead_pools SET dial_order_next = "
        "(SELECT COUNT(*) FROM leads WHERE leads.pool_id = lead_pools.id)"
    )


def downgrade():
    with op.batch_alter_table("lead_pools", schema=None) as batch_op:
        batch_op.drop_column("dial_order_next")
