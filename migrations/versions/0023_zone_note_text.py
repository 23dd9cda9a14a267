"""A lead's zone note and zone key hold every zone a number may be in

Reviewed by hand: ``leads.timezone_note`` (String 200) and ``leads.zone_key`` (String 255)
become TEXT. A toll-free number (+1 800) may be in 15 zones: its note was 301 characters,
refused by PostgreSQL (a lead added by hand answered 500), and its key 246, close to the
limit. PostgreSQL only: SQLite does not enforce a VARCHAR's length, and rebuilding the
leads table there would cost a copy of every lead. Indexes are kept (PostgreSQL rebuilds
them).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 08:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.batch_alter_table("leads") as batch_op:
        batch_op.alter_column("timezone_note", type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column("zone_key", type_=sa.Text(), existing_nullable=True)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.batch_alter_table("leads") as batch_op:
        batch_op.alter_column("timezone_note", type_=sa.String(length=200), existing_nullable=True)
        batch_op.alter_column("zone_key", type_=sa.String(length=255), existing_nullable=True)
