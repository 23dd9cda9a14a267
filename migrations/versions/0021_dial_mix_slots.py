"""The dial queue's weighted turns on PostgreSQL come from a sequence (issue 18)

Reviewed by hand: one sequence, ``dial_mix_slots`` (PostgreSQL only; SQLite's callers take
turns and keep the count in ``dial_settings.mix_position``). ``nextval`` never waits and
never gives two callers the same turn, so callers at the same moment follow different
slots of the weighted sequence. Dropped on downgrade.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 07:40:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS dial_mix_slots")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS dial_mix_slots")
