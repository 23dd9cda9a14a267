"""The job framework, run by a real RQ worker process against the real database."""

import json
import sqlite3
import threading
import time
import zlib

import pytest
import redis
import sqlalchemy as sa
from rq import Queue
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from leadapp import create_app
from leadapp.extensions import db, redis_connection
from leadapp.models import BackgroundJob, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.tasks import REGISTRY, QueueUnavailable, dispatch, enqueue, tracked
from leadapp.tasks.pools import refresh_pool_counts


@tracked(queue="default", timeout=60)
def always_fails(job, progress):
    """A task that reports progress, then fails: the row must say so."""
    progress(40, "Working on it.")
    raise ValueError("the file had no phone column")


def _seed_pool_with_leads(account_id: int, n: int) -> int:
    with account_scope(account_id):
        pool = LeadPool(account_id=account_id, name="Spring")
        db.session.add(pool)
        db.session.flush()
        db.session.execute(
            sa.insert(Lead),
            [
                {
                    "account_id": account_id,
                    "pool_id": pool.id,
                    "phone1": f"+1212555{i:04d}",
                    "status": "open" if i % 4 else "closed",
                    "custom": {},
                }
                for i in range(n)
            ],
        )
        db.session.commit()
        return pool.id


def test_worker_runs_a_job_and_its_progress_row_follows(committed, make_account, run_worker):
    app = committed
    account_id = make_account("acme")
    with app.app_context():
        pool_id = _seed_pool_with_leads(account_id, 20)
        with account_scope(account_id):
            job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
            db.session.commit()
            dispatch(job, refresh_pool_counts)
            job_id, rq_id = job.id, job.rq_id
        assert db.session.get(BackgroundJob, job_id).status == "queued"

    result = run_worker()
    assert result.returncode == 0, result.stdout

    with app.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert job.status == "completed", job.error
        assert job.progress == 100
        assert job.started_at is not None and job.finished_at >= job.started_at
        assert job.result == {"pools": 2}  # Spring and the system Inactive pool
        assert job.message == "Done."
        pool = db.session.get(LeadPool, pool_id)
        assert (pool.total_count, pool.open_count, pool.closed_count) == (20, 15, 5)
        rq_job = Job.fetch(rq_id, connection=redis_connection.client(), serializer=JSONSerializer)
        assert rq_job.get_status() == "finished"
        assert rq_job.meta["progress"] == 100


def test_a_failing_job_is_recorded_and_not_swallowed(committed, make_account, run_worker):
    app = committed
    account_id = make_account("acme")
    assert "tests.tasks.test_init.always_fails" in REGISTRY
    with app.app_context(), account_scope(account_id):
        job = job_rows.create_job(account_id, "test", "Failing job", "default")
        db.session.commit()
        dispatch(job, always_fails)
        job_id, rq_id = job.id, job.rq_id

    result = run_worker()
    assert "the file had no phone column" in result.stdout  # the worker logged the traceback

    with app.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert job.status == "failed"
        assert job.error == "the file had no phone column"  # a refusal: its sentence only
        assert job.progress == 40 and job.message == "Working on it."
        rq_job = Job.fetch(rq_id, connection=redis_connection.client(), serializer=JSONSerializer)
        assert rq_job.get_status() == "failed"  # RQ saw the exception too


def test_a_queued_job_older_than_the_row_with_its_id_leaves_that_row_alone(
    committed, make_account, run_worker
):
    """Redis kept a job whose row is gone (a database restored or reset), and a new row
    took its id: the old job must not run on the new row (here: fail it)."""
    app = committed
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        row = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
        db.session.commit()
        dispatch(row, refresh_pool_counts)
        row_id = row.id
        # The stale job: another task under this row's id, as RQ would still hold it.
        enqueue(always_fails, row_id, job_id=f"stale-{row_id}")

    result = run_worker()
    assert f"Background job {row_id} is a leadapp.tasks.pools.refresh_pool_counts job" in (
        result.stdout
    )
    with app.app_context():
        row = db.session.get(BackgroundJob, row_id)
        assert (row.status, row.error) == ("completed", None)
        assert row.message != "Working on it."  # always_fails never ran on it


