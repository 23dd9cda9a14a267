"""Calling hours by zone key: leads' zone key and zone note, campaigns' calling hours

Reviewed by hand: two nullable columns on leads (``zone_key``: the zones a lead may be in,
its country and state, which the calling-hours rule depends on; ``timezone_note``: why its
zone is unsure), an index on (account_id, zone_key), and a nullable JSON column on
campaigns (``calling_hours``: hours per weekday, stricter state hours, holidays off; empty
means the campaign's window every day with the shipped state table).

Data: every existing lead with a zone gets its key, worked out once per distinct
(zone, country, state) and written with one UPDATE each. Leads written before this
revision had only one zone recorded, so their key holds that one zone. Dropped on
downgrade.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 06:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone_note", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("zone_key", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_leads_account_zone_key", ["account_id", "zone_key"], unique=False)
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calling_hours", sa.JSON(), nullable=True))

    # The key's format is the application's (a derived value, like an index entry).
    from leadapp.domain.calling_hours import lead_zone_key

    leads = sa.table(
        "leads",
        sa.column("timezone", sa.String),
        sa.column("country", sa.String),
        sa.column("state", sa.String),
        sa.column("zone_key", sa.String),
    )
    bind = op.get_bind()
    groups = bind.execute(
        sa.select(leads.c.timezone, leads.c.country, leads.c.state)
        .where(leads.c.timezone.is_not(None), leads.c.timezone != "")
        .distinct()
    ).all()

    def same(column, value):
        return column.is_(None) if value is None else column == value

    for zone, country, state in groups:
        key = lead_zone_key([zone], country, state)
        bind.execute(
            leads.update()
            .where(leads.c.timezone == zone, same(leads.c.country, country))
            .where(same(leads.c.state, state))
            .values(zone_key=key)
        )


def downgrade():
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("calling_hours")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_account_zone_key")
        batch_op.drop_column("zone_key")
        batch_op.drop_column("timezone_note")
