"""One run of the upload wizard (or of ``leads import``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import AccountScoped, Timestamped, db, enum

IMPORT_STEPS = ("settings", "file", "mapping", "duplicates", "check", "review", "import", "done")
IMPORT_STATUSES = ("draft", "queued", "running", "completed", "failed", "cancelled")


class Import(AccountScoped, Timestamped, db.Model):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL")
    )
    pool_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead_pools.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("background_jobs.id", ondelete="SET NULL")
    )
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    file_size: Mapped[int | None]
    staging_path: Mapped[str | None] = mapped_column(sa.String(500))
    encoding: Mapped[str | None] = mapped_column(sa.String(20))
    delimiter: Mapped[str | None] = mapped_column(sa.String(4))
    step: Mapped[str] = mapped_column(enum(*IMPORT_STEPS, name="import_step"), default="settings")
    status: Mapped[str] = mapped_column(
        enum(*IMPORT_STATUSES, name="import_status"), default="draft"
    )
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    timezone_rules: Mapped[list] = mapped_column(sa.JSON, default=list)
    duplicate_settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # Rows written so far: the checkpoint a re-run resumes from.
    rows_done: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    finished_at: Mapped[dt.datetime | None]

    job = relationship("BackgroundJob")