def test_enqueue_uses_json_the_task_timeout_and_a_deterministic_id(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
        db.session.commit()
        dispatch(job, refresh_pool_counts)
        queue = Queue("default", connection=redis_connection.client(), serializer=JSONSerializer)
        try:
            rq_job = queue.fetch_job(job.rq_id)
            assert rq_job is not None
            assert rq_job.func_name == "leadapp.tasks.pools.refresh_pool_counts"
            assert rq_job.args == [job.id] or list(rq_job.args) == [job.id]
            assert rq_job.timeout == 1800
            raw = zlib.decompress(redis_connection.client().hget(rq_job.key, "data"))
            assert json.loads(raw)[0] == "leadapp.tasks.pools.refresh_pool_counts"  # JSON
        finally:
            queue.empty()


def test_redis_down_marks_the_job_failed_with_a_sentence(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        state = app.extensions["leadapp_redis"]
        saved = state["client"]
        # A port nothing listens on: a real refused connection, not a mock.
        state["client"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
        try:
            job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
            db.session.commit()
            try:
                dispatch(job, refresh_pool_counts)
                raise AssertionError("dispatch should have refused")
            except QueueUnavailable as exc:
                assert "not reachable" in str(exc) and "nothing was lost" in str(exc)
        finally:
            state["client"] = saved
        row = db.session.get(BackgroundJob, job.id)
        assert row.status == "failed" and "Redis" in row.error


def test_progress_never_goes_backwards_or_past_100(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        job = job_rows.create_job(account_id, "x", "X", "default")
        job_rows.set_progress(job, 50)
        job_rows.set_progress(job, 30)
        assert job.progress == 50
        job_rows.set_progress(job, 250, "almost")
        assert job.progress == 100 and job.message == "almost"


def test_jobs_redis_lost_are_handed_to_rq_again_from_the_database(
    committed, make_account, run_worker, runner
):
    """Redis restarted without its data (or flushed) while jobs were queued: the rows
    survive, `flask jobs requeue` (and any worker that starts) hands them over again, once."""
    app = committed
    account_id = make_account("acme")
    with app.app_context():
        _seed_pool_with_leads(account_id, 5)
        ids, rq_ids = [], []
        with account_scope(account_id):
            for _ in range(2):
                job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
                db.session.commit()
                dispatch(job, refresh_pool_counts)
                ids.append(job.id)
                rq_ids.append(job.rq_id)
        redis_connection.client().flushdb()  # the queue and both RQ jobs are gone
        assert not Job.exists(rq_ids[0], connection=redis_connection.client())

    result = runner.invoke(args=["jobs", "requeue", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "requeued": ids,
        "emails_requeued": [],
    }
    again = runner.invoke(args=["jobs", "requeue", "--json"])  # already queued: not twice
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {
        "requeued": [],
        "emails_requeued": [],
    }
    with app.app_context():
        redis_connection.client().delete(f"rq:job:{rq_ids[1]}")  # lost again

    out = run_worker()  # the worker requeues the lost one itself, then runs both
    assert out.returncode == 0, out.stdout
    assert f"Handed 1 queued job(s) to RQ again: [{ids[1]}]" in out.stdout
    with app.app_context():
        assert [db.session.get(BackgroundJob, i).status for i in ids] == ["completed"] * 2


def test_redis_lost_mid_job_fails_it_with_a_sentence_not_an_error_name():
    """A task that met a Redis that went away (a real refused connection) says so in one
    sentence; other unexpected errors keep their type for the admin."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from leadapp.tasks import QUEUE_LOST, failure_text
    from tests.conftest import free_port

    with pytest.raises(redis.RedisError) as lost:
        redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0)).ping()  # refused at once
    assert failure_text(lost.value) == QUEUE_LOST
    assert failure_text(KeyError("x")) == "KeyError: 'x'"
    assert failure_text(ValueError("The file has no phone column.")) == (
        "The file has no phone column."
    )


def test_a_job_stopped_by_a_full_database_disk_says_so():
    from leadapp.tasks import DATABASE_FULL, failure_text
    from tests.conftest import sqlite_full_error

    assert failure_text(sqlite_full_error()) == DATABASE_FULL


# ---------------------------------------------------------------------------------------
# A job whose start meets a busy or lost database is never left "queued" for good.


def sqlite_path(database_url: str) -> str | None:
    return database_url[len("sqlite:///") :] if database_url.startswith("sqlite") else None


def hold_write_lock(path: str):
    """Another process's writer: SQLite's write lock taken and held (release: rollback)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def impatient_app(app_environ):
    """The app as a worker runs it, waiting only 0.1 s a try for SQLite's write lock."""
    return create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.1"})


def test_a_job_whose_start_meets_a_locked_database_waits_and_runs(
    committed, make_account, app_environ, database_url
):
    """The write lock is held by another process when the job starts: marking the row
    running is tried again after a short wait, and the job runs (it used to fail at once
    in RQ, its row left "queued" for ever)."""
    path = sqlite_path(database_url)
    if path is None:
        pytest.skip("SQLite's write lock; PostgreSQL waits for row locks")
    account_id = make_account("acme")
    with committed.app_context():
        _seed_pool_with_leads(account_id, 3)
        with account_scope(account_id):
            job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
            db.session.commit()
            job_id = job.id
    holder = hold_write_lock(path)
    started = time.monotonic()
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        with impatient_app(app_environ).app_context():
            refresh_pool_counts(job_id)  # as the worker's work horse calls it
    finally:
        release.join()
        holder.close()
    assert time.monotonic() - started >= 0.9  # it waited for the lock
    with committed.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert (job.status, job.result, job.error) == ("completed", {"pools": 2}, None)


def test_a_job_that_cannot_start_is_handed_back_to_the_queue(
    committed, make_account, app_environ, database_url, run_worker, runner
):
    """The database stays locked through every try: the job cannot even say so on its row,
    so the row stays queued, RQ records the failure, and ``flask jobs requeue`` (and every
    worker that starts) finds the queued row whose RQ job failed and hands it back."""
    path = sqlite_path(database_url)
    if path is None:
        pytest.skip("SQLite's write lock; PostgreSQL waits for row locks")
    account_id = make_account("acme")
    with committed.app_context():
        pool_id = _seed_pool_with_leads(account_id, 4)
        with account_scope(account_id):
            job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
            db.session.commit()
            dispatch(job, refresh_pool_counts)
            job_id, rq_id = job.id, job.rq_id
    holder = hold_write_lock(path)
    try:
        with impatient_app(app_environ).app_context(), pytest.raises(sa.exc.OperationalError):
            refresh_pool_counts(job_id)
    finally:
        holder.rollback()
        holder.close()
    with committed.app_context():
        assert db.session.get(BackgroundJob, job_id).status == "queued"  # not "running"
        # What RQ records of a job whose function raised (a real worker: the next test).
        rq_job = Job.fetch(rq_id, connection=redis_connection.client(), serializer=JSONSerializer)
        rq_job.set_status(JobStatus.FAILED)

    result = runner.invoke(args=["jobs", "requeue", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["requeued"] == [job_id]
    out = run_worker()
    assert out.returncode == 0, out.stdout
    with committed.app_context():
        job = db.session.get(BackgroundJob, job_id)
        assert (job.status, job.error) == ("completed", None)
        assert db.session.get(LeadPool, pool_id).total_count == 4


def test_requeue_hands_back_rows_whose_rq_job_ended_and_leaves_live_ones(app, make_account):
    """A queued row is handed back when its RQ job finished, failed, was stopped or is gone
    — never while RQ still holds it queued or scheduled — and a row whose task no longer
    exists is failed with a sentence instead."""
    import datetime as dt

    from leadapp.tasks import LOST_FOR_GOOD, requeue_lost

    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        client = redis_connection.client()
        rows = {}
        for name in ("finished", "stopped", "failed", "gone", "queued", "scheduled", "unknown"):
            row = job_rows.create_job(account_id, "pool_counts", name, "default")
            db.session.commit()
            at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1) if name == "scheduled" else None
            dispatch(row, refresh_pool_counts, at=at)
            rows[name] = row
        for name in ("finished", "stopped", "failed"):
            rq_job = Job.fetch(rows[name].rq_id, connection=client, serializer=JSONSerializer)
            rq_job.set_status(JobStatus(name))
        client.delete(f"rq:job:{rows['gone'].rq_id}")
        rows["unknown"].task = "leadapp.tasks.retired.old_task"
        client.delete(f"rq:job:{rows['unknown'].rq_id}")
        db.session.commit()
        ids = {name: row.id for name, row in rows.items()}
        try:
            again = requeue_lost()
            assert again == [ids[n] for n in ("finished", "stopped", "failed", "gone")]
            for name in ("finished", "stopped", "failed", "gone", "queued"):
                status = Job(rows[name].rq_id, connection=client).get_status()
                assert status == JobStatus.QUEUED, name
            assert Job(rows["scheduled"].rq_id, connection=client).get_status() == "scheduled"
            unknown = db.session.get(BackgroundJob, ids["unknown"])
            assert (unknown.status, unknown.error) == ("failed", LOST_FOR_GOOD)
            assert requeue_lost() == []  # handed back once
        finally:
            queue = redis_connection.queue("default")
            queue.empty()
            queue.scheduled_job_registry.remove(rows["scheduled"].rq_id, delete_job=True)


def test_a_row_never_handed_to_rq_is_failed_with_a_sentence(app, make_account):
    """The process stopped between the commit that created a row and handing it to RQ:
    no task was recorded, nothing can hand it back; after a while it is lost (its page
    offers to start it again) and ``requeue_lost`` fails it with a sentence. A row just
    created is being handed over: left alone."""
    import datetime as dt

    from leadapp.models.base import utcnow
    from leadapp.tasks import requeue_lost

    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        old = job_rows.create_job(account_id, "pool_counts", "Old", "default")
        old.created_at = utcnow() - dt.timedelta(seconds=job_rows.NEVER_HANDED_SECONDS + 60)
        fresh = job_rows.create_job(account_id, "pool_counts", "Fresh", "default")
        db.session.commit()
        assert job_rows.is_lost(old) and job_rows.why_stopped(old) == job_rows.NEVER_HANDED_MESSAGE
        assert not job_rows.is_lost(fresh)
        assert requeue_lost() == []
        db.session.expire_all()
        assert (old.status, old.error) == ("failed", job_rows.NEVER_HANDED_MESSAGE)
        assert fresh.status == "queued"


def test_a_committed_job_is_handed_to_rq_when_the_database_is_busy_at_first(
    committed, app_environ, make_account
):
    """A view commits the job row (and its work's status), then ``dispatch`` writes what it
    hands to RQ: a database busy past its wait there answered 503 "nothing was saved" for a
    saved job, and left it never handed to RQ (bench/day.py's dedup test run)."""
    url = app_environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's single writer lock")
    account_id = make_account("acme")
    impatient = create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.2"})
    with impatient.app_context(), account_scope(account_id):
        job = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
        db.session.commit()
        holder = sqlite3.connect(
            url[len("sqlite:///") :], isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")  # another writer, done in 0.6 s
        done = threading.Timer(0.6, holder.rollback)
        done.start()
        try:
            dispatch(job, refresh_pool_counts)
        finally:
            done.join()
            holder.close()
        job_id, rq_id = job.id, job.rq_id
        rq_job = Job.fetch(rq_id, connection=redis_connection.client(), serializer=JSONSerializer)
        try:
            assert rq_job.get_status() == JobStatus.QUEUED
            db.session.rollback()
            row = db.session.get(BackgroundJob, job_id)
            assert (row.status, row.task) == ("queued", "leadapp.tasks.pools.refresh_pool_counts")
        finally:
            rq_job.delete()
