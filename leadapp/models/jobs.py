"""The database row behind every background job: what users see of it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import AccountScoped, Timestamped, db, enum

JOB_STATUSES = ("queued", "running", "completed", "failed")


class BackgroundJob(AccountScoped, Timestamped, db.Model):
    """Status, progress and outcome of one RQ job; RQ's own meta is only a fast path."""

    __tablename__ = "background_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    queue: Mapped[str] = mapped_column(sa.String(20), default="default")
    status: Mapped[str] = mapped_column(enum(*JOB_STATUSES, name="job_status"), default="queued")
    progress: Mapped[int] = mapped_column(default=0)  # percent, 0..100
    message: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    # What RQ was given (task path, arguments, start time), so a queued job that Redis lost
    # (restarted without its data, flushed) is handed to RQ again from the database.
    task: Mapped[str | None] = mapped_column(sa.String(200))
    args: Mapped[list | None] = mapped_column(sa.JSON)
    run_at: Mapped[dt.datetime | None]

    @property
    def rq_id(self) -> str:
        # Deterministic: enqueueing the same job row twice can never run it twice. The
        # creation time keeps it unique even where ids come round again (a database
        # restored or emptied while Redis still holds jobs of the old rows).
        return f"leadapp-job-{self.id}-{self.created_at:%Y%m%d%H%M%S%f}"

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "failed")
