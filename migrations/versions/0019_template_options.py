"""Mapping templates keep the import settings saved with them ("use the first valid phone
as Phone 1")

Reviewed by hand: one JSON column on mapping_templates (``options``), '{}' for every
existing template, so templates saved before keep the setting off (issue 17 item 2: on by
default for new templates, off for old ones). Dropped on downgrade.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 06:45:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mapping_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("options", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade():
    with op.batch_alter_table("mapping_templates", schema=None) as batch_op:
        batch_op.drop_column("options")
