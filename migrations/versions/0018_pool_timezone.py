"""A list's own time zone: leads added to it whose zone nothing else tells get it

Reviewed by hand: one nullable column on lead_pools (``timezone``, an IANA name). Empty
for every existing pool, which keeps using its campaign's default zone. Dropped on
downgrade.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 06:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lead_pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("lead_pools", schema=None) as batch_op:
        batch_op.drop_column("timezone")
