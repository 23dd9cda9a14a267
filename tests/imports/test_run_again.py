"""Resume from the import's page (issue 13): a stalled, failed or lost import offers
Resume to the users who may import, the button queues what ``flask leads resume
--enqueue`` queues, and a real worker finishes the import with the right lead count; the
command itself no longer waits for a queued job that no RQ job will run."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from leadapp.domain.leadgen import generate
from leadapp.extensions import db
from leadapp.models import Account, BackgroundJob, Campaign, Import, Lead, User
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import jobs as job_rows
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import read as import_read
from tests.conftest import csrf_from, login

RESUME = 'data-testid="job-run-again"'


@pytest.fixture
def spring(committed, runner, make_account, make_user):
    """Account ``acme`` (committed for real, so workers see it), the campaign Spring and a
    supervisor; returns the app."""
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    result = runner.invoke(args=["campaigns", "create", "--account", "acme", "--name", "Spring"])
    assert result.exit_code == 0, result.output
    return committed


def started_import(app, tmp_path, state: str, rows: int = 300) -> tuple[int, int, dict]:
    """An import with its file and mapping, started once: its job row ``state`` is
    "stalled" (its worker was killed), "running" (alive), "failed", "lost" (queued, but
    RQ holds no job for it) or "completed". Returns (import id, job row id, truth)."""
    path = tmp_path / f"{state}.csv"
    truth = generate(rows, path, seed=11)
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
            imp = import_read.create_import(account, admin, campaign, pool_name=state)
            info = import_read.attach_file(imp, path, path.name)
            import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
            row = job_rows.create_job(account.id, "import", f"Import {path.name}", "imports")
            row.task, row.args = "leadapp.tasks.imports.run_import", [imp.id]
            imp.job_id, imp.step = row.id, "import"
            if state == "lost":
                imp.status = "queued"
            elif state == "failed":
                job_rows.mark_failed(row, "The database's disk is full, so the job stopped.")
                imp.status = "failed"
            elif state == "completed":
                job_rows.mark_completed(row)
                imp.status = "completed"
            else:
                job_rows.mark_running(row)
                imp.status = "running"
                if state == "stalled":
                    row.heartbeat_at = row.started_at = utcnow() - dt.timedelta(hours=1)
            db.session.commit()
            return imp.id, row.id, truth


def signed_in(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def press_resume(client, import_id):
    token = csrf_from(client, f"/imports/{import_id}")
    return client.post(f"/imports/{import_id}/run-again", data={"csrf_token": token})


@pytest.mark.parametrize("state", ["stalled", "failed", "lost"])
def test_a_stopped_import_offers_resume_to_who_may_import(spring, tmp_path, state):
    import_id, _row_id, _truth = started_import(spring, tmp_path, state)
    for email in ("admin@acme.test", "sup@acme.test"):  # both roles may import
        page = signed_in(spring, email).get(f"/imports/{import_id}").get_data(as_text=True)
        assert RESUME in page and ">Resume</button>" in page, email
        assert f'action="/imports/{import_id}/run-again"' in page
        assert 'hx-trigger="every 1s"' not in page  # it will not move on its own
    if state == "lost":
        assert job_rows.LOST_MESSAGE in page


@pytest.mark.parametrize("state", ["running", "completed"])
def test_a_running_or_finished_import_offers_no_resume_and_refuses_one(spring, tmp_path, state):
    import_id, row_id, _truth = started_import(spring, tmp_path, state)
    client = signed_in(spring, "admin@acme.test")
    assert RESUME not in client.get(f"/imports/{import_id}").get_data(as_text=True)
    refused = press_resume(client, import_id)
    assert refused.status_code == 302
    shown = client.get(refused.location).get_data(as_text=True)
    expected = "is still running" if state == "running" else "has already finished"
    assert expected in shown
    with spring.app_context():
        assert db.session.get(Import, import_id).job_id == row_id  # nothing queued


def test_resume_needs_csrf_and_the_account_s_own_import(spring, tmp_path, make_account):
    import_id, row_id, _truth = started_import(spring, tmp_path, "stalled")
    client = signed_in(spring, "admin@acme.test")
    assert client.post(f"/imports/{import_id}/run-again").status_code == 400
    make_account("other")
    other = signed_in(spring, "admin@other.test")
    token = csrf_from(other, "/imports")
    stranger = other.post(f"/imports/{import_id}/run-again", data={"csrf_token": token})
    assert stranger.status_code == 404
    with spring.app_context():
        assert db.session.get(Import, import_id).job_id == row_id


def test_resume_queues_the_import_and_a_worker_finishes_it(spring, tmp_path, run_worker):
    import_id, row_id, truth = started_import(spring, tmp_path, "stalled")
    client = signed_in(spring, "sup@acme.test")
    response = press_resume(client, import_id)
    assert response.status_code == 302 and response.location == f"/imports/{import_id}"
    with spring.app_context():
        imp = db.session.get(Import, import_id)
        new_id = imp.job_id
        assert new_id != row_id and imp.status == "queued"
        old = db.session.get(BackgroundJob, row_id)
        assert (old.status, old.error) == ("failed", job_rows.STALLED_MESSAGE)
        assert db.session.get(BackgroundJob, new_id).status == "queued"
    following = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert f'id="job-{new_id}"' in following and 'hx-trigger="every 1s"' in following
    assert RESUME not in following

    assert run_worker().returncode == 0
    with spring.app_context():
        imp = db.session.get(Import, import_id)
        assert imp.status == "completed", imp.error
        assert db.session.get(BackgroundJob, new_id).status == "completed"
        written = db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(Lead.import_id == import_id)
        )
        assert written == imp.counts["imported"] == truth["unique_valid_phones"]


def test_the_command_resumes_a_queued_import_no_rq_job_will_run(spring, tmp_path, runner):
    """`flask leads resume` used to answer "still queued; wait for it" for ever."""
    import_id, row_id, truth = started_import(spring, tmp_path, "lost")
    result = runner.invoke(args=["leads", "resume", str(import_id), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["imported"] == truth["unique_valid_phones"]
    with spring.app_context():
        old = db.session.get(BackgroundJob, row_id)
        assert (old.status, old.error) == ("failed", job_rows.LOST_MESSAGE)


def stalled_check(app, tmp_path) -> tuple[int, int]:
    """An import whose check-data job (staging and analysing the file) was left running by
    a killed worker. Returns (import id, job row id)."""
    path = tmp_path / "checked.csv"
    generate(200, path, seed=13)
    with app.app_context():
        account = db.session.scalar(sa.select(Account).where(Account.slug == "acme"))
        with account_scope(account.id):
            admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
            campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
            imp = import_read.create_import(account, admin, campaign, pool_name="Checked")
            info = import_read.attach_file(imp, path, path.name)
            import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
            imp.step = "duplicates"
            row = job_rows.create_job(account.id, "import_check", "Checking", "imports")
            row.task, row.args = "leadapp.tasks.imports.check_import", [imp.id]
            row.result = {"next_url": f"/imports/{imp.id}/check"}
            imp.job_id = row.id
            job_rows.mark_running(row)
            row.heartbeat_at = row.started_at = utcnow() - dt.timedelta(hours=1)
            db.session.commit()
            return imp.id, row.id


def test_a_stalled_check_can_be_run_again_from_its_page(spring, tmp_path, run_worker):
    import_id, row_id = stalled_check(spring, tmp_path)
    client = signed_in(spring, "sup@acme.test")
    page = client.get(f"/imports/{import_id}/check").get_data(as_text=True)
    assert 'data-status="stalled"' in page and ">Run the check again</button>" in page
    token = csrf_from(client, f"/imports/{import_id}/check")
    again = client.post(f"/imports/{import_id}/check-again", data={"csrf_token": token})
    assert again.status_code == 302 and again.location == f"/imports/{import_id}/check"
    waiting = client.get(again.location).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and RESUME not in waiting

    assert run_worker().returncode == 0
    with spring.app_context():
        row = db.session.get(BackgroundJob, row_id)
        assert row.status == "completed", row.error
        imp = db.session.get(Import, import_id)
        assert imp.step == "check" and imp.counts["rows"] == 200
    assert 'id="check-grid"' in client.get(f"/imports/{import_id}/check").get_data(as_text=True)
