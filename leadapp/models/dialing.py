"""The dial queue's own rows: each campaign's dial settings and the leases of leads handed
to a dialer (issue 18). The lead's own dialing state (attempts, next callable time, the
agent of its callback) lives on ``Lead`` so that selection reads one index."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db, enum, utcnow

LEAD_ORDERS = ("file", "fewest_attempts")
LEASE_ENDS = ("outcome", "released", "expired")

# Minutes before a lead may be called again after each outcome (VICIdial's lead recycling:
# a busy line soon, a no answer after an hour, a machine later). Keys are wrap codes or
# outcomes, upper case; "OTHER" covers any other outcome that leaves the lead open.
DEFAULT_RECYCLE_MINUTES = {
    "BUSY": 15,
    "NO_ANSWER": 60,
    "VOICEMAIL": 120,
    "DROP": 30,
    "OTHER": 240,
}


class DialSettings(AccountScoped, Timestamped, db.Model):
    """How a campaign's queue hands out leads: attempts, recycle delays, lease, order."""

    __tablename__ = "dial_settings"
    __table_args__ = (sa.UniqueConstraint("campaign_id", name="uq_dial_settings_campaign"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    max_attempts: Mapped[int] = mapped_column(default=5)
    lease_minutes: Mapped[int] = mapped_column(default=5)
    lead_order: Mapped[str] = mapped_column(enum(*LEAD_ORDERS, name="lead_order"), default="file")
    recycle_minutes: Mapped[dict] = mapped_column(
        sa.JSON, default=lambda: dict(DEFAULT_RECYCLE_MINUTES)
    )
    # Slot of the campaign's weighted sequence the next call takes (see domain/dial_mix).
    mix_position: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    campaign = relationship("Campaign")


class DialLease(AccountScoped, db.Model):
    """A lead handed to a dialer: nobody else gets it until an outcome is recorded, the
    dialer releases it, or ``expires_at`` passes."""

    __tablename__ = "dial_leases"
    __table_args__ = (
        # At most one lease not yet ended per lead: the database itself refuses a second.
        sa.Index(
            "uq_dial_leases_open_lead",
            "lead_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        ),
        # The effective mix over the last hour.
        sa.Index("ix_dial_leases_campaign_leased", "campaign_id", "leased_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("lead_pools.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Why the lead was chosen ("callback", or the pool's weighted turn).
    reason: Mapped[str] = mapped_column(sa.String(20), default="weighted")
    leased_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # The lead's next callable time before the lease, given back on release.
    previous_next_call_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(enum(*LEASE_ENDS, name="lease_end"))

    @property
    def open(self) -> bool:
        return self.ended_at is None
