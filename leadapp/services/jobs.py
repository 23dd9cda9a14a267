"""Background-job rows: what a user sees of a job (status, progress, message, error)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus

from leadapp.extensions import db, redis_connection
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


def restart(job: BackgroundJob, seen_status: str) -> bool:
    """Queue a failed, stalled or lost row once more, as it is (same row, same RQ id; its
    ``result`` — where the page goes when done — is kept): only while it is still
    ``seen_status``, so of two restarts of a failed or stalled row exactly one wins. The
    caller commits, then hands it to RQ again (``tasks.dispatch_again``)."""
    moved = db.session.execute(
        sa.update(BackgroundJob)
        .where(BackgroundJob.id == job.id, BackgroundJob.status == seen_status)
        .values(
            status="queued",
            progress=0,
            message="",
            error=None,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(job)
    return bool(moved)


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


# ---------------------------------------------------------------------------------------
# Liveness: a worker killed mid-job (SIGKILL, a lost machine) cannot say so itself.

STALLED_MESSAGE = (
    "The worker running this job stopped reporting (it was stopped or its machine was lost); "
    "what was saved before that is kept — start the job again to finish it."
)


def alive_key(job_id: int) -> str:
    return f"leadapp:job-alive:{job_id}"


def beat(client, job_id: int, ttl: int) -> None:
    """Called by the running job's work horse every few seconds (Redis: no database lock)."""
    client.set(alive_key(job_id), "1", ex=max(1, int(ttl)))


def is_stalled(job: BackgroundJob | None, now: dt.datetime | None = None) -> bool:
    """A running job whose work horse has neither reported alive (Redis) nor saved progress
    (``heartbeat_at``) for ``JOB_STALL_SECONDS``: its worker was killed or lost."""
    if job is None or job.status != "running":
        return False
    limit = current_app.config.get("JOB_STALL_SECONDS", 45)
    last = job.heartbeat_at or job.started_at
    now = now or utcnow()
    if last is not None and (now - last).total_seconds() < limit:
        return False
    try:
        return not redis_connection.client().exists(alive_key(job.id))
    except RedisError:
        return True  # no word from the worker by either path


# ---------------------------------------------------------------------------------------
# Lost: a queued row that no RQ job will run (Redis lost it, or it ended before the job
# could start). ``tasks.requeue_lost`` hands such rows back; a resume may take them over.

LOST_MESSAGE = (
    "The job queue no longer holds this job (Redis was restarted or the job could not "
    "start); nothing of it was done — start the job again."
)
# What RQ still runs: everything else (finished, failed, stopped, canceled, gone) is dead.
RQ_ALIVE = frozenset(
    {
        JobStatus.CREATED,
        JobStatus.QUEUED,
        JobStatus.STARTED,
        JobStatus.SCHEDULED,
        JobStatus.DEFERRED,
        JobStatus.RATE_LIMITED,
        JobStatus.READY_TO_ENQUEUE,
    }
)


def rq_job_dead(client, rq_id: str) -> bool:
    """Whether no worker will ever run RQ job ``rq_id``: it is gone, or it finished,
    failed, was stopped or canceled. Raises ``RedisError`` when Redis cannot say."""
    try:
        status = Job(rq_id, connection=client).get_status()
    except InvalidJobOperation:  # no such job (or one without a status): gone
        return True
    return status not in RQ_ALIVE


# A row is handed to RQ right after the commit that created it; one still not handed over
# after this long never will be (the process stopped in between).
NEVER_HANDED_SECONDS = 300
NEVER_HANDED_MESSAGE = (
    "This job was never handed to the job queue (the server stopped just after it was "
    "created); nothing of it was done — start it again."
)


def never_handed(job: BackgroundJob, now: dt.datetime | None = None) -> bool:
    """A queued row that was never handed to RQ (no task recorded) for
    ``NEVER_HANDED_SECONDS``: nothing will ever run it."""
    if job.status != "queued" or job.task is not None or job.created_at is None:
        return False
    return ((now or utcnow()) - job.created_at).total_seconds() > NEVER_HANDED_SECONDS


def is_lost(job: BackgroundJob | None) -> bool:
    """A queued row no RQ job will run: its RQ job is dead (see ``rq_job_dead``), or it
    was never handed to RQ (``never_handed``). It will never run unless it is handed back
    (``flask jobs requeue``, a worker) or started again. When Redis cannot be reached
    nothing is known: not lost."""
    if job is None or job.status != "queued":
        return False
    if job.task is None:
        return never_handed(job)
    try:
        return rq_job_dead(redis_connection.client(), job.rq_id)
    except RedisError:
        return False


def needs_restart(job: BackgroundJob | None) -> bool:
    """A job that will not finish on its own: failed, stalled (its worker was lost) or
    lost (queued, but no RQ job will run it). Such a job can be resumed or run again."""
    if job is None:
        return False
    return job.status == "failed" or is_stalled(job) or is_lost(job)


def why_stopped(job: BackgroundJob) -> str:
    """The sentence a stalled or lost row is failed with when a resume takes it over."""
    if job.status != "queued":
        return STALLED_MESSAGE
    return NEVER_HANDED_MESSAGE if job.task is None else LOST_MESSAGE


def fail_never_handed(now: dt.datetime | None = None) -> list[int]:
    """Fail, with ``NEVER_HANDED_MESSAGE``, every account's queued rows never handed to RQ
    (``never_handed``): their pages then offer to start the work again. Returns their ids;
    the caller commits."""
    limit = (now or utcnow()) - dt.timedelta(seconds=NEVER_HANDED_SECONDS)
    stuck = sa.and_(
        BackgroundJob.status == "queued",
        BackgroundJob.task.is_(None),
        BackgroundJob.created_at < limit,
    )
    ids = list(
        db.session.scalars(
            sa.select(BackgroundJob.id).where(stuck).execution_options(all_accounts=True)
        )
    )
    if ids:
        db.session.execute(
            sa.update(BackgroundJob)
            .where(BackgroundJob.id.in_(ids), stuck)  # one handed over since: left alone
            .values(status="failed", error=NEVER_HANDED_MESSAGE, finished_at=utcnow())
            .execution_options(synchronize_session=False, all_accounts=True)
        )
    return ids
