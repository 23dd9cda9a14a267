"""The Lead Deduplicator: scheduled jobs and the moves they made (for audit and undo)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db, enum, utcnow

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
    # What the moves' and golden changes' (account, job) foreign keys point at.
    __table_args__ = (sa.UniqueConstraint("account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    scope: Mapped[str] = mapped_column(enum(*DEDUP_SCOPES, name="dedup_scope"), default="account")
    targets: Mapped[list] = mapped_column(sa.JSON, default=list)
    match_keys: Mapped[list] = mapped_column(sa.JSON, default=lambda: ["phone1"])
    # Several match keys: "any" (a duplicate when any one is equal) or "all".
    match_mode: Mapped[str] = mapped_column(sa.String(3), default="any", server_default="any")
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


def _of_the_job() -> sa.ForeignKeyConstraint:
    """A run's rows point at their job by (account, job): one check per row instead of two
    (a run writes tens of thousands at once), and a row can only belong to a job of its own
    account; they go with the job."""
    return sa.ForeignKeyConstraint(
        ["account_id", "dedup_job_id"],
        ["dedup_jobs.account_id", "dedup_jobs.id"],
        ondelete="CASCADE",
    )


class DedupMove(AccountScoped, db.Model):
    """One lead moved by a dedup run: where it was, what it was, which lead it duplicated."""

    __tablename__ = "dedup_moves"
    __table_args__ = (
        # By job, in plan order: a batch of a run is a range of one job's moves.
        sa.Index("ix_dedup_moves_job", "dedup_job_id", "id"),
        _of_the_job(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(nullable=False)  # checked with the job, below
    dedup_job_id: Mapped[int]
    # Leads and pools by id, no foreign key: the moves are the run's audit trail and outlive
    # a lead or pool deleted later (undo leaves a lead whose pool is gone where it is).
    lead_id: Mapped[int]
    golden_lead_id: Mapped[int | None]
    from_pool_id: Mapped[int | None]
    from_status: Mapped[str] = mapped_column(sa.String(20))
    # The copy's compliance state and call history as the plan found them: its golden
    # record inherits from these in one pass over the plan, without reading every copy
    # again (empty on plans written before 0008, whose golden records were done then).
    from_do_not_call: Mapped[bool | None]
    from_call_count: Mapped[int | None]
    from_last_called_at: Mapped[dt.datetime | None]
    # Completed and the callback time, likewise (empty on plans written before 0011).
    from_completed: Mapped[bool | None]
    from_callback_at: Mapped[dt.datetime | None]
    match_key: Mapped[str | None] = mapped_column(sa.String(254))
    # Which match key field(s) matched and the keep rule that chose the golden record.
    matched_on: Mapped[str] = mapped_column(sa.String(120), default="")
    reason: Mapped[str] = mapped_column(sa.String(120), default="")
    # The whole plan is written first and carried out in batches (the job remembers the
    # last move done), so a killed run resumes where it stopped and no lead moves twice.
    moved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[dt.datetime | None]

    dedup_job: Mapped[DedupJob] = relationship(back_populates="moves")


class DedupGoldenChange(AccountScoped, db.Model):
    """A golden record that inherited compliance state, completion, a callback or call
    history from its copies: its values before (``was_*``, for undo) and after (``new_*``,
    to see whether the lead was changed since)."""

    __tablename__ = "dedup_golden_changes"
    __table_args__ = (
        sa.Index("ix_dedup_golden_changes_job", "dedup_job_id"),
        _of_the_job(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(nullable=False)  # checked with the job, below
    dedup_job_id: Mapped[int]
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("leads.id", ondelete="CASCADE"))
    was_do_not_call: Mapped[bool]
    was_status: Mapped[str] = mapped_column(sa.String(20))
    was_call_count: Mapped[int]
    was_last_called_at: Mapped[dt.datetime | None]
    new_do_not_call: Mapped[bool]
    new_status: Mapped[str] = mapped_column(sa.String(20))
    new_call_count: Mapped[int]
    new_last_called_at: Mapped[dt.datetime | None]
    # Since 0011 (empty on changes recorded before: undo leaves these as they are).
    was_completed: Mapped[bool | None]
    was_callback_at: Mapped[dt.datetime | None]
    was_dnc_reason: Mapped[str | None] = mapped_column(sa.String(10))
    new_completed: Mapped[bool | None]
    new_callback_at: Mapped[dt.datetime | None]
    new_dnc_reason: Mapped[str | None] = mapped_column(sa.String(10))
