"""Dedup jobs in real worker processes with a real SMTP server: the test run and its email,
a scheduled run started by RQ's scheduler exactly once, and a failing run that moves
nothing and says why by email."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid

import psutil
import pytest
import sqlalchemy as sa
from rq.exceptions import SchedulerNotFound
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer

from leadapp.extensions import db, redis_connection
from leadapp.models import BackgroundJob, DedupJob, DedupMove, EmailDelivery, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.services import pools as pool_service
from leadapp.tasks import dispatch
from leadapp.tasks.dedup import dedup_test_run, run_dedup, schedule_run
from leadapp.tasks.worker import SCHEDULER_DEAD_SECONDS
from tests.conftest import ROOT, free_port, process_env
from tests.processes import burst_worker, kill_worker_and_children, kill_worker_and_horse

PHONES = ["+14155550201", "+14155550202", "+14155550203"]


@pytest.fixture
def dedup_job(committed, make_account):
    """Account acme (committed) with 3 phones × 3 copies = 6 duplicates, and a dedup job."""
    account_id = make_account("acme")
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES * 3):
            db.session.add(Lead(pool_id=pool.id, phone1=phone, created_at=base + dt.timedelta(i)))
        # A name of its own: the SMTP server lives for the whole session, and an earlier
        # test's worker may leave mail behind for this test's worker to send.
        name = f"Nightly clean-up {uuid.uuid4().hex[:8]}"
        job = DedupJob(name=name, emails=["ops@acme.test", "boss@acme.test"])
        db.session.add(job)
        db.session.commit()
        return account_id, job.id, name


def in_account(app, account_id, fn):
    with app.app_context(), account_scope(account_id):
        return fn()


def assert_sent_once(app, account_id, **about):
    """Exactly one tracked email about the job (``import_id=`` / ``dedup_job_id=``), and
    its row says sent, after one try."""
    with app.app_context(), account_scope(account_id):
        rows = db.session.scalars(sa.select(EmailDelivery).filter_by(**about)).all()
        assert [(r.status, r.tries, r.error) for r in rows] == [("sent", 1, None)]
        assert rows[0].sent_at is not None


def emails_since(smtp_server, before, subject_start):
    return [
        m for m in smtp_server.handler.messages[before:]
        if str(m["message"]["Subject"]).startswith(subject_start)
    ]  # fmt: skip


def test_a_test_run_stores_its_figures_moves_nothing_and_emails_the_addresses(
    committed, dedup_job, run_worker, smtp_server
):
    account_id, job_id, name = dedup_job
    before = len(smtp_server.handler.messages)

    def start():
        row = job_rows.create_job(account_id, "dedup_test", "Dedup test run", "dedup")
        db.session.commit()
        dispatch(row, dedup_test_run, job_id)

    in_account(committed, account_id, start)
    assert run_worker().returncode == 0

    def check():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "tested"
        assert {k: job.test_results[k] for k in ("total", "duplicates", "after")} == {
            "total": 9,
            "duplicates": 6,
            "after": 3,
        }
        assert db.session.scalar(sa.select(sa.func.count(DedupMove.id))) == 0

    in_account(committed, account_id, check)
    sent = emails_since(smtp_server, before, f"Dedup test run: {name}")
    assert len(sent) == 1
    assert sorted(sent[0]["rcpt"]) == ["boss@acme.test", "ops@acme.test"]
    assert (
        "Duplicate lead records (would move)         6"
        in sent[0]["message"].get_body(("plain",)).get_content()
    )


def worker_with_scheduler(app_environ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "--with-scheduler"],
        cwd=ROOT,
        env=process_env(app_environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_scheduled_run_starts_from_the_scheduler_once_and_emails_the_results(
    committed, app_environ, dedup_job, run_worker, smtp_server
):
    account_id, job_id, name = dedup_job
    before = len(smtp_server.handler.messages)

    def schedule():
        job = db.session.get(DedupJob, job_id)
        dedup_service.test_run(job)
        when = utcnow() + dt.timedelta(seconds=2)
        dedup_service.schedule(job, when, job.emails, acknowledged=True, user_id=None)
        db.session.commit()
        return schedule_run(job, None).id

    row_id = in_account(committed, account_id, schedule)
    assert run_worker().returncode == 0  # without the scheduler, nothing is due yet
    assert in_account(committed, account_id, lambda: db.session.get(DedupJob, job_id).status) == (
        "scheduled"
    )
    time.sleep(2.5)
    out = worker_with_scheduler(app_environ)
    assert out.returncode == 0, out.stdout

    def check():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed", job.error
        assert job.results["moved"] == 6
        assert db.session.get(BackgroundJob, row_id).status == "completed"
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        return inactive.id

    inactive_id = in_account(committed, account_id, check)

    # A second delivery of the same run (a second scheduler, a retry) changes nothing.
    def deliver_again():
        row = job_rows.create_job(account_id, "dedup_run", "again", "dedup")
        db.session.commit()
        dispatch(row, run_dedup, job_id)
        return row.id

    again_id = in_account(committed, account_id, deliver_again)
    assert worker_with_scheduler(app_environ).returncode == 0

    def check_once():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(DedupMove.id)).where(DedupMove.dedup_job_id == job_id)
            )
            == 6
        )
        assert (
            db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == inactive_id))
            == 6
        )
        assert db.session.get(BackgroundJob, again_id).message.startswith("Not run")

    in_account(committed, account_id, check_once)
    assert len(emails_since(smtp_server, before, f"Dedup completed: {name}")) == 1


def test_a_run_that_cannot_move_fails_moves_nothing_and_says_why(
    committed, app_environ, dedup_job, run_worker, smtp_server
):
    account_id, job_id, name = dedup_job
    before = len(smtp_server.handler.messages)

    def start():
        job = db.session.get(DedupJob, job_id)
        # Without its Inactive pool the account has nowhere to move duplicates to: the
        # run must refuse and move nothing.
        db.session.delete(
            db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        )
        job.status = "scheduled"
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        db.session.commit()
        dispatch(row, run_dedup, job_id)

    in_account(committed, account_id, start)
    assert run_worker().returncode == 0

    def check():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "failed"
        assert "no system 'Inactive' pool" in job.error
        assert db.session.scalar(sa.select(sa.func.count(DedupMove.id))) == 0

    in_account(committed, account_id, check)
    assert len(emails_since(smtp_server, before, f"Dedup failed: {name}")) == 1


def test_a_worker_killed_mid_run_shows_stalled_and_resuming_moves_each_lead_once(
    committed, app_environ, make_account, runner, run_worker, smtp_server, tmp_path, monkeypatch
):
    """SIGKILL in the middle of the moves: the leads already moved stay moved, the job
    shows as stalled within a minute, `flask dedup resume` finishes it; every duplicate is
    moved exactly once, the counters equal a recount, and one results email goes out."""
    monkeypatch.setitem(committed.config, "JOB_STALL_SECONDS", 3)
    account_id = make_account("acme")
    duplicates = 6_000
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Big")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        db.session.execute(
            sa.insert(Lead),
            [
                {
                    "account_id": account_id,
                    "pool_id": pool.id,
                    "phone1": f"+1212555{i % duplicates:04d}",
                    "created_at": base + dt.timedelta(seconds=i),
                    "updated_at": base,
                }
                for i in range(2 * duplicates)
            ],
        )
        name = f"Big clean-up {uuid.uuid4().hex[:8]}"  # its email is told from others'
        job = DedupJob(name=name, status="scheduled", emails=["ops@acme.test"])
        db.session.add(job)
        db.session.flush()
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        job.job_id = row.id
        db.session.commit()
        dispatch(row, run_dedup, job.id)
        job_id, row_id = job.id, row.id

    def moved_through():
        return (db.session.get(DedupJob, job_id).results or {}).get("moved_through") or 0

    env = {
        **process_env(app_environ),
        "DEDUP_BATCH_LEADS": "40",  # many small batches: the kill lands mid-run
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALL_SECONDS": "3",
    }
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while not in_account(committed, account_id, moved_through):
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the run moved nothing in 90 s"
                time.sleep(0.02)
            kill_worker_and_horse(worker)
            killed_at = time.monotonic()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    def after_kill():
        job = db.session.get(DedupJob, job_id)
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        moved = db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == inactive.id)
        )
        assert job.status == "running"
        assert 0 < moved < duplicates, "the kill did not land mid-run"
        # every committed batch is whole: the leads moved are exactly the checkpoint's
        assert moved == db.session.scalar(
            sa.select(sa.func.count(DedupMove.id)).where(
                DedupMove.dedup_job_id == job_id, DedupMove.id <= job.results["moved_through"]
            )
        )

    in_account(committed, account_id, after_kill)
    while not in_account(
        committed, account_id, lambda: job_rows.is_stalled(db.session.get(BackgroundJob, row_id))
    ):
        assert time.monotonic() - killed_at < 60, "the run never showed as stalled"
        time.sleep(0.2)

    result = runner.invoke(args=["dedup", "resume", str(job_id), "--json"])
    assert result.exit_code == 0, result.output

    def finished():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed"
        assert job.results["moved"] == duplicates
        assert db.session.get(BackgroundJob, row_id).status == "failed"  # the killed one
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        phones = db.session.scalars(sa.select(Lead.phone1).where(Lead.pool_id != inactive.id)).all()
        assert len(phones) == len(set(phones)) == duplicates  # one lead per number left
        assert (
            db.session.scalar(
                sa.select(sa.func.count(sa.distinct(DedupMove.lead_id))).where(
                    DedupMove.dedup_job_id == job_id
                )
            )
            == duplicates
        )
        fresh = pool_service.pool_counts()
        for pool in db.session.scalars(sa.select(LeadPool)):
            assert pool.total_count == fresh.get(pool.id, {"total": 0})["total"], pool.name

    in_account(committed, account_id, finished)
    again = runner.invoke(args=["dedup", "resume", str(job_id)])
    assert again.exit_code == 1 and "is completed; only a run that stopped" in again.output

    # One results email for the run, though it was started twice: none from the killed
    # worker, one from the resumed run, and its delivery row says sent after one try.
    before = len(smtp_server.handler.messages)  # the killed worker sent nothing before
    assert not emails_since(smtp_server, 0, f"Dedup completed: {name}")
    out = run_worker()
    assert out.returncode == 0, out.stdout
    sent = emails_since(smtp_server, before, f"Dedup completed: {name}")
    assert len(sent) == 1 and sent[0]["rcpt"] == ["ops@acme.test"]
    assert not emails_since(smtp_server, 0, f"Dedup failed: {name}")
    assert_sent_once(committed, account_id, dedup_job_id=job_id, template="dedup_done")


def test_a_stalled_run_resumed_through_the_workers_emails_once(
    committed, dedup_job, runner, run_worker, smtp_server, monkeypatch
):
    """`flask dedup resume --enqueue`: the resumed run is a worker's, and so is its one
    results email."""
    monkeypatch.setitem(committed.config, "JOB_STALL_SECONDS", 1)
    account_id, job_id, name = dedup_job

    def left_running():  # what a worker killed before its first batch leaves behind
        job = db.session.get(DedupJob, job_id)
        job.status = "running"
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        job_rows.mark_running(row)
        row.heartbeat_at = row.started_at = utcnow() - dt.timedelta(seconds=5)
        job.job_id = row.id
        db.session.commit()

    in_account(committed, account_id, left_running)
    result = runner.invoke(args=["dedup", "resume", str(job_id), "--enqueue", "--json"])
    assert result.exit_code == 0, result.output
    out = run_worker()
    assert out.returncode == 0, out.stdout
    assert in_account(committed, account_id, lambda: db.session.get(DedupJob, job_id).status) == (
        "completed"
    )
    sent = emails_since(smtp_server, 0, f"Dedup completed: {name}")
    assert len(sent) == 1 and sorted(sent[0]["rcpt"]) == ["boss@acme.test", "ops@acme.test"]
    assert_sent_once(committed, account_id, dedup_job_id=job_id, template="dedup_done")


def test_smtp_down_the_result_stands_and_the_email_waits_for_a_retry(
    committed, app_environ, dedup_job
):
    account_id, job_id, name = dedup_job

    def start():
        job = db.session.get(DedupJob, job_id)
        job.status = "scheduled"
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        job.job_id = row.id
        db.session.commit()
        dispatch(row, run_dedup, job_id)

    in_account(committed, account_id, start)
    env = process_env({**app_environ, "MAIL_PORT": str(free_port())})  # nothing listens there
    out = burst_worker(env)
    assert out.returncode == 0, out.stdout

    def check():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed" and job.results["moved"] == 6

    in_account(committed, account_id, check)
    with committed.app_context():
        mail = redis_connection.queue("mail")
        waiting = [
            Job.fetch(i, connection=redis_connection.client(), serializer=JSONSerializer)
            for i in mail.scheduled_job_registry.get_job_ids()
        ]
        ours = [j for j in waiting if f"Dedup completed: {name}" in str(j.args)]
        assert len(ours) == 1 and ours[0].retries_left == 2  # RQ will try again later
        for j in waiting:
            j.cancel()
            j.delete()


def test_two_schedulers_racing_run_a_scheduled_job_once(
    committed, app_environ, dedup_job, smtp_server
):
    account_id, job_id, name = dedup_job
    before = len(smtp_server.handler.messages)

    def schedule():
        job = db.session.get(DedupJob, job_id)
        dedup_service.test_run(job)
        when = utcnow() + dt.timedelta(seconds=2)
        dedup_service.schedule(job, when, job.emails, acknowledged=True, user_id=None)
        db.session.commit()
        schedule_run(job, None)

    in_account(committed, account_id, schedule)
    time.sleep(2.5)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"]
    workers = [
        subprocess.Popen(
            [*command, "--with-scheduler"],
            cwd=ROOT,
            env=process_env(app_environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for _ in range(2)
    ]
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out

    def check():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed"
        assert (
            db.session.scalar(
                sa.select(sa.func.count(DedupMove.id)).where(DedupMove.dedup_job_id == job_id)
            )
            == 6
        )

    in_account(committed, account_id, check)
    # the mail queue may still hold the email if both workers finished first: drain it
    out = subprocess.run(command, cwd=ROOT, env=process_env(app_environ), check=False)
    assert out.returncode == 0
    assert len(emails_since(smtp_server, before, f"Dedup completed: {name}")) == 1


# ---------------------------------------------------------------------------------------
# The worker running RQ's scheduler dies before a scheduled run is due


def scheduler_holding(queue: str = "dedup") -> RQScheduler | None:
    """The scheduler holding RQ's scheduler lock of ``queue`` (None: nobody holds it)."""
    client = redis_connection.client()
    name = client.get(RQScheduler.get_locking_key(queue))
    if name is None:
        return None
    try:
        return RQScheduler.fetch(name.decode(), client)
    except SchedulerNotFound:  # locked a moment before its process registered
        return None


