"""Lead Deduplicator jobs in the ``dedup`` queue: the test run and the run."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, User
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.services import results_emails
from leadapp.tasks import QueueUnavailable, dispatch, failure_text, tracked, unschedule
from leadapp.tasks.mail import prepare_results_email, send_results_email


def _job(dedup_job_id: int) -> DedupJob:
    job = db.session.get(DedupJob, dedup_job_id)
    if job is None:
        raise LookupError(f"Dedup job {dedup_job_id} no longer exists.")
    return job


def _email(job: DedupJob, template: str, build, *args):
    """The job's tracked email (its page shows whether it was sent), to be committed with
    the results it reports: ``build(job, *args)`` (``services.results_emails``) says what
    it says. None when the job has no addresses."""
    if not job.emails:
        return None
    content = results_emails.built(build, job, *args)
    if content is None:
        return None
    return prepare_results_email(job, job.emails, template, e=content)


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
    email = _email(dedup_job, "dedup_test_run", results_emails.dedup_test_run, figures)
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
        email = _email(dedup_job, "dedup_done", results_emails.dedup_done, result)
        db.session.commit()  # completed, and its results email, together
    except Exception as exc:
        db.session.rollback()
        dedup_job = _job(dedup_job_id)
        dedup_job.status = "failed"
        dedup_job.error = failure_text(exc)
        email = _email(dedup_job, "dedup_failed", results_emails.dedup_failed)
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


def undo_and_tell(dedup_job: DedupJob, user_id: int | None) -> tuple[dict, str | None]:
    """Undo a completed run (``services.dedup_results.undo``) and commit it with the
    email that says so; queue that email after the commit. Returns the undo's result and
    a message when the email could not be queued. ``DedupError`` when it cannot be undone
    (nothing changed)."""
    result = dedup_service.undo(dedup_job)
    by = db.session.get(User, user_id) if user_id else None
    email = _email(dedup_job, "dedup_undone", results_emails.dedup_undone, result, by)
    db.session.commit()
    return result, _send(email)


def cancel_and_tell(dedup_job: DedupJob, user_id: int | None) -> str | None:
    """Cancel a scheduled run: the job says cancelled (committed with the email that says
    so), its pending run leaves the schedule. A message when the email was not queued."""
    was_for = dedup_job.scheduled_for
    dedup_service.unschedule(dedup_job)
    dedup_job.status = "cancelled"
    by = db.session.get(User, user_id) if user_id else None
    email = _email(dedup_job, "dedup_cancelled", results_emails.dedup_cancelled, by, was_for)
    db.session.commit()
    cancel_run(dedup_job)
    return _send(email)
