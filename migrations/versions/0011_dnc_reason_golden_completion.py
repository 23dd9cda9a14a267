"""Why a lead is do-not-call; dedup runs carry completion and callbacks to golden records

Reviewed by hand: one nullable column on leads (``dnc_reason``: number / copy / hand),
two on dedup_moves (the copy's completed flag and callback time, as the plan found them)
and six on dedup_golden_changes (completed, callback time and do-not-call reason before
and after). Existing do-not-call leads get their reason: "number" when one of their own
numbers is listed, else "copy" when a dedup run gave them the flag, else "hand". Rows
written before this revision keep the new dedup columns empty. Dropped on downgrade.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 18:40:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dnc_reason", sa.String(length=10), nullable=True))
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_completed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("from_callback_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("dedup_golden_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("was_completed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("was_callback_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("was_dnc_reason", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("new_completed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("new_callback_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("new_dnc_reason", sa.String(length=10), nullable=True))
    listed = " OR ".join(
        f"phone{i} IN (SELECT phone FROM do_not_call_numbers d "
        "WHERE d.account_id = leads.account_id)"
        for i in range(1, 6)
    )
    op.execute(f"UPDATE leads SET dnc_reason = 'number' WHERE do_not_call AND ({listed})")
    op.execute(
        "UPDATE leads SET dnc_reason = 'copy' WHERE do_not_call AND dnc_reason IS NULL "
        "AND id IN (SELECT lead_id FROM dedup_golden_changes "
        "WHERE new_do_not_call AND NOT was_do_not_call)"
    )
    op.execute("UPDATE leads SET dnc_reason = 'hand' WHERE do_not_call AND dnc_reason IS NULL")


def downgrade():
    with op.batch_alter_table("dedup_golden_changes", schema=None) as batch_op:
        batch_op.drop_column("new_dnc_reason")
        batch_op.drop_column("new_callback_at")
        batch_op.drop_column("new_completed")
        batch_op.drop_column("was_dnc_reason")
        batch_op.drop_column("was_callback_at")
        batch_op.drop_column("was_completed")
    with op.batch_alter_table("dedup_moves", schema=None) as batch_op:
        batch_op.drop_column("from_callback_at")
        batch_op.drop_column("from_completed")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("dnc_reason")
