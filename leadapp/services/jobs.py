"""Background-job rows: what a user sees of a job (status, progress, message, error)."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import BackgroundJob
from leadapp.models.base import utcnow


def create_job(
    account_id: int, kind: str, title: str, queue: str, user_id: int | None = None
) -> BackgroundJob:
    """A queued job row; the caller commits, then hands it to ``tasks.dispatch``."""
    job = BackgroundJob(
        account_id=account_id,
        kind=kind,
        title=title,
        queue=queue,
        created_by_id=user_id,
        status="queued",
    )
    db.session.add(job)
    db.session.flush()
    return job


def mark_running(job: BackgroundJob) -> None:
    job.status = "running"
    job.started_at = job.heartbeat_at = utcnow()
    job.error = None
    db.session.flush()


def set_progress(job: BackgroundJob, percent: float, message: str | None = None) -> None:
    """Progress only ever moves forward and stays within 0..100."""
    job.progress = max(job.progress or 0, min(100, max(0, int(percent))))
    if message is not None:
        job.message = message
    job.heartbeat_at = utcnow()
    db.session.flush()


def mark_completed(job: BackgroundJob, result: dict | None = None, message: str = "Done.") -> None:
    job.status = "completed"
    job.progress = 100
    job.message = message
    job.result = result
    job.finished_at = utcnow()
    db.session.flush()


def mark_failed(job: BackgroundJob, error: str) -> None:
    job.status = "failed"
    job.error = error
    job.finished_at = utcnow()
    db.session.flush()
