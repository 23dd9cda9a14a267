"""A list's last activity read from an index (issue 19 §2)

The pool grid sorted by "Last activity" takes, per list, the latest call of its leads
(``max(last_called_at)``): without an index that reads every lead of every list — 16 s at
1,000,000 leads (bench/scale.py). With (pool_id, last_called_at) over the leads that were
called, it is one step down the index per list. Partial: leads never called (most of a
new list) are not in it, so imports write no entry for them.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    called = sa.text("last_called_at IS NOT NULL")
    op.create_index(
        "ix_leads_pool_last_called",
        "leads",
        ["pool_id", "last_called_at"],
        postgresql_where=called,
        sqlite_where=called,
    )


def downgrade():
    op.drop_index("ix_leads_pool_last_called", table_name="leads")
