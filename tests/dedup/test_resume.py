"""Resume from the dedup job's page (issue 13): a run whose worker was lost offers Resume
to admins only; the button hands the run to a new job row as ``flask dedup resume
--enqueue`` does, and a real worker moves each duplicate once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.tasks import dispatch
from leadapp.tasks.dedup import run_dedup
from tests.conftest import csrf_from, login

PHONES = ["+14155550201", "+14155550202", "+14155550203"]
RESUME = 'data-testid="job-run-again"'


@pytest.fixture
def acme(committed, make_account, make_user):
    """Account acme (committed, so workers see it) with 3 phones × 3 copies = 6 duplicates,
    a supervisor, and a dedup job."""
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    with committed.app_context(), account_scope(account_id):
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES * 3):
            db.session.add(Lead(pool_id=pool.id, phone1=phone, created_at=base + dt.timedelta(i)))
        job = DedupJob(name="Nightly")
        db.session.add(job)
        db.session.commit()
        return committed, account_id, job.id


def left_running(app, account_id, job_id, alive: bool = False) -> int:
    """What a worker killed before its first batch leaves: the run "running", its job row
    running without news for an hour (stalled) — or, ``alive``, just started."""
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        job.status = "running"
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        job_rows.mark_running(row)
        if not alive:
            row.heartbeat_at = row.started_at = utcnow() - dt.timedelta(hours=1)
        job.job_id = row.id
        db.session.commit()
        return row.id


def signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def press_resume(client, job_id):
    token = csrf_from(client, f"/dedup/{job_id}")
    return client.post(f"/dedup/{job_id}/resume", data={"csrf_token": token})


def test_a_stalled_run_offers_resume_to_admins_only(acme):
    app, account_id, job_id = acme
    row_id = left_running(app, account_id, job_id)
    admin_page = signed_in(app, "admin@acme.test").get(f"/dedup/{job_id}").get_data(as_text=True)
    assert 'data-status="stalled"' in admin_page
    assert RESUME in admin_page and f'action="/dedup/{job_id}/resume"' in admin_page
    supervisor = signed_in(app, "sup@acme.test")
    page = supervisor.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert 'data-status="stalled"' in page and RESUME not in page
    assert press_resume(supervisor, job_id).status_code == 403
    with app.app_context(), account_scope(account_id):
        assert db.session.get(DedupJob, job_id).job_id == row_id  # nothing handed over


def test_a_run_still_alive_offers_no_resume_and_refuses_one(acme):
    app, account_id, job_id = acme
    row_id = left_running(app, account_id, job_id, alive=True)
    client = signed_in(app, "admin@acme.test")
    assert RESUME not in client.get(f"/dedup/{job_id}").get_data(as_text=True)
    refused = press_resume(client, job_id)
    assert refused.status_code == 302
    assert "is still running" in client.get(refused.location).get_data(as_text=True)
    with app.app_context(), account_scope(account_id):
        assert db.session.get(DedupJob, job_id).job_id == row_id
        assert db.session.get(BackgroundJob, row_id).status == "running"


def test_resume_needs_csrf_and_the_account_s_own_job(acme, make_account):
    app, account_id, job_id = acme
    left_running(app, account_id, job_id)
    assert signed_in(app, "admin@acme.test").post(f"/dedup/{job_id}/resume").status_code == 400
    make_account("other")
    other = signed_in(app, "admin@other.test")
    token = csrf_from(other, "/dedup")
    assert other.post(f"/dedup/{job_id}/resume", data={"csrf_token": token}).status_code == 404


def test_resume_hands_the_run_over_and_a_worker_finishes_it(acme, run_worker):
    app, account_id, job_id = acme
    row_id = left_running(app, account_id, job_id)
    client = signed_in(app, "admin@acme.test")
    response = press_resume(client, job_id)
    assert response.status_code == 302 and response.location == f"/dedup/{job_id}"
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        new_id = job.job_id
        assert new_id != row_id and db.session.get(BackgroundJob, new_id).status == "queued"
        old = db.session.get(BackgroundJob, row_id)
        assert (old.status, old.error) == ("failed", job_rows.STALLED_MESSAGE)
    following = client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'id="job-{new_id}"' in following and RESUME not in following
    assert press_resume(client, job_id).status_code == 302  # twice: refused, not run twice

    assert run_worker().returncode == 0
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed" and job.results["moved"] == 6
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        left = db.session.scalars(sa.select(Lead.phone1).where(Lead.pool_id != inactive.id))
        assert sorted(left) == PHONES  # one lead per number, each duplicate moved once


def refuse_moves(app, on: bool) -> None:
    """A real database error in the middle of a run: a trigger that refuses to move leads
    to another pool."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_moves")
            if on:
                conn.exec_driver_sql(
                    "CREATE TRIGGER refuse_moves BEFORE UPDATE OF pool_id ON leads "
                    "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
                )
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_moves ON leads")
            if on:
                conn.exec_driver_sql(
                    "CREATE OR REPLACE FUNCTION refuse_moves() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk trouble'; END $$ LANGUAGE plpgsql"
                )
                conn.exec_driver_sql(
                    "CREATE TRIGGER refuse_moves BEFORE UPDATE OF pool_id ON leads "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_moves()"
                )


def test_a_failed_run_can_be_run_again_by_an_admin(acme, run_worker):
    """The run failed (what it moved was put back): Run again, for admins, runs it anew
    with the settings acknowledged before, and a worker moves each duplicate once."""
    app, account_id, job_id = acme
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        job.status = "scheduled"
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        job.job_id = row.id
        db.session.commit()
        dispatch(row, run_dedup, job.id)
        row_id = row.id
    refuse_moves(app, True)
    try:
        assert run_worker().returncode == 0
    finally:
        refuse_moves(app, False)
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "failed" and "disk trouble" in job.error
        assert db.session.get(BackgroundJob, row_id).status == "failed"

    supervisor = signed_in(app, "sup@acme.test")
    assert RESUME not in supervisor.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert press_resume(supervisor, job_id).status_code == 403
    client = signed_in(app, "admin@acme.test")
    page = client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert RESUME in page and ">Run again</button>" in page
    assert press_resume(client, job_id).status_code == 302
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "running" and job.job_id != row_id and job.error is None

    assert run_worker().returncode == 0
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed" and job.results["moved"] == 6
        inactive = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        left = db.session.scalars(sa.select(Lead.phone1).where(Lead.pool_id != inactive.id))
        assert sorted(left) == PHONES
    assert RESUME not in client.get(f"/dedup/{job_id}").get_data(as_text=True)


def test_a_scheduled_run_whose_job_failed_before_it_started_can_be_run_again(acme, run_worker):
    """The run's job was refused at its start (e.g. a full database disk): the job is still
    scheduled, nothing ran; Run again hands it to a worker, which runs it once."""
    app, account_id, job_id = acme
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        job.status = "scheduled"
        job.scheduled_for = utcnow() - dt.timedelta(minutes=5)
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run", "dedup")
        row.task, row.args = "leadapp.tasks.dedup.run_dedup", [job.id]
        job_rows.mark_failed(row, "The database's disk is full, so the job stopped.")
        job.job_id = row.id
        db.session.commit()
        row_id = row.id
    client = signed_in(app, "admin@acme.test")
    page = client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert ">Run again</button>" in page and "disk is full" in page
    assert RESUME not in signed_in(app, "sup@acme.test").get(f"/dedup/{job_id}").get_data(True)
    assert press_resume(client, job_id).status_code == 302
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "scheduled" and job.job_id != row_id
    assert run_worker().returncode == 0
    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        assert job.status == "completed" and job.results["moved"] == 6
