"""Lead Deduplicator jobs in the ``dedup`` queue: the test run and the run."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.tasks import QueueUnavailable, dispatch, failure_text, tracked, unschedule
from leadapp.tasks.mail import prepare_results_email, send_results_email


def _job(dedup_job_id: int) -> DedupJob:
    job = db.session.get(DedupJob, dedup_job_id)
    if job is None:
        raise LookupError(f"Dedup job {dedup_job_id} no longer exists.")
    return job


def _email(job: DedupJob, template: str, **context):
    """The job's tracked email (its page shows whether it was sent), to be committed with
    the results it reports; None when the job has no addresses."""
    return prepare_results_email(job, job.emails, template, job=job, **context)


def _send(delivery) -> str | None:
    """Queue a committed email; a message when it could not be queued."""
    try:
        send_results_email(delivery)
    except QueueUnavailable as exc:
        return f"The confirmation email was not sent: {exc}"
    return None


@tracked(queue="dedup")
def dedup_test_run(job, progress, dedup_job_id: int) -> dict:
    """Projected counts of a dedup job; nothing is moved. Emails the addresses after."""
    dedup_job = _job(dedup_job_id)
    progress(10, "Counting leads and duplicates")
    figures = dedup_service.test_run(dedup_job)
    if dedup_job.status in ("draft", "testing", "failed", "tested"):
        dedup_job.status = "tested"
    email = _email(dedup_job, "dedup_test_run", figures=figures)
    db.session.commit()  # the figures and their email, together
    problem = _send(email)
    return {**figures, **({"message": problem} if problem else {})}


@tracked(queue="dedup")
def run_dedup(job, progress, dedup_job_id: int, resume: bool = False) -> dict:
    """Run a scheduled dedup job on the data of the moment, exactly once; on failure the job
    says why, what was moved is put back, an email says so, and the error propagates."""
    dedup_job = _job(dedup_job_id)
    if not dedup_service.claim_for_run(dedup_job, resume=resume, row_id=job.id):
        db.session.commit()
        if resume:
            return {"message": "Not run: another resume has taken this run over."}
        return {"message": f"Not run: the dedup job is {dedup_job.status}, not scheduled."}
    db.session.commit()
    return carry_out(dedup_job, progress)


def carry_out(dedup_job: DedupJob, progress=None) -> dict:
    """Carry out a run claimed by ``claim_for_run`` (committed), then queue its results
    email — in a worker, and in ``flask dedup resume`` run in its own process alike, so a
    resumed run emails once. On failure the job says why, what was moved is put back, an
    email says so, and the error propagates."""
    dedup_job_id = dedup_job.id
    try:
        result = dedup_service.run(dedup_job, progress)
        email = _email(dedup_job, "dedup_done", result=result)
        db.session.commit()  # completed, and its results email, together
    except Exception as exc:
        db.session.rollback()
        dedup_job = _job(dedup_job_id)
        dedup_job.status = "failed"
        dedup_job.error = failure_text(exc)
        email = _email(dedup_job, "dedup_failed")
        db.session.commit()
        _send(email)
        raise
    problem = _send(email)
    return {**result, **({"message": problem} if problem else {})}


def schedule_run(dedup_job: DedupJob, user_id: int | None) -> BackgroundJob:
    """After the commit that scheduled ``dedup_job``: a job row and RQ's scheduler entry
    for its time. The RQ id is the row's, so re-scheduling replaces, never duplicates."""
    row = job_rows.create_job(
        dedup_job.account_id, "dedup_run", f"Dedup run: {dedup_job.name}", "dedup", user_id
    )
    db.session.flush()
    if dedup_job.job_id:
        previous = db.session.get(BackgroundJob, dedup_job.job_id)
        if previous is not None and previous.status == "queued":
            unschedule(previous.rq_id)
            job_rows.mark_failed(previous, "Replaced by a new schedule.")
    dedup_job.job_id = row.id
    db.session.commit()
    dispatch(row, run_dedup, dedup_job.id, at=dedup_job.scheduled_for)
    return row


def cancel_run(dedup_job: DedupJob) -> None:
    """Take the job's pending run off the schedule (after the unscheduling commit)."""
    row = db.session.get(BackgroundJob, dedup_job.job_id) if dedup_job.job_id else None
    if row is not None and row.status == "queued":
        unschedule(row.rq_id)
        job_rows.mark_failed(row, "Unscheduled.")
        db.session.commit()
