"""Lead Deduplicator jobs in the ``dedup`` queue: the test run and the run."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import DedupJob
from leadapp.services import dedup as dedup_service
from leadapp.services.mail import queue_email
from leadapp.tasks import QueueUnavailable, tracked


def _job(dedup_job_id: int) -> DedupJob:
    job = db.session.get(DedupJob, dedup_job_id)
    if job is None:
        raise LookupError(f"Dedup job {dedup_job_id} no longer exists.")
    return job


def _email(job: DedupJob, template: str, **context) -> str | None:
    """Queue the job's email after the commit; a message when it could not be queued."""
    if not job.emails:
        return None
    try:
        queue_email(job.emails, template, job=job, **context)
    except QueueUnavailable as exc:
        return f"The confirmation email was not sent: {exc}"
    return None


@tracked(queue="dedup")
def test_run_dedup(job, progress, dedup_job_id: int) -> dict:
    """Projected counts of a dedup job; nothing is moved. Emails the addresses after."""
    dedup_job = _job(dedup_job_id)
    progress(10, "Counting leads and duplicates")
    figures = dedup_service.test_run(dedup_job)
    if dedup_job.status in ("draft", "testing", "failed", "tested"):
        dedup_job.status = "tested"
    db.session.commit()
    problem = _email(dedup_job, "dedup_test_run", figures=figures)
    return {**figures, **({"message": problem} if problem else {})}


@tracked(queue="dedup")
def run_dedup(job, progress, dedup_job_id: int) -> dict:
    """Run a dedup job on the data of the moment; on failure the job says why, what was
    moved is put back, an email says so, and the error propagates."""
    dedup_job = _job(dedup_job_id)
    if dedup_job.status == "completed":
        return dict(dedup_job.results or {})  # a second delivery of the same run
    dedup_job.status = "running"
    db.session.commit()
    try:
        result = dedup_service.run(dedup_job, progress)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        dedup_job = _job(dedup_job_id)
        dedup_job.status = "failed"
        dedup_job.error = (
            str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        )
        db.session.commit()
        _email(dedup_job, "dedup_failed")
        raise
    problem = _email(dedup_job, "dedup_done", result=result)
    return {**result, **({"message": problem} if problem else {})}
