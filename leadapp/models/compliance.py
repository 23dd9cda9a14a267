"""The account's do-not-call list and the API tokens scripts use."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, db, utcnow


class DoNotCallNumber(AccountScoped, db.Model):
    """A number (E.164) the account must never dial; leads with it are marked do-not-call."""

    __tablename__ = "do_not_call_numbers"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "phone", name="uq_do_not_call_numbers_account_phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.String(255), default="")
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    added_by = relationship("User")


class ApiToken(AccountScoped, db.Model):
    """A user's token for ``/api/v1``: only its SHA-256 is stored; ``prefix`` identifies it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(120))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user = relationship("User")

    @property
    def active(self) -> bool:
        return self.revoked_at is None
