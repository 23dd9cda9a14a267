"""A pool's leads per status, time zone, ready zone key and reopenable, kept by deltas
(issue 19 §2: the pool page's charts, "Callable now" and the dedup scope counts at a cost
that does not grow with the pool), and the pool page's first leads in dial order read
from an index on (pool, dial order, id) instead of a sort of the whole pool

Filled here from the leads once; from then on each change to a lead moves its rows
(``services.pool_counters``) and set-based changes recount their pools.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

DEFAULT_MAX_ATTEMPTS = 5  # leadapp.domain.pool_counters, as of this revision


def upgrade():
    op.create_table(
        "pool_breakdowns",
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["account_id", "pool_id"],
            ["lead_pools.account_id", "lead_pools.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pool_id", "kind", "key"),
    )
    op.create_index("ix_pool_breakdowns_account_id", "pool_breakdowns", ["account_id"])
    op.create_index("ix_leads_pool_dial_order", "leads", ["pool_id", "dial_order", "id"])
    insert = "INSERT INTO pool_breakdowns (account_id, pool_id, kind, key, leads) "
    for select in fill_selects(op.get_bind().dialect.name):
        op.execute(insert + select)


def fill_selects(dialect: str) -> list[str]:
    """The SELECTs that count every pool's breakdowns from its leads, as (account_id,
    pool_id, kind, key, leads) (a test runs them on leads made through the ORM and compares
    them with the service's recount)."""
    true = "1" if dialect == "sqlite" else "true"
    false = "0" if dialect == "sqlite" else "false"
    limits = (
        "SELECT a.pool_id, max(coalesce(d.max_attempts, "
        f"{DEFAULT_MAX_ATTEMPTS})) AS max_attempts FROM pool_assignments a "
        "LEFT JOIN dial_settings d ON d.campaign_id = a.campaign_id "
        f"WHERE a.to_dial = {true} GROUP BY a.pool_id"
    )
    ready = (
        f"l.status = 'open' AND l.completed = {false} AND l.do_not_call = {false} "
        f"AND l.phone1 IS NOT NULL AND l.dial_attempts < coalesce(m.max_attempts, "
        f"{DEFAULT_MAX_ATTEMPTS})"
    )
    statements = []
    for kind, key, where in (
        ("status", "CAST(l.status AS VARCHAR)", ""),
        ("timezone", "coalesce(l.timezone, '')", ""),
        ("ready_zone", "coalesce(l.zone_key, '')", f"WHERE {ready}"),
        ("reopenable", "''", f"WHERE l.completed = {true} OR l.status = 'closed'"),
    ):
        by = "" if kind == "reopenable" else f", {key}"  # PostgreSQL groups by no constant
        statements.append(
            # The pool's own account (what the row's foreign key points at).
            f"SELECT p.account_id, l.pool_id, '{kind}', {key}, count(*) "
            "FROM leads l JOIN lead_pools p ON p.id = l.pool_id "
            f"LEFT JOIN ({limits}) m ON m.pool_id = l.pool_id {where} "
            f"GROUP BY p.account_id, l.pool_id{by}"
        )
    return statements


def downgrade():
    op.drop_index("ix_leads_pool_dial_order", table_name="leads")
    op.drop_index("ix_pool_breakdowns_account_id", table_name="pool_breakdowns")
    op.drop_table("pool_breakdowns")
