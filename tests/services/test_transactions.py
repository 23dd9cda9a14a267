"""A batch meets a locked database: rolled back, waited for, tried again — not a failure."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from leadapp import create_app
from leadapp.extensions import db
from leadapp.models import DedupJob, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services.transactions import database_full, is_transient, retrying
from leadapp.write_lock import reading
from tests.conftest import sqlite_full_error


def test_a_held_sqlite_writer_lock_delays_the_batch_and_loses_nothing(
    committed, app_environ, make_account
):
    url = app_environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's single writer lock; PostgreSQL takes row locks instead")
    account_id = make_account("acme")
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        for i in range(10):
            db.session.add(Lead(pool_id=pool.id, phone1=f"+1415555010{i % 5}"))
        job = DedupJob(name="Locked", status="running")
        db.session.add(job)
        db.session.flush()
        dedup_service.plan(job)
        job.target_pool_id = dedup_service.inactive_pool().id
        job.results = {"planned": {"total": 10, "duplicates": 5, "after": 5}, "moved_through": 0}
        db.session.commit()
        job_id = job.id

    # Another process holds the writer lock for a second; this app waits only 0.1 s a try.
    # The job is loaded first, reading only (in a worker, ``tasks.tracked`` loads it).
    impatient = create_app("testing", environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.1"})
    holder = sqlite3.connect(
        url[len("sqlite:///") :], isolation_level=None, check_same_thread=False
    )
    try:
        with impatient.app_context(), account_scope(account_id):
            with reading():
                job = db.session.get(DedupJob, job_id)
            holder.execute("BEGIN IMMEDIATE")
            started = time.monotonic()  # the second counts from here, however busy the machine
            threading.Timer(1.0, holder.rollback).start()
            result = dedup_service.run(job)
            db.session.commit()
    finally:
        holder.close()
    assert time.monotonic() - started >= 0.9  # it waited for the lock, batch by batch
    assert result["moved"] == 5
    with committed.app_context(), account_scope(account_id):
        inactive = dedup_service.inactive_pool()
        assert (
            db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == inactive.id))
            == 5
        )


def test_only_locks_and_lost_connections_are_tried_again(app_ctx):
    locked = sa.exc.OperationalError("UPDATE leads", {}, Exception("database is locked"))
    broken = sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    assert is_transient(locked) and not is_transient(broken)
    calls = []

    def refuses():
        calls.append(1)
        raise broken

    with pytest.raises(sa.exc.IntegrityError):
        retrying(refuses)
    assert len(calls) == 1  # a constraint violation is not retried

    def flaky():
        calls.append(2)
        if calls.count(2) < 3:
            raise locked
        return "done"

    assert retrying(flaky) == "done" and calls.count(2) == 3


def test_a_full_database_disk_is_neither_busy_nor_tried_again(app_ctx):
    import psycopg.errors

    full = sqlite_full_error()
    assert "database or disk is full" in str(full)
    pg_full = sa.exc.OperationalError(
        "INSERT", {}, psycopg.errors.DiskFull("could not extend file: No space left on device")
    )
    locked = sa.exc.OperationalError("UPDATE leads", {}, Exception("database is locked"))
    assert database_full(full) and database_full(pg_full) and not database_full(locked)
    assert not is_transient(full) and not is_transient(pg_full) and is_transient(locked)
    calls = []

    def refuses():
        calls.append(1)
        raise full

    with pytest.raises(sa.exc.OperationalError):
        retrying(refuses)
    assert calls == [1]  # failed at once, not after ~8 s of tries


def test_an_import_batch_waits_for_a_held_lock_and_writes_every_lead_once(
    committed, app_environ, make_account, runner, tmp_path
):
    """The first batch (which also creates the pool) meets the lock: rolled back, tried
    again; the import ends with exactly the leads an undisturbed one writes."""
    import json

    from leadapp.domain.leadgen import generate
    from leadapp.models import Import
    from leadapp.services.imports import analyse as import_analyse
    from leadapp.services.imports import stage as import_stage
    from leadapp.services.imports import write as import_write

    url = app_environ["DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite's single writer lock; PostgreSQL takes row locks instead")
    make_account("acme")
    made = runner.invoke(args=["campaigns", "create", "--account", "acme", "--name", "Spring"])
    assert made.exit_code == 0, made.output
    truth = generate(500, tmp_path / "leads.csv", seed=5)
    queued = runner.invoke(
        args=["leads", "import", str(tmp_path / "leads.csv"), "--account", "acme",
              "--campaign", "Spring", "--pool", "Locked", "--auto-map", "--enqueue", "--json"]
    )  # fmt: skip
    assert queued.exit_code == 0, queued.output
    import_id = json.loads(queued.stdout.strip().splitlines()[-1])["import_id"]

    impatient = create_app(
        "testing",
        environ={**app_environ, "SQLITE_TIMEOUT_SECONDS": "0.1", "IMPORT_BATCH_ROWS": "100"},
    )
    with impatient.app_context():
        imp = db.session.get(Import, import_id)
        with account_scope(imp.account_id):
            import_stage.stage(imp)
            import_analyse.analyse(imp)
            db.session.commit()
            holder = sqlite3.connect(
                url[len("sqlite:///") :], isolation_level=None, check_same_thread=False
            )
            holder.execute("BEGIN IMMEDIATE")
            threading.Timer(0.6, holder.rollback).start()
            try:
                counts = import_write.execute(imp)
            finally:
                holder.close()
            written = db.session.scalar(
                sa.select(sa.func.count(Lead.id)).where(Lead.import_id == import_id)
            )
    assert counts["imported"] == written == truth["unique_valid_phones"]


def test_a_killed_postgresql_connection_mid_run_is_retried_and_moves_each_lead_once(
    committed, app_environ, make_account, monkeypatch
):
    """``pg_terminate_backend`` on the run's own connection between two batches: the next
    batch fails, is rolled back and tried again on a fresh connection; nothing is lost or
    moved twice."""
    url = app_environ["DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's; SQLite has no server to lose")
    account_id = make_account("acme")
    monkeypatch.setitem(committed.config, "DEDUP_BATCH_LEADS", 3)
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        for i in range(24):
            db.session.add(Lead(pool_id=pool.id, phone1=f"+1415555020{i % 8}"))
        job = DedupJob(name="Killed", status="running")
        db.session.add(job)
        db.session.commit()

        killer = sa.create_engine(db.engine.url)
        kills = []

        def kill_own_connection(percent, message):
            if kills or not message.startswith("Moved"):  # after the first batch only
                return
            pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            with killer.begin() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            kills.append(pid)

        try:
            result = dedup_service.run(job, kill_own_connection)
            db.session.commit()
        finally:
            killer.dispose()
        assert kills, "the connection was never killed"
        assert result["moved"] == 16
        inactive = dedup_service.inactive_pool()
        assert (
            db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == inactive.id))
            == 16
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count(sa.distinct(Lead.phone1))).where(Lead.pool_id == pool.id)
            )
            == 8
        )
