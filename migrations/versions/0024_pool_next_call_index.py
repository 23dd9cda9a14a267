"""Leads waiting for a time, indexed per pool (issue 18/19: "Ready to dial" at flat cost)

"Ready to dial" is the pool's ready counter (kept by deltas) less its leads leased or
recycling until after now (``next_call_at`` in the future). (pool_id, next_call_at) over
the dialable leads that were ever called makes that one range per pool; leads never
called are not in it, so imports write no entry for them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 09:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

CALLED_SINCE = "next_call_at > '1970-01-02'"


def _waiting(dialect: str) -> sa.TextClause:
    false = "0" if dialect == "sqlite" else "false"
    return sa.text(
        f"status = 'open' AND completed = {false} AND do_not_call = {false} AND {CALLED_SINCE}"
    )


def upgrade():
    op.create_index(
        "ix_leads_pool_next_call",
        "leads",
        ["pool_id", "next_call_at"],
        postgresql_where=_waiting("postgresql"),
        sqlite_where=_waiting("sqlite"),
    )


def downgrade():
    op.drop_index("ix_leads_pool_next_call", table_name="leads")
