"""A pool's ready leads per attempts and zone key, kept by deltas beside its other
breakdowns (issue 19 §2: the campaign page's "Ready to dial" and "Callable now" at a cost
that does not grow with the pool, for a campaign allowing fewer attempts than the pool's
limit too): breakdown "ready_attempts", key 'attempts:zone key', so the key column grows
to hold a zone key (255) with its attempts before it.

Filled here from the leads once; from then on each change to a lead moves its rows
(``services.pool_counters``) and set-based changes recount their pools.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 14:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

DEFAULT_MAX_ATTEMPTS = 5  # leadapp.domain.pool_counters, as of this revision


def upgrade():
    with op.batch_alter_table("pool_breakdowns") as batch:
        batch.alter_column(
            "key", type_=sa.String(270), existing_type=sa.String(255), existing_nullable=False
        )
    op.execute(
        "INSERT INTO pool_breakdowns (account_id, pool_id, kind, key, leads) "
        + fill_select(op.get_bind().dialect.name)
    )


def fill_select(dialect: str) -> str:
    """The SELECT that counts every pool's "ready_attempts" breakdown from its leads, as
    (account_id, pool_id, kind, key, leads) (a test runs it on leads made through the ORM
    and compares it with the service's recount)."""
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
    key = "CAST(l.dial_attempts AS VARCHAR(12)) || ':' || coalesce(l.zone_key, '')"
    # The pool's own account (what the row's foreign key points at).
    return (
        f"SELECT p.account_id, l.pool_id, 'ready_attempts', {key}, count(*) "
        "FROM leads l JOIN lead_pools p ON p.id = l.pool_id "
        f"LEFT JOIN ({limits}) m ON m.pool_id = l.pool_id WHERE {ready} "
        f"GROUP BY p.account_id, l.pool_id, {key}"
    )


def downgrade():
    op.execute("DELETE FROM pool_breakdowns WHERE kind = 'ready_attempts'")
    with op.batch_alter_table("pool_breakdowns") as batch:
        batch.alter_column(
            "key", type_=sa.String(255), existing_type=sa.String(270), existing_nullable=False
        )
