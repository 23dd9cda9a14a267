"""Several match keys: 'any of them' (the new default) or 'all of them'; dedup jobs keep
their mode, and what was saved before matched on all of its keys

Revision ID: 0017
Revises: 0016
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _loads(value):
    if value is None or isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _all_of_several(table: str, column: str) -> None:
    """Rules saved with several match keys and no mode matched on all of them: say so."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()
    for row_id, value in rows:
        rules = _loads(value)
        if not isinstance(rules, dict) or "match_mode" in rules:
            continue
        match = rules.get("match") or rules.get("keys") or []
        if isinstance(match, str):
            match = [m for m in match.split(",") if m.strip()]
        if len(match) > 1:
            rules["match_mode"] = "all"
            update = sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id")
            bind.execute(
                update.bindparams(sa.bindparam("v", type_=sa.JSON)), {"v": rules, "id": row_id}
            )


def upgrade():
    with op.batch_alter_table("dedup_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_mode", sa.String(length=3), nullable=True))
    # Jobs saved before: several keys matched on all of them (one key: the same either way).
    op.execute("UPDATE dedup_jobs SET match_mode = 'all'")
    with op.batch_alter_table("dedup_jobs", schema=None) as batch_op:
        batch_op.alter_column(
            "match_mode", existing_type=sa.String(length=3), nullable=False, server_default="any"
        )
    _all_of_several("imports", "duplicate_settings")
    _all_of_several("campaigns", "api_duplicate_options")


def downgrade():
    with op.batch_alter_table("dedup_jobs", schema=None) as batch_op:
        batch_op.drop_column("match_mode")
