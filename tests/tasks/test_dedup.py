"""Dedup jobs in real worker processes with a real SMTP server: the test run and its email,
a scheduled run started by RQ's scheduler exactly once, and a failing run that moves
nothing and says why by email."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, DedupMove, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.tasks import dispatch
from leadapp.tasks.dedup import dedup_test_run, run_dedup, schedule_run
from tests.conftest import ROOT, process_env

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
        job = DedupJob(name="Nightly clean-up", emails=["ops@acme.test", "boss@acme.test"])
        db.session.add(job)
        db.session.commit()
        return account_id, job.id


def in_account(app, account_id, fn):
    with app.app_context(), account_scope(account_id):
        return fn()


def emails_since(smtp_server, before, subject_start):
    return [
        m for m in smtp_server.handler.messages[before:]
        if str(m["message"]["Subject"]).startswith(subject_start)
    ]  # fmt: skip


def test_a_test_run_stores_its_figures_moves_nothing_and_emails_the_addresses(
    committed, dedup_job, run_worker, smtp_server
):
    account_id, job_id = dedup_job
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
    sent = emails_since(smtp_server, before, "Dedup test run: Nightly clean-up")
    assert len(sent) == 1
    assert sorted(sent[0]["rcpt"]) == ["boss@acme.test", "ops@acme.test"]
    assert (
        "Duplicate lead records:          6"
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
    account_id, job_id = dedup_job
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
    assert len(emails_since(smtp_server, before, "Dedup completed: Nightly clean-up")) == 1


def test_a_run_that_cannot_move_fails_moves_nothing_and_says_why(
    committed, app_environ, dedup_job, run_worker, smtp_server
):
    account_id, job_id = dedup_job
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
    assert len(emails_since(smtp_server, before, "Dedup failed: Nightly clean-up")) == 1
