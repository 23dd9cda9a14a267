"""The dial queue (issue 18): campaign dial settings, leases, each lead's dialing state

Reviewed by hand: three columns on leads — ``dial_attempts`` (0), ``next_call_at``
(1970-01-01: callable; a NOT NULL time so the queue's index compares it without a NULL
case) and ``callback_agent_id`` — and three partial indexes over the leads that can be
dialled at all (the queue in file order, fewest attempts first, and callbacks by time);
two new tables, ``dial_settings`` (one row per campaign, created on first use) and
``dial_leases`` (a unique partial index: one open lease per lead). Existing leads keep
their call count; their dial attempts start at 0. Dropped on downgrade.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 06:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _dialable(dialect: str) -> sa.TextClause:
    false = "0" if dialect == "sqlite" else "false"
    return sa.text(f"status = 'open' AND completed = {false} AND do_not_call = {false}")


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dial_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "next_call_at",
                sa.DateTime(),
                nullable=False,
                server_default=sa.text("'1970-01-01 00:00:00'"),
            )
        )
        batch_op.add_column(sa.Column("callback_agent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_leads_callback_agent_id_users",
            "users",
            ["callback_agent_id"],
            ["id"],
            ondelete="SET NULL",
        )
    for name, columns in (
        (
            "ix_leads_dial_file",
            ["pool_id", "timezone", "dial_order", "id", "next_call_at", "dial_attempts"],
        ),
        (
            "ix_leads_dial_attempts",
            ["pool_id", "timezone", "dial_attempts", "dial_order", "id", "next_call_at"],
        ),
    ):
        op.create_index(
            name,
            "leads",
            columns,
            postgresql_where=_dialable("postgresql"),
            sqlite_where=_dialable("sqlite"),
        )
    op.create_index(
        "ix_leads_callbacks",
        "leads",
        ["pool_id", "callback_at"],
        postgresql_where=sa.text("callback_at IS NOT NULL"),
        sqlite_where=sa.text("callback_at IS NOT NULL"),
    )
    op.create_table(
        "dial_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("lease_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "lead_order",
            sa.Enum(
                "file",
                "fewest_attempts",
                name="lead_order",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("recycle_minutes", sa.JSON(), nullable=False),
        sa.Column("mix_position", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", name="uq_dial_settings_campaign"),
    )
    op.create_index("ix_dial_settings_account_id", "dial_settings", ["account_id"])
    op.create_table(
        "dial_leases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("pool_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("leased_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("previous_next_call_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum(
                "outcome",
                "released",
                "expired",
                name="lease_end",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pool_id"], ["lead_pools.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dial_leases_account_id", "dial_leases", ["account_id"])
    op.create_index("ix_dial_leases_campaign_leased", "dial_leases", ["campaign_id", "leased_at"])
    op.create_index(
        "uq_dial_leases_open_lead",
        "dial_leases",
        ["lead_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
        sqlite_where=sa.text("ended_at IS NULL"),
    )


def downgrade():
    op.drop_table("dial_leases")
    op.drop_table("dial_settings")
    op.drop_index("ix_leads_callbacks", table_name="leads")
    op.drop_index("ix_leads_dial_attempts", table_name="leads")
    op.drop_index("ix_leads_dial_file", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint("fk_leads_callback_agent_id_users", type_="foreignkey")
        batch_op.drop_column("callback_agent_id")
        batch_op.drop_column("next_call_at")
        batch_op.drop_column("dial_attempts")
