"""Leads' email and customer-key indexes hold only the leads that have one; a job's dedup
moves are indexed in plan order

Reviewed by hand: indexes only, no table rebuilt, no data changed, on SQLite and
PostgreSQL. A lead without an email or customer key was never looked up by it, yet each
import wrote an index entry for its empty key, and so did every move of a lead to another
pool (a dedup run's moves). (dedup_job_id, id) serves everything (dedup_job_id) served,
and a run's batch (a range of one job's moves) directly. Downgrade puts the full indexes
back.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 16:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KEYS = (("ix_leads_account_email", "email_key"), ("ix_leads_account_customer_key", "customer_key"))


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, column in KEYS:
            present = sa.text(f"{column} IS NOT NULL")
            batch_op.drop_index(name)
            batch_op.create_index(
                name, ["account_id", column], postgresql_where=present, sqlite_where=present
            )
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_dedup_moves_job")
        batch_op.create_index("ix_dedup_moves_job", ["dedup_job_id", "id"])


def downgrade():
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.drop_index("ix_dedup_moves_job")
        batch_op.create_index("ix_dedup_moves_job", ["dedup_job_id"])
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, column in KEYS:
            batch_op.drop_index(name)
            batch_op.create_index(name, ["account_id", column])
