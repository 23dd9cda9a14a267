"""Which scheduler locks a worker lets go of: only those of a scheduler that registered
from this machine, whose process is gone and that has been silent for
SCHEDULER_DEAD_SECONDS — never a live one's (real Redis, real processes)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import uuid

import pytest
from rq import Worker
from rq.scheduler import RQScheduler
from rq.scripts import acquire_or_refresh_lock
from rq.utils import now

from leadapp.extensions import redis_connection
from leadapp.tasks.worker import SCHEDULER_DEAD_SECONDS, release_dead_schedulers


@pytest.fixture
def client(app):
    with app.app_context():
        yield redis_connection.client()


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def holding(client, queue: str, pid: int, silent_for: float, host: str | None = None) -> str:
    """A scheduler registered as RQ registers one (its hash, its lock on ``queue``), last
    heard of ``silent_for`` seconds ago; returns its name."""
    scheduler = RQScheduler([queue], connection=client, name=uuid.uuid4().hex)
    scheduler.pid = pid
    scheduler.hostname = host or socket.gethostname()
    scheduler.last_heartbeat = now() - dt.timedelta(seconds=silent_for)
    scheduler.save()
    lock = RQScheduler.get_locking_key(queue)
    assert acquire_or_refresh_lock(client, lock, scheduler.name, 61) == "acquired"
    return scheduler.name


def holder(client, queue: str) -> str | None:
    name = client.get(RQScheduler.get_locking_key(queue))
    return name.decode() if name else None


@pytest.fixture
def queue(client):
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    client.delete(RQScheduler.get_locking_key(name))


def test_a_dead_silent_scheduler_of_this_machine_loses_its_lock(client, queue, dead_pid):
    holding(client, queue, dead_pid, silent_for=SCHEDULER_DEAD_SECONDS + 1)
    assert release_dead_schedulers(client, [queue]) == [queue]
    assert holder(client, queue) is None
    assert acquire_or_refresh_lock(client, RQScheduler.get_locking_key(queue), "next", 61) == (
        "acquired"
    )


def test_a_live_scheduler_keeps_its_lock_however_long_it_was_silent(client, queue):
    name = holding(client, queue, os.getpid(), silent_for=SCHEDULER_DEAD_SECONDS * 6)
    assert release_dead_schedulers(client, [queue]) == []
    assert holder(client, queue) == name


def test_a_gone_process_that_beat_recently_keeps_its_lock(client, queue, dead_pid):
    """Its pid may belong to another pid namespace (a container sharing the host name)."""
    name = holding(client, queue, dead_pid, silent_for=1)
    assert release_dead_schedulers(client, [queue]) == []
    assert holder(client, queue) == name


def test_a_scheduler_of_another_machine_keeps_its_lock_until_it_expires(client, queue, dead_pid):
    name = holding(client, queue, dead_pid, silent_for=60, host="another-machine")
    assert release_dead_schedulers(client, [queue]) == []
    assert holder(client, queue) == name


def test_a_lock_without_a_registered_scheduler_is_left_alone(client, queue):
    lock = RQScheduler.get_locking_key(queue)
    assert acquire_or_refresh_lock(client, lock, "starting", 61) == "acquired"
    assert release_dead_schedulers(client, [queue]) == []
    assert holder(client, queue) == "starting"


def test_a_zombie_counts_as_gone(client, queue):
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped
        holding(client, queue, zombie.pid, silent_for=SCHEDULER_DEAD_SECONDS + 1)
        assert release_dead_schedulers(client, [queue]) == [queue]
    finally:
        zombie.wait()


def test_a_running_worker_hands_back_a_queued_job_whose_rq_job_died(
    committed, make_account, app_environ, tmp_path
):
    """A row left queued after its RQ job died (here: Redis lost it) while a worker was
    already running is handed back at the worker's maintenance, without a restart."""
    import time

    import sqlalchemy as sa

    from leadapp.extensions import db
    from leadapp.models import BackgroundJob
    from leadapp.security import account_scope
    from leadapp.services import jobs as job_rows
    from leadapp.tasks.pools import refresh_pool_counts as TASK  # noqa: N812
    from tests.conftest import ROOT, process_env

    account_id = make_account("acme")
    env = {**process_env(app_environ), "SCHEDULER_CHECK_SECONDS": "1"}
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--with-scheduler"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # Registered with RQ: past its look for lost jobs at start.
            with committed.app_context():
                started = time.monotonic()
                while not Worker.count(connection=redis_connection.client()):
                    assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                    assert time.monotonic() - started < 60, "the worker did not start"
                    time.sleep(0.2)
            with committed.app_context(), account_scope(account_id):
                # Queued and handed to RQ (what ``dispatch`` records), but Redis lost it.
                row = job_rows.create_job(account_id, "pool_counts", "Recount", "default")
                row.task, row.args = f"{TASK.__module__}.{TASK.__name__}", []
                db.session.commit()
                row_id = row.id
            deadline = time.monotonic() + 60
            while True:
                with committed.app_context():
                    status = db.session.scalar(
                        sa.select(BackgroundJob.status).where(BackgroundJob.id == row_id)
                    )
                if status == "completed":
                    break
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.3)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert (
        f"Handed 1 queued job(s) to RQ again: [{row_id}]" in (tmp_path / "worker.log").read_text()
    )
    with committed.app_context():
        assert db.session.get(BackgroundJob, row_id).result == {"pools": 1}
