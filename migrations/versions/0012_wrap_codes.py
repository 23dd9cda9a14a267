"""The account's wrap codes: which call outcomes close a lead

Reviewed by hand: one table, ``wrap_codes`` (account, code, label, effect, position;
a code is unique in its account). Every existing account gets the default codes
(SALE completes the lead, CALLBACK waits for its time, NO_ANSWER / BUSY / VOICEMAIL dial
again, NOT_INTERESTED / WRONG_NUMBER close it, DO_NOT_CALL / DNC close it and make it
do-not-call), the same list a new account is created with. Leads already wrapped are
left as they are. Dropped on downgrade.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:20:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# A copy, frozen here, of leadapp.services.wrap_codes.DEFAULT_WRAP_CODES at this revision.
DEFAULTS = (
    ("SALE", "Sale", "completed"),
    ("CALLBACK", "Callback", "callback"),
    ("NO_ANSWER", "No answer", "dial_again"),
    ("BUSY", "Busy", "dial_again"),
    ("VOICEMAIL", "Voicemail or answering machine", "dial_again"),
    ("NOT_INTERESTED", "Not interested", "closed"),
    ("WRONG_NUMBER", "Wrong number", "closed"),
    ("DO_NOT_CALL", "Asked not to be called", "do_not_call"),
    ("DNC", "Asked not to be called", "do_not_call"),
)
EFFECTS = ("dial_again", "callback", "completed", "closed", "do_not_call")


def upgrade():
    wrap_codes = op.create_table(
        "wrap_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column(
            "effect",
            sa.Enum(
                *EFFECTS, name="wrap_effect", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_wrap_codes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wrap_codes")),
        sa.UniqueConstraint("account_id", "code", name="uq_wrap_codes_code"),
    )
    with op.batch_alter_table("wrap_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wrap_codes_account_id"), ["account_id"], unique=False)
    accounts = sa.table("accounts", sa.column("id", sa.Integer()))
    connection = op.get_bind()
    now = sa.func.now()
    rows = []
    for (account_id,) in connection.execute(sa.select(accounts.c.id)):
        for position, (code, label, effect) in enumerate(DEFAULTS):
            rows.append(
                {
                    "account_id": account_id,
                    "code": code,
                    "label": label,
                    "effect": effect,
                    "position": position,
                }
            )
    for row in rows:
        connection.execute(wrap_codes.insert().values(**row, created_at=now, updated_at=now))


def downgrade():
    with op.batch_alter_table("wrap_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wrap_codes_account_id"))
    op.drop_table("wrap_codes")
