"""The account's wrap codes: what each call outcome does to the lead."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import AccountScoped, Timestamped, db, enum

# What a wrap code does to its lead, in the words of the admin page:
#   dial_again   the lead stays open and is dialled again (no answer, busy, voicemail)
#   callback     the lead stays open and waits for the callback time given with the code
#   completed    the lead is closed and completed (a sale, a finished survey)
#   closed       the lead is closed without completion (not interested, wrong number)
#   do_not_call  the lead is closed and on the do-not-call list of its own (asked not to)
WRAP_EFFECTS = ("dial_again", "callback", "completed", "closed", "do_not_call")


class WrapCode(AccountScoped, Timestamped, db.Model):
    __tablename__ = "wrap_codes"
    __table_args__ = (sa.UniqueConstraint("account_id", "code", name="uq_wrap_codes_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Upper case, spaces and dashes as underscores: what agents and scripts send is
    # compared in that form ("Call back" is CALL_BACK).
    code: Mapped[str] = mapped_column(sa.String(60))
    label: Mapped[str] = mapped_column(sa.String(120), default="")
    effect: Mapped[str] = mapped_column(enum(*WRAP_EFFECTS, name="wrap_effect"))
    position: Mapped[int] = mapped_column(default=0)
