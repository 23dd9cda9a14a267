"""Which scheduler locks a worker lets go of: only those of a scheduler that registered
from this machine, whose process is gone and that has been silent for
SCHEDULER_DEAD_SECONDS — never a live one's; and that a scheduler process lets go of its
locks when its worker is killed or when stopped as it forks (real Redis, real processes)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import psutil
import pytest
from rq import Worker
from rq.scheduler import RQScheduler
from rq.scripts import acquire_or_refresh_lock, release_lock
from rq.utils import now

from leadapp.extensions import QUEUE_NAMES, redis_connection
from leadapp.tasks.worker import SCHEDULER_DEAD_SECONDS, LeadAppScheduler, release_dead_schedulers


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


def test_a_scheduler_whose_worker_is_killed_stops_and_lets_its_locks_go(
    committed, app_environ, tmp_path
):
    """The worker alone is SIGKILLed (systemd KillMode=process, the OOM killer): its
    scheduler process notices within a couple of seconds, lets go of every queue's lock
    and unregisters, so that a new worker's scheduler need not wait for it."""
    from tests.tasks.test_dedup import scheduler_holding, start_worker, stop_worker, wait_for

    log_path = tmp_path / "worker.log"
    worker = start_worker(app_environ, log_path)
    children: list[psutil.Process] = []
    scheduler = None
    try:
        with committed.app_context():
            scheduler = wait_for(
                "the worker's scheduler took the lock", scheduler_holding, 60, log_path
            )
        children = psutil.Process(worker.pid).children(recursive=True)
        [process] = [c for c in children if c.pid == scheduler.pid]

        os.kill(worker.pid, signal.SIGKILL)  # the worker only, not its scheduler
        worker.wait(timeout=10)

        def scheduler_gone():
            try:
                return process.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        killed_at = time.monotonic()
        wait_for("the orphaned scheduler stopped", scheduler_gone, 5, log_path)
        print(f"scheduler stopped {time.monotonic() - killed_at:.1f} s after its worker's kill")
        with committed.app_context():
            client = redis_connection.client()
            assert [q for q in QUEUE_NAMES if holder(client, q)] == []
            assert not client.exists(scheduler.key), "the scheduler did not register its death"
        assert "raised an exception" not in log_path.read_text()
    finally:
        stop_worker(worker)
        for child in children:  # an orphan left by a failure must not outlive the test,
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        if scheduler is not None:  # nor its locks hold up the next test's schedulers
            with committed.app_context():
                client = redis_connection.client()
                for q in QUEUE_NAMES:
                    release_lock(client, RQScheduler.get_locking_key(q), scheduler.name)
                client.delete(scheduler.key)


def test_a_stop_signal_as_the_scheduler_forks_stops_it_like_any_other(client, queue):
    """SIGTERM the moment the scheduler process is forked (RQ's worker sends it if told to
    stop as it starts its scheduler; systemd signals the whole group): the process stops as
    on a warm shutdown, its lock let go and its registration gone, instead of dying before
    it has RQ's handlers with the lock held for 61 s and nothing registered."""
    for _ in range(5):
        scheduler = LeadAppScheduler([queue], connection=client)
        assert scheduler.acquire_locks() == {queue}
        process = scheduler.start()
        try:
            os.kill(process.pid, signal.SIGTERM)
            process.join(10)
            assert process.exitcode == 0
        finally:
            if process.is_alive():
                process.kill()
                process.join()
        assert holder(client, queue) is None
        assert not client.exists(scheduler.key)
