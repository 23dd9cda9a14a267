"""Lead pools, their assignment to campaigns, and users' saved grid views."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db, enum

POOL_STATUSES = ("active", "inactive")
DIALER_STRATEGIES = ("weighted", "sequential", "priority")


class LeadPool(AccountScoped, Timestamped, db.Model):
    """A named group of leads, usually one upload (the seeds also call it a list)."""

    __tablename__ = "lead_pools"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "name", name="uq_lead_pools_account_name"),
        # What the leads' (account, pool) foreign key points at.
        sa.UniqueConstraint("account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(enum(*POOL_STATUSES, name="pool_status"), default="active")
    # The system-owned Inactive pool: where deduplication moves duplicates to.
    is_system: Mapped[bool] = mapped_column(default=False)
    active_from: Mapped[dt.date | None]
    active_until: Mapped[dt.date | None]
    priority: Mapped[int] = mapped_column(default=5)
    day_offset: Mapped[int] = mapped_column(default=0)
    day_count: Mapped[int | None]
    time_from: Mapped[dt.time | None]
    time_until: Mapped[dt.time | None]
    # The next free dial-order position: leads are numbered in file order as they arrive
    # (``Lead.dial_order`` 0, 1, 2, ...) until Shuffle numbers them at random; also the
    # "size" the day count spreads over (leadapp/domain/pool_schedule.py).
    dial_order_next: Mapped[int] = mapped_column(default=0, server_default="0")
    # The list's own time zone (IANA): leads added to it whose zone neither a field nor
    # their number tells get it, before the campaign's default. Empty: the campaign's.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    source_file_name: Mapped[str | None] = mapped_column(sa.String(255))
    duplicate_check_field: Mapped[str | None] = mapped_column(sa.String(60))
    duplicate_processing: Mapped[str | None] = mapped_column(sa.String(40))
    valid_count: Mapped[int] = mapped_column(default=0)
    invalid_count: Mapped[int] = mapped_column(default=0)
    # Counters kept up to date by the services, so the grid never scans every lead.
    total_count: Mapped[int] = mapped_column(default=0)
    open_count: Mapped[int] = mapped_column(default=0)
    ready_count: Mapped[int] = mapped_column(default=0)
    closed_count: Mapped[int] = mapped_column(default=0)
    used_count: Mapped[int] = mapped_column(default=0)
    counts_refreshed_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    modified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    owner = relationship("User", foreign_keys=[owner_id])
    modified_by = relationship("User", foreign_keys=[modified_by_id])
    assignments: Mapped[list[PoolAssignment]] = relationship(
        back_populates="pool", cascade="all, delete-orphan"
    )

    @property
    def closed_pct(self) -> float:
        return round(100.0 * self.closed_count / self.total_count, 1) if self.total_count else 0.0

    @property
    def used_pct(self) -> float:
        return round(100.0 * self.used_count / self.total_count, 1) if self.total_count else 0.0


class PoolAssignment(AccountScoped, db.Model):
    """A pool feeding a campaign, with its share of the dialing (weight)."""

    __tablename__ = "pool_assignments"
    __table_args__ = (
        sa.UniqueConstraint("pool_id", "campaign_id", name="uq_pool_assignments_pool_campaign"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pool_id: Mapped[int] = mapped_column(sa.ForeignKey("lead_pools.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    to_dial: Mapped[bool] = mapped_column(default=True)
    strategy: Mapped[str] = mapped_column(
        enum(*DIALER_STRATEGIES, name="dialer_strategy"), default="weighted"
    )
    weight: Mapped[int] = mapped_column(default=100)

    pool: Mapped[LeadPool] = relationship(back_populates="assignments")
    campaign = relationship("Campaign")


class SavedView(AccountScoped, Timestamped, db.Model):
    """A user's lead-pool grid filter; ``starred`` makes it the user's default."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(120))
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    shared: Mapped[bool] = mapped_column(default=False)
    starred: Mapped[bool] = mapped_column(default=False)


class PoolBreakdown(AccountScoped, db.Model):
    """How many of a pool's leads fall in each value of a breakdown, kept by deltas in the
    transaction that changes a lead, like the pool's counters (``services.pool_counters``):
    ``status`` (each lead status), ``timezone`` (the lead's zone, '' unknown),
    ``ready_zone`` (ready leads per calling-hours zone key, '' none: what "Callable now"
    adds up for the keys inside the hours), ``ready_attempts`` (ready leads per attempts
    and zone key, 'attempts:zone key': what the campaign page adds up below its campaign's
    maximum attempts) and ``reopenable`` (completed or closed, key ''). The pool page's
    charts and "Callable now" read these rows, never the leads."""

    __tablename__ = "pool_breakdowns"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["account_id", "pool_id"],
            ["lead_pools.account_id", "lead_pools.id"],
            ondelete="CASCADE",
        ),
    )

    pool_id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    # A zone key (255 at most) with its attempts before it ("ready_attempts").
    key: Mapped[str] = mapped_column(sa.String(270), primary_key=True)
    leads: Mapped[int] = mapped_column(default=0)
