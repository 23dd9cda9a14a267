"""The dial queue reads its leads per pool and zone key (issue 18 on issue 15's keys)

Reviewed by hand: the two queue indexes of 0014 were per pool and time zone; calling hours
are decided per ``zone_key`` (possible zones, country, state: migration 0016), so the
queue's branches are per key and its indexes lead with (pool_id, zone_key). Same partial
condition (open, not completed, not do-not-call). Downgrade puts the 0014 indexes back.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _dialable(dialect: str) -> sa.TextClause:
    false = "0" if dialect == "sqlite" else "false"
    return sa.text(f"status = 'open' AND completed = {false} AND do_not_call = {false}")


def _indexes(zone_column: str) -> None:
    for name, columns in (
        (
            "ix_leads_dial_file",
            ["pool_id", zone_column, "dial_order", "id", "next_call_at", "dial_attempts"],
        ),
        (
            "ix_leads_dial_attempts",
            ["pool_id", zone_column, "dial_attempts", "dial_order", "id", "next_call_at"],
        ),
    ):
        op.drop_index(name, table_name="leads")
        op.create_index(
            name,
            "leads",
            columns,
            postgresql_where=_dialable("postgresql"),
            sqlite_where=_dialable("sqlite"),
        )


def upgrade():
    _indexes("zone_key")


def downgrade():
    _indexes("timezone")