def start_worker(app_environ, log_path, *args, host: str | None = None) -> subprocess.Popen:
    """``flask worker --with-scheduler`` in the background; with ``host``, under that host
    name of its own (a UTS namespace: to RQ, a worker on another machine)."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--with-scheduler"]
    command += args
    if host:  # unshare execs sh, sh execs the worker: the same process, renamed host
        command = ["unshare", "--uts", "sh", "-c", f'hostname {host} && exec "$@"', "-", *command]
    with log_path.open("a") as log:
        return subprocess.Popen(
            command, cwd=ROOT, env=process_env(app_environ), stdout=log, stderr=subprocess.STDOUT
        )


def can_rename_host() -> bool:
    try:
        out = subprocess.run(
            ["unshare", "--uts", "sh", "-c", "hostname elsewhere.test && hostname"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "elsewhere.test"


def stop_worker(worker: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM): the job in hand is finished, the scheduler lock let go."""
    if worker.poll() is None:
        children = psutil.Process(worker.pid).children(recursive=True)
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        # Its scheduler process too, should it outlive the worker: an orphan would keep
        # the scheduler lock and heartbeat into the next test's Redis.
        for child in psutil.wait_procs(children, timeout=5)[1]:
            child.kill()


def wait_for(what: str, check, seconds: float, log_path):
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, (
            f"{what} within {seconds:.0f} s; workers' log:\n" + (log_path.read_text()[-4000:])
        )
        time.sleep(0.1)
    return found


