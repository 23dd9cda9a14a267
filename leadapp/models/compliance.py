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


# What an API token may be allowed to do (its scopes), in the order the UI lists them.
TOKEN_SCOPES = {
    "read": "Read campaigns, leads and pool statistics",
    "write_leads": "Add leads to campaigns",
    "record_outcomes": "Record calls and their outcomes on leads",
    "dial": "Take the next leads to dial from a campaign's queue",
}
LEGACY_SCOPES = "read write_leads record_outcomes"


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
    # What the token may do: space-separated names of TOKEN_SCOPES. Tokens made before
    # scopes existed keep what they could do then (all but "dial", which came later).
    scopes: Mapped[str] = mapped_column(
        sa.String(200), default=LEGACY_SCOPES, server_default=LEGACY_SCOPES
    )
    # After this moment (UTC) the token no longer works; None: until revoked.
    expires_at: Mapped[dt.datetime | None]

    user = relationship("User")

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset((self.scopes or "").split())

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.expires_at is not None and (now or utcnow()) >= self.expires_at

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired()
