"""RQ entry points and the small framework they share.

A task is a plain function decorated with ``@task(queue=..., timeout=...)``. It is
enqueued with the id of its ``BackgroundJob`` row, *after* the commit that created that
row, under a deterministic RQ job id. The worker (``flask worker``) runs it inside an app
context; the wrapper binds the job's account, marks the row running, hands the task a
``progress`` callback, commits once at the end, and on an exception records the failure and
re-raises it so RQ sees it too (nothing is swallowed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import threading
import traceback
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError
from rq import Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from leadapp.extensions import QUEUE_NAMES, db, redis_connection
from leadapp.models import BackgroundJob
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.services.transactions import database_full, is_transient, retrying

log = logging.getLogger(__name__)

REGISTRY: dict[str, Callable] = {}


class QueueUnavailable(RuntimeError):
    """Redis could not take the job; the message says what to do."""


def task(queue: str = "default", timeout: int | None = None, retry: Retry | None = None):
    """Name the queue (and the time limit) of a job function. One decorator, one place."""

    def decorator(fn: Callable) -> Callable:
        fn.queue_name = queue
        fn.timeout = timeout
        fn.retry = retry
        REGISTRY[f"{fn.__module__}.{fn.__name__}"] = fn
        return fn

    return decorator


def unschedule(rq_id: str) -> None:
    """Take a scheduled job off RQ's schedule (the task itself also refuses to run a job
    that is no longer scheduled, so a failure here is harmless)."""
    with contextlib.suppress(RedisError, NoSuchJobError):
        for name in QUEUE_NAMES:
            redis_connection.queue(name).scheduled_job_registry.remove(rq_id, delete_job=True)


def _timeout(fn: Callable) -> int:
    return fn.timeout or current_app.config["JOB_TIMEOUTS"].get(fn.queue_name, 600)


def enqueue(fn: Callable, *args, job_id: str | None = None, at=None, **kwargs):
    """Put a task on its queue — at once, or at ``at`` (a UTC time, naive or aware) through
    RQ's scheduler; raise ``QueueUnavailable`` (one clear sentence) if Redis is down."""
    queue = redis_connection.queue(fn.queue_name)
    try:
        if at is not None:
            # RQ reads a naive time as the server's local time; ours are UTC.
            at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            put = functools.partial(queue.enqueue_at, at)
        else:
            put = queue.enqueue
        return put(
            f"{fn.__module__}.{fn.__name__}",
            args=args,
            kwargs=kwargs,
            job_id=job_id,
            job_timeout=_timeout(fn),
            retry=fn.retry,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
    except RedisError as exc:
        raise QueueUnavailable(
            "The job queue (Redis) is not reachable, so the job was not started; "
            "nothing was lost — try again in a minute or ask your administrator."
        ) from exc


def dispatch(job: BackgroundJob, fn: Callable, *args, at=None) -> None:
    """Hand a committed job row to RQ (at once, or at ``at`` through the scheduler). The row
    remembers what was handed over (``requeue_lost`` needs it). If Redis refuses, the row
    is marked failed, committed, and ``QueueUnavailable`` is raised for the caller to show."""
    task_name = f"{fn.__module__}.{fn.__name__}"
    run_at = at.replace(tzinfo=None) if at is not None and at.tzinfo else at

    def hand_over() -> None:
        job.task, job.args, job.run_at = task_name, list(args), run_at
        db.session.commit()

    # Usually a second write after the caller's own commit (the row, the work's status): a
    # database busy past its wait here must not answer "nothing was saved" for what was
    # saved, and leave the row never handed to RQ. So what the caller left pending is
    # committed as it is, and this write is tried again like a batch.
    db.session.commit()
    retrying(hand_over)
    try:
        enqueue(fn, job.id, *args, job_id=job.rq_id, at=at)
    except QueueUnavailable as exc:
        job_rows.mark_failed(job, str(exc))
        db.session.commit()
        raise


LOST_FOR_GOOD = (
    "This job can no longer be run (its kind of work is not part of this version of "
    "LeadApp); start the work again from its page."
)


def dispatch_again(job: BackgroundJob, fn: Callable, *args) -> None:
    """``dispatch`` for a row queued once more (``jobs.restart``) under its own RQ id: the
    dead RQ job of its last run is deleted first, so that nothing of it (its place in the
    failed registry, whose clean-up deletes the job) outlives the new one."""
    with contextlib.suppress(NoSuchJobError, RedisError):  # Redis away: dispatch says so
        Job.fetch(
            job.rq_id, connection=redis_connection.client(), serializer=JSONSerializer
        ).delete()
    dispatch(job, fn, *args)


def requeue_lost() -> list[int]:
    """Queued job rows that no RQ job will run any more — Redis lost it (restarted without
    its data, flushed), or it failed, finished or was stopped before the job could start
    (a database locked through every try) — are handed to RQ again under the same id, once
    the dead RQ job is deleted; never twice, and never one RQ still holds queued, started,
    scheduled or deferred. A row whose work cannot run again, or that was never handed to
    RQ at all (the process stopped in between), is failed with a sentence. Returns the ids
    handed back. Runs when a worker starts, at its maintenance and as
    ``flask jobs requeue``."""
    import leadapp.tasks.dedup
    import leadapp.tasks.dnc
    import leadapp.tasks.imports
    import leadapp.tasks.mail
    import leadapp.tasks.pools  # noqa: F401  (every task registered before the lookup)

    job_rows.fail_never_handed()  # never handed to RQ: nothing to hand back; say so
    db.session.commit()
    client = redis_connection.client()
    candidates = list(
        db.session.scalars(
            sa.select(BackgroundJob.id)
            .where(BackgroundJob.status == "queued", BackgroundJob.task.is_not(None))
            .order_by(BackgroundJob.id)  # queued again in the order they were first queued
            .execution_options(all_accounts=True)
        )
    )
    db.session.rollback()  # no transaction (and no SQLite lock) held while Redis is asked
    again = []
    for row_id in candidates:
        if _hand_back(client, row_id):
            again.append(row_id)
    return again


REQUEUE_LOCK_SECONDS = 60  # at most; let go as soon as the row is handed back


def _hand_back(client, row_id: int) -> bool:
    """``requeue_lost`` for one row: True when it was handed to RQ again."""
    row = db.session.get(BackgroundJob, row_id)
    if row is None or row.status != "queued":
        db.session.rollback()
        return False
    rq_id = row.rq_id
    db.session.rollback()
    if not job_rows.rq_job_dead(client, rq_id):
        return False
    # Two workers starting together both see it dead: one at a time looks again and hands
    # it back (else the second could delete the RQ job the first queued, and a worker may
    # already run).
    lock = f"leadapp:requeue:{row_id}"
    if not client.set(lock, "1", nx=True, ex=REQUEUE_LOCK_SECONDS):
        return False
    try:
        if not job_rows.rq_job_dead(client, rq_id):
            return False
        # RQ writes a job's end after the task's own commit: the row read now is its last
        # word (a job that started, and ended, since the first read is not queued).
        row = db.session.get(BackgroundJob, row_id)
        if row is None or row.status != "queued":
            db.session.rollback()
            return False
        fn = REGISTRY.get(row.task)
        if fn is None:
            with account_scope(row.account_id):
                job_rows.mark_failed(row, LOST_FOR_GOOD)
                db.session.commit()
            return False
        task_args = list(row.args or [])
        run_at = row.run_at
        db.session.rollback()
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(rq_id, connection=client, serializer=JSONSerializer).delete()
        enqueue(fn, row_id, *task_args, job_id=rq_id, at=run_at)
        return True
    finally:
        with contextlib.suppress(RedisError):
            client.delete(lock)


class Progress:
    """The callback a tracked task reports to: updates the row (and RQ meta), then commits.

    Tasks call it at their own commit points (e.g. after each batch), so a progress commit
    never commits half a unit of work. RQ's meta is only a fast path: Redis away (restarted,
    unreachable) does not stop the job, whose progress is in the database."""

    def __init__(self, job: BackgroundJob):
        self.job = job
        self.job_id = job.id
        self.meta_failed = False
        self.when_committed: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the job's last commit is done (never when it fails)."""
        self.when_committed.append(callback)

    def committed(self) -> None:
        for callback in self.when_committed:
            try:
                callback()
            except Exception:  # the job is done and committed; only its tidying failed
                log.exception("job %s: after its commit", self.job_id)

    def __call__(self, percent: float, message: str | None = None) -> None:
        job_rows.set_progress(self.job, percent, message)
        db.session.commit()
        rq_job = get_current_job()
        if rq_job is not None:
            rq_job.meta["progress"] = self.job.progress
            try:
                rq_job.save_meta()
            except RedisError as exc:
                if not self.meta_failed:  # once per job, not once per batch
                    log.warning("job %s: progress not saved in Redis: %s", self.job.id, exc)
                self.meta_failed = True


class Heartbeat(threading.Thread):
    """Tells Redis every few seconds that the job's work horse is alive, so a killed worker
    shows as stalled (``jobs.is_stalled``). Redis, not the database: no lock is taken that
    could get in the way of the job's own transactions."""

    def __init__(self, job_id: int):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id = job_id
        self.every = max(0.2, float(current_app.config.get("JOB_HEARTBEAT_SECONDS", 10)))
        self.ttl = int(current_app.config.get("JOB_STALL_SECONDS", 45))
        self.client = redis_connection.client()
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                job_rows.beat(self.client, self.job_id, self.ttl)
            except RedisError as exc:  # the job goes on; the database heartbeat remains
                log.warning("job %s: heartbeat not sent: %s", self.job_id, exc)
            if self.stopped.wait(self.every):
                return

    def stop(self) -> None:
        self.stopped.set()
        if self.ident is not None:  # started
            self.join(timeout=5)
        with contextlib.suppress(RedisError):
            self.client.delete(job_rows.alive_key(self.job_id))


DATABASE_FULL = (
    "The database's disk is full, so the job stopped; what was saved before that is kept — "
    "ask your administrator to free space, then start the job again."
)
QUEUE_LOST = (
    "The job queue (Redis) could not be reached while the job ran; what was saved before "
    "that is kept — start the job again once Redis is back, or ask your administrator."
)


def failure_text(exc: BaseException) -> str:
    """What the job row says when a task fails: a refusal (``ValueError`` and its kin carry
    one sentence for people) as it is; a full database disk or Redis lost mid-job, a
    sentence; anything else with its type, for the admin."""
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    if database_full(exc):
        return DATABASE_FULL
    if isinstance(exc, RedisError):
        return QUEUE_LOST
    return f"{type(exc).__name__}: {exc}"


def _start(job_id: int, name: str) -> BackgroundJob:
    """Mark the row running and commit: the job's first write."""
    job = db.session.get(BackgroundJob, job_id)
    if job is None:
        raise LookupError(f"Background job {job_id} no longer exists.")
    if job.task is not None and job.task != name:
        # An RQ job older than the row with its id (a database restored or reset under the
        # same Redis): running it would do another job's work on its row.
        raise LookupError(f"Background job {job_id} is a {job.task} job, not {name}.")
    with account_scope(job.account_id):
        job_rows.mark_running(job)
        db.session.commit()
    return job


def _record_failure(job_id: int, text: str) -> None:
    """Fail the row with ``text`` (a write of its own, tried again while the database is
    busy); when even that cannot be written the row is left as it was — queued rows are
    handed back by ``requeue_lost``, running ones show as stalled — and the error is only
    logged: the caller re-raises the job's own exception."""

    def write() -> None:
        job = db.session.get(BackgroundJob, job_id)
        if job is None:
            return
        with account_scope(job.account_id):
            job_rows.mark_failed(job, text)
            db.session.commit()

    try:
        retrying(write)
    except sa.exc.DBAPIError as exc:
        db.session.rollback()
        log.error("job %s: its failure could not be recorded: %s", job_id, exc)


def tracked(queue: str = "default", timeout: int | None = None, retry: Retry | None = None):
    """``@task`` for work that has a ``BackgroundJob`` row: ``fn(job, progress, *args)``.

    No failure leaves the row queued for good: marking it running is tried again while the
    database is busy or its connection lost (``transactions.retrying``); when it still
    cannot be written the row stays queued and ``requeue_lost`` hands it back to RQ, and a
    refusal (a full disk, a broken row) fails it with a sentence. Work that was committed
    is reported with ``progress.after_commit`` callbacks, run once the job's last commit
    is done (e.g. deleting the file it read)."""

    def decorator(fn: Callable) -> Callable:
        name = f"{fn.__module__}.{fn.__name__}"

        @functools.wraps(fn)
        def run(job_id: int, *args):
            db.engine.dispose(close=False)  # connections inherited from the parent: not ours
            try:
                job = retrying(functools.partial(_start, job_id, name))
            except sa.exc.DBAPIError as exc:
                db.session.rollback()
                log.error("job %s could not start:\n%s", job_id, traceback.format_exc())
                if not is_transient(exc):  # busy or lost for good: handed back instead
                    _record_failure(job_id, failure_text(exc))
                db.session.remove()
                raise
            with account_scope(job.account_id):
                heartbeat = Heartbeat(job_id)
                progress = Progress(job)
                try:
                    heartbeat.start()
                    result = fn(job, progress, *args)
                    outcome = dict(result) if isinstance(result, dict) else None
                    # A task may end with a sentence of its own for the job row.
                    message = (outcome or {}).pop("message", "Done.")
                    job_rows.mark_completed(job, outcome, message)
                    db.session.commit()
                except Exception as exc:
                    db.session.rollback()
                    log.error("job %s failed:\n%s", job_id, traceback.format_exc())
                    _record_failure(job_id, failure_text(exc))
                    raise
                finally:
                    heartbeat.stop()
                    db.session.remove()
                progress.committed()
            return result

        return task(queue, timeout, retry)(run)

    return decorator
