"""The import job in real worker processes: queued imports, the summary email, a worker
killed with SIGKILL in the middle of an import, and Redis down when the import is queued."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from leadapp import create_app
from leadapp.domain.leadgen import generate
from leadapp.extensions import db, redis_connection
from leadapp.models import (
    Account,
    BackgroundJob,
    Campaign,
    EmailDelivery,
    Import,
    Lead,
    LeadPool,
    User,
)
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from leadapp.services.imports import report as import_report
from leadapp.services.imports import stage as import_stage
from leadapp.tasks import dispatch
from leadapp.tasks.imports import run_import
from tests.conftest import ROOT, csrf_from, free_port, login, process_env
from tests.processes import RedisServer, kill_worker_and_horse

LEAD_COLUMNS = (Lead.customer_key, Lead.phone1, Lead.first_name, Lead.email, Lead.timezone)


def cli_json(runner, *args) -> dict:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def read(app, fn):
    """``fn()`` in a fresh app context (and so a fresh session and snapshot)."""
    with app.app_context():
        return fn()


def make_campaign(runner, slug, name="Spring", region="US"):
    result = runner.invoke(
        args=["campaigns", "create", "--account", slug, "--name", name, "--region", region]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture
def spring(committed, runner, make_account):
    """Account ``acme`` (committed for real, so workers see it) with the campaign Spring."""
    make_account("acme")
    make_campaign(runner, "acme")
    return committed


def enqueue_cli(runner, path, pool) -> dict:
    args = [str(path), "--account", "acme", "--campaign", "Spring", "--pool", pool]
    return cli_json(runner, "leads", "import", *args, "--enqueue", "--json")


def import_into_fresh_account(runner, make_account, path, slug="fresh") -> dict:
    """The same file, uninterrupted, in this process: what every other run must equal."""
    make_account(slug)
    make_campaign(runner, slug)
    args = [str(path), "--account", slug, "--campaign", "Spring", "--pool", "Reference"]
    return cli_json(runner, "leads", "import", *args, "--json")


def pool_leads(pool_id: int) -> list[tuple]:
    rows = db.session.execute(sa.select(*LEAD_COLUMNS).where(Lead.pool_id == pool_id))
    return sorted(tuple(r) for r in rows)


def without_pool(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if k != "pool_id"}


# ---------------------------------------------------------------------------------------


def test_a_queued_import_is_run_by_a_worker_like_a_synchronous_one(
    spring, runner, make_account, run_worker, tmp_path
):
    app = spring
    path = tmp_path / "spring_leads.csv"
    truth = generate(3000, path, seed=5, quirks=True)
    queued = enqueue_cli(runner, path, "Queued")
    assert set(queued) == {"job_id", "import_id"}
    with app.app_context():
        imp = db.session.get(Import, queued["import_id"])
        assert (imp.status, imp.job_id) == ("queued", queued["job_id"])
        assert db.session.get(BackgroundJob, queued["job_id"]).status == "queued"
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0

    result = run_worker()
    assert result.returncode == 0, result.stdout

    reference = import_into_fresh_account(runner, make_account, path)
    with app.app_context():
        job = db.session.get(BackgroundJob, queued["job_id"])
        imp = db.session.get(Import, queued["import_id"])
        assert job.status == "completed", job.error
        assert job.progress == 100 and job.finished_at is not None
        assert (imp.status, imp.step, imp.error) == ("completed", "done", None)
        counts = import_report.public_counts(imp)
        assert job.result == counts
        assert without_pool(counts) == without_pool(reference)
        assert counts["rows"] == truth["rows"]
        assert counts["valid"] == truth["rows_with_valid_phone"]
        assert counts["duplicates_in_file"] == truth["duplicate_rows"]
        assert counts["imported"] == truth["unique_valid_phones"]
        queued_leads = pool_leads(counts["pool_id"])
        assert len(queued_leads) == truth["unique_valid_phones"]
        assert queued_leads == pool_leads(reference["pool_id"])


def test_the_summary_email_reaches_the_smtp_server(
    spring, runner, run_worker, smtp_server, tmp_path
):
    app = spring
    path = tmp_path / "autumn.csv"
    truth = generate(500, path, seed=9)
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
            imp = import_read.create_import(
                account,
                admin,
                campaign,
                pool_name="Autumn",
                settings={"notify_me": True, "notify_emails": ["boss@acme.test"]},
            )
            info = import_read.attach_file(imp, path, path.name)
            mapping = import_mapping.suggest(imp, info)
            import_mapping.set_mapping(imp, mapping, info.headers)
            job = job_rows.create_job(account.id, "import", "Import autumn.csv", "imports")
            imp.job_id, imp.status = job.id, "queued"
            db.session.commit()
            dispatch(job, run_import, imp.id)
            import_id = imp.id
    before = len(smtp_server.handler.messages)

    result = run_worker()
    assert result.returncode == 0, result.stdout

    with app.app_context():
        assert db.session.get(Import, import_id).status == "completed"
    arrived = smtp_server.handler.messages[before:]
    assert len(arrived) == 1
    assert sorted(arrived[0]["rcpt"]) == ["admin@acme.test", "boss@acme.test"]
    message = arrived[0]["message"]
    imported = truth["unique_valid_phones"]
    assert message["Subject"] == f"Import finished: autumn.csv — {imported:,} leads imported"
    text = message.get_body(preferencelist=("plain",)).get_content()
    # The figures' lines: a label, then the number right-aligned.
    lines = {
        label.strip(): number
        for label, number in (
            line.rsplit(None, 1) for line in text.splitlines() if re.search(r"  +[\d,]+$", line)
        )
    }
    assert lines["Rows in the file"] == f"{truth['rows']:,}"
    assert lines["Valid"] == f"{truth['rows_with_valid_phone']:,}"
    assert lines["Invalid (not imported)"] == f"{truth['invalid_phone_rows']:,}"
    assert lines["Duplicates in the file"] == f"{truth['duplicate_rows']:,}"
    assert lines["Imported as new leads"] == f"{imported:,}"


# ---------------------------------------------------------------------------------------
# A worker killed in the middle of an import


def summaries(smtp_server, address: str) -> list[dict]:
    """The messages the SMTP server received for ``address``."""
    return [m for m in smtp_server.handler.messages if address in m["rcpt"]]


def assert_sent_once(app, import_id: int) -> None:
    """One tracked summary email for the import, and its row says sent after one try."""
    with app.app_context():
        imp = db.session.get(Import, import_id)
        with account_scope(imp.account_id):
            rows = db.session.scalars(
                sa.select(EmailDelivery).where(EmailDelivery.import_id == import_id)
            ).all()
            assert [(r.template, r.status, r.tries, r.error) for r in rows] == [
                ("import_done", "sent", 1, None)
            ]
            assert rows[0].sent_at is not None


def test_a_killed_worker_shows_stalled_and_resuming_yields_the_same_leads(
    spring, runner, make_account, run_worker, app_environ, smtp_server, tmp_path, monkeypatch
):
    app = spring
    # The web side calls a job stalled after 3 s without news (45 s in production).
    monkeypatch.setitem(app.config, "JOB_STALL_SECONDS", 3)
    path = tmp_path / "big.csv"
    truth = generate(20_000, path, seed=3)
    queued = enqueue_cli(runner, path, "Big")
    import_id, job_id = queued["import_id"], queued["job_id"]
    # The summary is asked for, as in the wizard; an address of its own tells it from the
    # other tests' mail (the SMTP server lives for the whole session).
    notify = f"killed-{uuid.uuid4().hex[:8]}@acme.test"
    with app.app_context():
        imp = db.session.get(Import, import_id)
        imp.settings = {**(imp.settings or {}), "notify_emails": [notify]}
        db.session.commit()

    env = {
        **process_env(app_environ),
        "IMPORT_BATCH_ROWS": "500",  # many small batches: the kill lands mid-import
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALL_SECONDS": "3",
    }
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                rows_done, status = read(
                    app,
                    lambda: db.session.execute(
                        sa.select(Import.rows_done, Import.status).where(Import.id == import_id)
                    ).one(),
                )
                if rows_done > 0:
                    break
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert status in ("queued", "running")
                assert time.monotonic() < deadline, "the worker wrote no batch in 90 s"
                time.sleep(0.02)
            # Alive and writing: running, not stalled.
            job = read(app, lambda: db.session.get(BackgroundJob, job_id))
            assert job.status == "running"
            assert not read(app, lambda: job_rows.is_stalled(db.session.get(BackgroundJob, job_id)))
            kill_worker_and_horse(worker)
            killed_at = time.monotonic()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    with app.app_context():
        imp = db.session.get(Import, import_id)
        written = db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(Lead.import_id == import_id)
        )
        # No half batch: every committed batch is in the checkpointed counts, nothing more.
        assert written == imp.counts["imported"]
        assert 0 < written < truth["unique_valid_phones"], "the kill did not land mid-import"
        assert imp.status == "running"

    # Within a minute the job shows as stalled, on the import's page too.
    while not read(app, lambda: job_rows.is_stalled(db.session.get(BackgroundJob, job_id))):
        assert time.monotonic() - killed_at < 60, "the job never showed as stalled"
        time.sleep(0.2)
    client = app.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    page = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert 'data-status="stalled"' in page
    assert "stopped reporting" in page

    # A running import that is not stalled cannot be resumed twice; this one can.
    resumed = cli_json(runner, "leads", "resume", str(import_id), "--enqueue", "--json")
    assert resumed["import_id"] == import_id and resumed["job_id"] != job_id
    with app.app_context():
        old = db.session.get(BackgroundJob, job_id)
        assert old.status == "failed" and old.error == job_rows.STALLED_MESSAGE
    assert not summaries(smtp_server, notify)  # the killed worker sent none
    result = run_worker()
    assert result.returncode == 0, result.stdout
    # One summary email, though the import was started twice, and its row says sent once.
    (summary,) = summaries(smtp_server, notify)
    imported = truth["unique_valid_phones"]
    assert summary["rcpt"] == [notify]
    assert (
        summary["message"]["Subject"] == f"Import finished: big.csv — {imported:,} leads imported"
    )
    assert_sent_once(app, import_id)

    reference = import_into_fresh_account(runner, make_account, path)
    with app.app_context():
        job = db.session.get(BackgroundJob, resumed["job_id"])
        assert job.status == "completed", job.error
        imp = db.session.get(Import, import_id)
        assert imp.status == "completed" and imp.job_id == job.id
        counts = import_report.public_counts(imp)
        assert without_pool(counts) == without_pool(reference)
        assert counts["imported"] == truth["unique_valid_phones"]
        resumed_leads = pool_leads(counts["pool_id"])
        phones = [lead[1] for lead in resumed_leads]
        assert len(phones) == len(set(phones)) == truth["unique_valid_phones"]  # no duplicates
        assert resumed_leads == pool_leads(reference["pool_id"])


def test_an_import_resumed_in_this_process_sends_its_summary_once(
    spring, runner, run_worker, smtp_server, tmp_path
):
    """`flask leads resume ID` without --enqueue finishes the import here, under a job row
    of its own that says completed (the import's page shows it, not a stale row); the
    summary the user asked for is queued all the same, once (a worker delivers it)."""
    app = spring
    path = tmp_path / "resumed_here.csv"
    truth = generate(300, path, seed=17)
    notify = f"here-{uuid.uuid4().hex[:8]}@acme.test"
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
            imp = import_read.create_import(
                account, admin, campaign, pool_name="Here", settings={"notify_emails": [notify]}
            )
            info = import_read.attach_file(imp, path, path.name)
            import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
            # Handed to a worker once, which died: the row the import points at is stalled.
            stale = job_rows.create_job(account.id, "import", "Import resumed_here.csv", "imports")
            job_rows.mark_running(stale)
            stale.heartbeat_at = utcnow() - dt.timedelta(hours=1)
            imp.job_id, imp.status = stale.id, "running"
            db.session.commit()
            import_id, stale_id = imp.id, stale.id
    counts = cli_json(runner, "leads", "resume", str(import_id), "--json")
    assert counts["imported"] == truth["unique_valid_phones"]
    with app.app_context():
        imp = db.session.get(Import, import_id)
        assert imp.status == "completed" and imp.job_id != stale_id
        row = db.session.get(BackgroundJob, imp.job_id)
        assert (row.status, row.progress, row.result["imported"]) == (
            "completed",
            100,
            counts["imported"],
        )
        old = db.session.get(BackgroundJob, stale_id)
        assert (old.status, old.error) == ("failed", job_rows.STALLED_MESSAGE)
    result = run_worker()
    assert result.returncode == 0, result.stdout
    (summary,) = summaries(smtp_server, notify)
    assert summary["message"]["Subject"].startswith("Import finished: resumed_here.csv")
    assert_sent_once(app, import_id)


def test_stalled_means_running_without_news_from_redis_or_the_database(
    app, make_account, monkeypatch
):
    monkeypatch.setitem(app.config, "JOB_STALL_SECONDS", 30)
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        job = job_rows.create_job(account_id, "import", "Import x.csv", "imports")
        assert not job_rows.is_stalled(job)  # queued: nobody has picked it up yet
        job_rows.mark_running(job)
        assert not job_rows.is_stalled(job)  # it just started
        job.heartbeat_at = utcnow() - dt.timedelta(seconds=31)
        assert job_rows.is_stalled(job)  # no progress saved and no heartbeat in Redis
        client = redis_connection.client()
        try:
            job_rows.beat(client, job.id, 30)  # what the work horse's Heartbeat thread does
            assert 0 < client.ttl(job_rows.alive_key(job.id)) <= 30
            assert not job_rows.is_stalled(job)  # a long step, but the worker is alive
        finally:
            client.delete(job_rows.alive_key(job.id))
        job_rows.mark_completed(job)
        assert not job_rows.is_stalled(job)


def test_resume_refuses_finished_and_still_running_imports(spring, runner, tmp_path):
    app = spring
    path = tmp_path / "small.csv"
    generate(50, path, seed=2)
    done = cli_json(
        runner,
        *("leads", "import", str(path), "--account", "acme", "--campaign", "Spring"),
        *("--pool", "Small", "--json"),
    )
    with app.app_context():
        finished = db.session.scalar(sa.select(Import.id).where(Import.pool_id == done["pool_id"]))
    result = runner.invoke(args=["leads", "resume", str(finished)])
    assert result.exit_code == 1 and "already finished" in result.output

    queued = enqueue_cli(runner, path, "Queued twice")
    with app.app_context():
        job = db.session.get(BackgroundJob, queued["job_id"])
        job_rows.mark_running(job)  # as a live worker would, with a fresh heartbeat
        db.session.commit()
    result = runner.invoke(args=["leads", "resume", str(queued["import_id"])])
    assert result.exit_code == 1 and "still running" in result.output
    result = runner.invoke(args=["leads", "resume", "999999"])
    assert result.exit_code == 1 and "There is no import 999999" in result.output


# ---------------------------------------------------------------------------------------
# Redis unavailable when the import is queued


def test_redis_down_when_queuing_loses_nothing_and_a_second_try_works(
    spring, runner, run_worker, app_environ, tmp_path
):
    app = spring
    path = tmp_path / "winter.csv"
    truth = generate(400, path, seed=13)
    # A port nothing listens on: the real refused connection of a Redis that is down.
    env = {**process_env(app_environ), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    args = [str(path), "--account", "acme", "--campaign", "Spring", "--pool", "Winter"]
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "leads", "import", *args, "--enqueue"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "not reachable" in result.stderr and "nothing was lost" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == ""

    with app.app_context():
        imp = db.session.scalar(sa.select(Import).where(Import.file_name == "winter.csv"))
        assert imp.status == "failed"
        assert "not reachable" in imp.error and "nothing was lost" in imp.error
        job = db.session.get(BackgroundJob, imp.job_id)
        assert job.status == "failed" and job.error == imp.error
        assert imp.mapping["Phone"] == "phone1"  # the prepared import is kept
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
        assert db.session.scalar(sa.select(LeadPool.id).where(LeadPool.name == "Winter")) is None
        import_id = imp.id

    # Redis is back: the same import goes to the workers and completes.
    resumed = cli_json(runner, "leads", "resume", str(import_id), "--enqueue", "--json")
    result = run_worker()
    assert result.returncode == 0, result.stdout
    with app.app_context():
        imp = db.session.get(Import, import_id)
        assert (imp.status, imp.error, imp.job_id) == ("completed", None, resumed["job_id"])
        assert imp.counts["imported"] == truth["unique_valid_phones"]
        pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == "Winter"))
        count = db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pool.id))
        assert count == truth["unique_valid_phones"]


def test_redis_down_when_the_user_presses_import(spring, run_worker, tmp_path):
    """The wizard's Import button with Redis down: the sentence, the import back on review
    with nothing written; pressed again once Redis is back, it runs."""
    app = spring
    path = tmp_path / "web.csv"
    truth = generate(300, path, seed=21)
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
            imp = import_read.create_import(account, admin, campaign, pool_name="Web")
            info = import_read.attach_file(imp, path, path.name)
            import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
            import_stage.stage(imp)
            import_analyse.analyse(imp)
            db.session.commit()
            import_id = imp.id
    client = app.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    review = f"/imports/{import_id}/review"
    token = csrf_from(client, review)

    state = app.extensions["leadapp_redis"]
    saved = state["client"]
    state["client"] = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        response = client.post(review, data={"csrf_token": token}, follow_redirects=True)
    finally:
        state["client"] = saved
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not reachable" in page and "nothing was lost" in page
    with app.app_context():
        imp = db.session.get(Import, import_id)
        assert (imp.status, imp.step) == ("draft", "review")
        assert db.session.get(BackgroundJob, imp.job_id).status == "failed"
        assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0

    response = client.post(review, data={"csrf_token": csrf_from(client, review)})
    assert response.status_code == 302 and response.location.endswith(f"/imports/{import_id}")
    result = run_worker()
    assert result.returncode == 0, result.stdout
    with app.app_context():
        imp = db.session.get(Import, import_id)
        assert imp.status == "completed"
        assert imp.counts["imported"] == truth["unique_valid_phones"]


# ---------------------------------------------------------------------------------------
# Redis restarted (losing everything) while an import runs


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own: it is stopped and started again mid-import."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed; this fault test restarts a real one")
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_restarted_mid_import_ends_honestly_with_the_same_leads(
    spring, runner, make_account, app_environ, own_redis, tmp_path
):
    """Redis stops and comes back empty while a worker writes an import's batches: the
    import's row does not stay "running" and no lead is written twice — it ends completed
    with the leads of an uninterrupted import, and `flask jobs requeue` finds nothing to
    hand over again; its page and progress partial answer 200 throughout and say so."""
    # Flask-Limiter keeps its storage on its one Limiter object, which the last app built
    # rebinds: login limits stay in the session's Redis, which outlives this one.
    environ = {
        **app_environ,
        "REDIS_URL": own_redis.url,
        "RATELIMIT_STORAGE_URI": spring.config["RATELIMIT_STORAGE_URI"],
    }
    app = create_app("testing", environ=environ)  # the same database, our own Redis
    app.config["JOB_STALL_SECONDS"] = 3
    own_runner = app.test_cli_runner()
    path = tmp_path / "restart.csv"
    truth = generate(24_000, path, seed=23)
    queued = enqueue_cli(own_runner, path, "Restart")
    import_id, job_id = queued["import_id"], queued["job_id"]
    client = app.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    pages = (f"/imports/{import_id}", f"/jobs/{job_id}/progress")

    env = {
        **process_env(environ),
        "IMPORT_BATCH_ROWS": "400",  # many batches: Redis goes away in the middle
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_STALL_SECONDS": "3",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while read(app, lambda: db.session.get(Import, import_id).rows_done) == 0:
            assert worker.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the worker wrote no batch in 90 s"
            time.sleep(0.02)
        own_redis.stop()
        with app.app_context():
            imp = db.session.get(Import, import_id)
            assert imp.status == "running" and imp.rows_done < truth["rows"], (
                "Redis went away after the import, not in the middle of it"
            )
        for url in pages:  # Redis down: the pages still answer
            assert client.get(url).status_code == 200, url
        time.sleep(1)
        own_redis.start()  # empty: the queues, RQ's job, the heartbeat key are gone

        def settled():
            job = db.session.get(BackgroundJob, job_id)
            return job.ended or job_rows.is_stalled(job)

        restarted_at = time.monotonic()
        while not read(app, settled):
            assert time.monotonic() - restarted_at < 60, (
                "the import still says running a minute after Redis came back:\n"
                + log_path.read_text()[-4000:]
            )
            time.sleep(0.2)
        # Redis lost nothing a worker needs: no queued job row to hand over again.
        assert cli_json(own_runner, "jobs", "requeue", "--json") == {
            "requeued": [],
            "emails_requeued": [],
        }
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=30)

    with app.app_context():
        imp = db.session.get(Import, import_id)
        job = db.session.get(BackgroundJob, job_id)
        ended = "stalled" if job_rows.is_stalled(job) else job.status
        # Redis is only RQ's hand-over and a fast path for progress: the work horse goes
        # on writing batches while it is away, and the import completes.
        log_tail = log_path.read_text()[-4000:]
        assert (ended, job.error, imp.error) == ("completed", None, None), log_tail
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-status="completed"' in response.get_data(as_text=True), url

    reference = import_into_fresh_account(runner, make_account, path)
    with app.app_context():
        imp = db.session.get(Import, import_id)
        assert imp.status == "completed", imp.error
        counts = import_report.public_counts(imp)
        assert without_pool(counts) == without_pool(reference)
        leads = pool_leads(counts["pool_id"])
        phones = [lead[1] for lead in leads]
        assert len(phones) == len(set(phones)) == truth["unique_valid_phones"]  # none twice
        assert leads == pool_leads(reference["pool_id"])
    page = client.get(pages[0]).get_data(as_text=True)
    assert f'data-testid="sum-imported">{truth["unique_valid_phones"]:,}<' in page