@pytest.mark.parametrize(
    "machine",
    [
        "this machine",
        pytest.param("another machine", marks=pytest.mark.slow),  # RQ's 61 s lock expiry
    ],
)
def test_a_scheduler_killed_before_the_run_is_due_is_replaced_and_the_run_happens_once(
    committed, app_environ, dedup_job, smtp_server, tmp_path, machine
):
    """The worker with RQ's scheduler is SIGKILLed (with its scheduler process) before a
    scheduled run is due; a second worker started with --with-scheduler takes the schedule
    over and the run happens exactly once: one completed run, each duplicate moved once,
    one results email. The dead scheduler's lock is let go on this machine once the dead
    process has been silent for SCHEDULER_DEAD_SECONDS; from another machine's scheduler
    (another host name) only when RQ's lock expires, 61 s after its last heartbeat."""
    if machine == "another machine" and not can_rename_host():
        pytest.skip("`unshare --uts` cannot give the first worker a host name of its own here")
    account_id, job_id, name = dedup_job
    log_path = tmp_path / "workers.log"
    check = 1  # the second worker looks for a dead scheduler every second
    host = "elsewhere.test" if machine == "another machine" else None
    first = start_worker(app_environ, log_path, host=host)
    second = None
    try:
        with committed.app_context():
            holder = wait_for(
                "the first worker's scheduler took the lock", scheduler_holding, 60, log_path
            )
            assert holder.pid in [c.pid for c in psutil.Process(first.pid).children()]
            assert (holder.hostname == "elsewhere.test") == (host is not None)

        def schedule():
            job = db.session.get(DedupJob, job_id)
            dedup_service.test_run(job)
            when = utcnow() + dt.timedelta(seconds=4)
            dedup_service.schedule(job, when, job.emails, acknowledged=True, user_id=None)
            db.session.commit()
            return schedule_run(job, None).id, when

        row_id, when = in_account(committed, account_id, schedule)
        killed = kill_worker_and_children(first)
        killed_at = time.monotonic()
        assert holder.pid in killed
        assert utcnow() < when, "the scheduler was killed after the run was due"
        with committed.app_context():
            # The dead scheduler's lock outlives it; the run is still waiting for its time.
            assert scheduler_holding().name == holder.name
            lock_left = redis_connection.client().pttl(RQScheduler.get_locking_key("dedup"))
            lock_left /= 1000
            rq_id = db.session.get(BackgroundJob, row_id).rq_id
            assert rq_id in redis_connection.queue("dedup").scheduled_job_registry.get_job_ids()

        second = start_worker(app_environ, log_path, "--scheduler-check", str(check))

        def taken_over():
            now_holding = scheduler_holding()
            return now_holding is not None and now_holding.name != holder.name

        # What `flask worker --help` promises, and the second worker's start-up (a few s).
        promised = SCHEDULER_DEAD_SECONDS if host is None else lock_left
        with committed.app_context():
            wait_for(
                "the second worker took the schedule over", taken_over, promised + 25, log_path
            )
        took = time.monotonic() - killed_at
        if host is not None:
            assert took >= lock_left - 1, "another machine's live-looking lock was taken early"

        def completed():
            return in_account(
                committed, account_id, lambda: db.session.get(DedupJob, job_id).status
            ) in ("completed", "failed")

        wait_for("the run finished", completed, 30, log_path)
        wait_for(
            "the results email arrived",
            lambda: emails_since(smtp_server, 0, f"Dedup completed: {name}"),
            30,
            log_path,
        )
    finally:
        stop_worker(first)
        if second is not None:
            stop_worker(second)
    print(f"{machine}: scheduler taken over {took:.1f} s after the kill")

    def check_once():
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed", job.error
        assert job.results["moved"] == 6
        assert db.session.get(BackgroundJob, row_id).status == "completed"
        runs = db.session.scalars(
            sa.select(BackgroundJob).where(BackgroundJob.kind == "dedup_run")
        ).all()
        assert [r.id for r in runs] == [row_id]
        assert (
            db.session.scalar(
                sa.select(sa.func.count(sa.distinct(DedupMove.lead_id))).where(
                    DedupMove.dedup_job_id == job_id
                )
            )
            == db.session.scalar(
                sa.select(sa.func.count(DedupMove.id)).where(DedupMove.dedup_job_id == job_id)
            )
            == 6
        )
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        assert (
            db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == inactive.id))
            == 6
        )

    in_account(committed, account_id, check_once)
    sent = emails_since(smtp_server, 0, f"Dedup completed: {name}")
    assert len(sent) == 1 and sorted(sent[0]["rcpt"]) == ["boss@acme.test", "ops@acme.test"]
    assert_sent_once(committed, account_id, dedup_job_id=job_id, template="dedup_done")
    with committed.app_context():
        assert scheduler_holding() is None  # the second worker let its lock go when stopped
