"""The Lead Deduplicator: scheduled jobs and the moves they made (for audit and undo)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db, enum

DEDUP_SCOPES = ("account", "campaign", "list", "purpose")
KEEP_RULES = ("latest-created", "latest-called", "inbound")
DEDUP_STATUSES = (
    "draft",
    "testing",
    "tested",
    "scheduled",
    "running",
    "completed",
    "failed",
    "undone",
    "cancelled",
)


class DedupJob(AccountScoped, Timestamped, db.Model):
    __tablename__ = "dedup_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    scope: Mapped[str] = mapped_column(enum(*DEDUP_SCOPES, name="dedup_scope"), default="account")
    targets: Mapped[list] = mapped_column(sa.JSON, default=list)
    match_keys: Mapped[list] = mapped_column(sa.JSON, default=lambda: ["phone1"])
    keep_rule: Mapped[str] = mapped_column(
        enum(*KEEP_RULES, name="keep_rule"), default="latest-created"
    )
    retain_inbound: Mapped[bool] = mapped_column(default=False)
    target_pool_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead_pools.id", ondelete="SET NULL")
    )
    scheduled_for: Mapped[dt.datetime | None]
    emails: Mapped[list] = mapped_column(sa.JSON, default=list)
    test_results: Mapped[dict | None] = mapped_column(sa.JSON)
    tested_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    acknowledged_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(enum(*DEDUP_STATUSES, name="dedup_status"), default="draft")
    results: Mapped[dict | None] = mapped_column(sa.JSON)
    completed_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("background_jobs.id", ondelete="SET NULL")
    )
    # Why a run failed, in one sentence for the job table and the email.
    error: Mapped[str | None] = mapped_column(sa.Text)

    moves: Mapped[list[DedupMove]] = relationship(
        back_populates="dedup_job", cascade="all, delete-orphan", lazy="dynamic"
    )


class DedupMove(AccountScoped, db.Model):
    """One lead moved by a dedup run: where it was, what it was, which lead it duplicated."""

    __tablename__ = "dedup_moves"
    __table_args__ = (sa.Index("ix_dedup_moves_job", "dedup_job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_job_id: Mapped[int] = mapped_column(sa.ForeignKey("dedup_jobs.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    golden_lead_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("leads.id", ondelete="SET NULL")
    )
    from_pool_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lead_pools.id", ondelete="SET NULL")
    )
    from_status: Mapped[str] = mapped_column(sa.String(20))
    match_key: Mapped[str | None] = mapped_column(sa.String(254))
    # Which match key field(s) matched and the keep rule that chose the golden record.
    matched_on: Mapped[str] = mapped_column(sa.String(120), default="")
    reason: Mapped[str] = mapped_column(sa.String(120), default="")
    # Planned moves are written first (moved_at empty) and carried out in batches, so a
    # killed run resumes where it stopped and no lead is moved twice.
    moved_at: Mapped[dt.datetime | None]
    undone_at: Mapped[dt.datetime | None]

    dedup_job: Mapped[DedupJob] = relationship(back_populates="moves")


class DedupGoldenChange(AccountScoped, db.Model):
    """A golden record that inherited compliance state or call history from its copies,
    with its values before (for the report and for undo)."""

    __tablename__ = "dedup_golden_changes"
    __table_args__ = (sa.Index("ix_dedup_golden_changes_job", "dedup_job_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_job_id: Mapped[int] = mapped_column(sa.ForeignKey("dedup_jobs.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    before: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    after: Mapped[dict] = mapped_column(sa.JSON, default=dict)
