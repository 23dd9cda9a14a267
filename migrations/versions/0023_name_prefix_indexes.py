"""Name prefixes searched through an index (issue 19 §2)

The Leads page's quick search by name read every lead of the account (a LIKE '%smi%' over
first and last names): 1.0-1.4 s at 368,000 leads. It now looks for names that start with
what was typed, as one range of (account, lower-cased name) per name column. On PostgreSQL
the index orders the lower-cased names code point by code point (``text_pattern_ops``), so
the range holds exactly the names with that prefix whatever the database's collation.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 09:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

NAMES = ("first_name", "last_name")


def upgrade():
    for column in NAMES:
        folded = f"{column}_folded"
        op.create_index(
            f"ix_leads_account_{column}",
            "leads",
            ["account_id", sa.func.lower(sa.column(column)).label(folded)],
            postgresql_ops={folded: "text_pattern_ops"},
        )


def downgrade():
    for column in NAMES:
        op.drop_index(f"ix_leads_account_{column}", table_name="leads")
