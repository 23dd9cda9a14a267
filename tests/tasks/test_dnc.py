"""A do-not-call list uploaded in the browser is added by a real worker process: the page
shows the job, then its result; Redis down at upload keeps nothing and says so."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from leadapp.extensions import db, redis_connection
from leadapp.models import Account, BackgroundJob, DoNotCallNumber, Lead, LeadPool
from leadapp.security import account_scope
from tests.conftest import csrf_from, free_port, login
from tests.pools.helpers import pool, recounted, stored_counters

HX = {"HX-Request": "true"}


@pytest.fixture
def acme(committed, make_account):
    """Account ``acme`` (committed for real, so workers see it) with one lead per phone
    of 415 555 0100..0104 in the pool Spring."""
    account_id = make_account("acme")
    pool(committed, "Spring", leads=[{"phone1": f"+1415555010{i}"} for i in range(5)])
    client = committed.test_client()
    assert login(client, "admin@acme.test").status_code == 302
    return committed, client, account_id


def upload(client, data: bytes):
    token = csrf_from(client, "/leads/do-not-call")
    return client.post(
        "/leads/do-not-call/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), "dnc.csv"), "note": "list"},
        content_type="multipart/form-data",
    )


def saved_uploads(app) -> set[Path]:
    folder = Path(app.config["STAGING_DIR"]) / "dnc-uploads"
    return set(folder.iterdir()) if folder.exists() else set()


def test_an_uploaded_list_is_added_by_a_worker_and_the_page_shows_its_result(acme, run_worker):
    app, client, account_id = acme
    numbers = b"Phone,Name\n415 555 0100,a\n(415) 555-0101,b\n212 555 0199,c\nnope,d\n"
    response = upload(client, numbers)
    assert response.status_code == 302
    page = response.location
    waiting = client.get(page).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and "every 1s" in waiting
    with app.app_context():
        job = db.session.scalar(sa.select(BackgroundJob).execution_options(all_accounts=True))
        assert (job.kind, job.status, job.account_id) == ("dnc_upload", "queued", account_id)
        saved = Path(job.args[0])
        assert saved.exists() and saved.read_bytes() == numbers
        assert db.session.scalar(sa.select(sa.func.count(DoNotCallNumber.id))) == 0

    finished = run_worker()
    assert finished.returncode == 0, finished.stdout

    with app.app_context(), account_scope(account_id):
        job = db.session.get(BackgroundJob, job.id)
        assert job.status == "completed", job.error
        assert job.message == (
            "3 number(s) added, 0 already listed, 1 invalid; 2 lead(s) marked do-not-call."
        )
        listed = set(db.session.scalars(sa.select(DoNotCallNumber.phone)))
        assert listed == {"+14155550100", "+14155550101", "+12125550199"}
        marked = set(db.session.scalars(sa.select(Lead.phone1).where(Lead.do_not_call)))
        assert marked == {"+14155550100", "+14155550101"}
        spring = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == "Spring"))
        assert stored_counters(spring) == recounted([spring.id])[spring.id]
        assert spring.ready_count == 3
    assert not saved.exists()  # read, then gone
    # The widget, polled, sends the browser back to the page, which shows the result.
    polled = client.get(f"/jobs/{job.id}/progress", headers=HX)
    assert polled.headers["HX-Redirect"] == page
    done = client.get(page).get_data(as_text=True)
    assert 'data-testid="job-progress"' not in done
    for testid, value in (("added", 3), ("already", 0), ("invalid", 1), ("marked", 2)):
        assert f'data-testid="dnc-{testid}">{value}<' in done
    assert "Line 5: “nope”" in done


def test_redis_down_at_upload_keeps_nothing_and_says_so(acme, run_worker):
    app, client, account_id = acme
    before = saved_uploads(app)
    state = app.extensions["leadapp_redis"]
    saved_client = state["client"]
    state["client"] = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        response = upload(client, b"phone\n415 555 0100\n")
    finally:
        state["client"] = saved_client
    text = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "not reachable" in text and "nothing was lost" in text
    assert saved_uploads(app) == before
    with app.app_context(), account_scope(account_id):
        assert db.session.scalar(sa.select(BackgroundJob.status)) == "failed"
        assert db.session.scalar(sa.select(sa.func.count(DoNotCallNumber.id))) == 0
        assert db.session.scalar(sa.select(Account.id)) == account_id

    again = upload(client, b"phone\n415 555 0100\n")  # Redis back: the same upload works
    assert again.status_code == 302
    assert run_worker().returncode == 0
    with app.app_context(), account_scope(account_id):
        assert list(db.session.scalars(sa.select(DoNotCallNumber.phone))) == ["+14155550100"]


# ---------------------------------------------------------------------------------------
# A failed upload keeps its file until a run has committed what it read: Run again.


def refuse_dnc_inserts(app, on: bool) -> None:
    """A real database error after the file was read: a trigger that refuses every new
    do-not-call number (as a full disk or a lost connection would, at the insert)."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS dnc_refuse")
            if on:
                conn.exec_driver_sql(
                    "CREATE TRIGGER dnc_refuse BEFORE INSERT ON do_not_call_numbers "
                    "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
                )
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS dnc_refuse ON do_not_call_numbers")
            if on:
                conn.exec_driver_sql(
                    "CREATE OR REPLACE FUNCTION dnc_refuse() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk trouble'; END $$ LANGUAGE plpgsql"
                )
                conn.exec_driver_sql(
                    "CREATE TRIGGER dnc_refuse BEFORE INSERT ON do_not_call_numbers "
                    "FOR EACH ROW EXECUTE FUNCTION dnc_refuse()"
                )


RUN_AGAIN = 'data-testid="job-run-again"'


def committed_client(app, email):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_a_failed_upload_keeps_its_file_and_run_again_adds_the_numbers(acme, run_worker, make_user):
    app, client, account_id = acme
    make_user(account_id, "sup@acme.test")
    numbers = b"phone\n415 555 0100\n212 555 0199\n"
    page = upload(client, numbers).location
    with app.app_context():
        job = db.session.scalar(sa.select(BackgroundJob).execution_options(all_accounts=True))
        job_id, saved = job.id, Path(job.args[0])
    refuse_dnc_inserts(app, True)
    try:
        assert run_worker().returncode == 0
    finally:
        refuse_dnc_inserts(app, False)
    with app.app_context(), account_scope(account_id):
        job = db.session.get(BackgroundJob, job_id)
        assert job.status == "failed" and "disk trouble" in job.error
        assert db.session.scalar(sa.select(sa.func.count(DoNotCallNumber.id))) == 0
    assert saved.read_bytes() == numbers  # kept: the upload can be run again

    shown = client.get(page).get_data(as_text=True)
    assert RUN_AGAIN in shown and "disk trouble" in shown
    supervisor = committed_client(app, "sup@acme.test")  # anyone who may upload may run it
    assert RUN_AGAIN in supervisor.get(page).get_data(as_text=True)
    token = csrf_from(client, page)
    again = client.post(
        f"/leads/do-not-call/uploads/{job_id}/run-again", data={"csrf_token": token}
    )
    assert again.status_code == 302 and again.location == page
    waiting = client.get(page).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and RUN_AGAIN not in waiting
    twice = client.post(
        f"/leads/do-not-call/uploads/{job_id}/run-again", data={"csrf_token": token}
    )
    assert twice.status_code == 302  # refused with a sentence: it is queued already

    assert run_worker().returncode == 0
    with app.app_context(), account_scope(account_id):
        job = db.session.get(BackgroundJob, job_id)
        assert job.status == "completed", job.error
        assert set(db.session.scalars(sa.select(DoNotCallNumber.phone))) == {
            "+14155550100",
            "+12125550199",
        }
    assert not saved.exists()  # committed, then deleted
    done = client.get(page).get_data(as_text=True)
    assert 'data-testid="dnc-added">2<' in done and RUN_AGAIN not in done


def test_run_again_needs_csrf_and_the_account_s_own_upload(acme, make_account, make_user):
    app, client, account_id = acme
    page = upload(client, b"phone\n415 555 0100\n").location
    with app.app_context():
        job_id = db.session.scalar(sa.select(BackgroundJob.id).execution_options(all_accounts=True))
    assert client.post(f"/leads/do-not-call/uploads/{job_id}/run-again").status_code == 400
    # Queued and alive: nothing to run again.
    token = csrf_from(client, page)
    refused = client.post(
        f"/leads/do-not-call/uploads/{job_id}/run-again",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "is still queued" in refused.get_data(as_text=True)
    make_account("other")
    other = app.test_client()
    assert login(other, "admin@other.test").status_code == 302
    token = csrf_from(other, "/leads/do-not-call")
    stranger = other.post(
        f"/leads/do-not-call/uploads/{job_id}/run-again", data={"csrf_token": token}
    )
    assert stranger.status_code == 404
    with app.app_context():
        redis_connection.queue("default").empty()


def test_a_failed_upload_can_be_discarded_and_its_file_goes(acme, run_worker):
    app, client, account_id = acme
    page = upload(client, b"phone\n415 555 0100\n").location
    with app.app_context():
        job = db.session.scalar(sa.select(BackgroundJob).execution_options(all_accounts=True))
        job_id, saved = job.id, Path(job.args[0])
    refuse_dnc_inserts(app, True)
    try:
        assert run_worker().returncode == 0
    finally:
        refuse_dnc_inserts(app, False)
    assert 'data-testid="job-discard"' in client.get(page).get_data(as_text=True)
    token = csrf_from(client, page)
    discarded = client.post(
        f"/leads/do-not-call/uploads/{job_id}/discard", data={"csrf_token": token}
    )
    assert discarded.status_code == 302 and discarded.location == page
    assert not saved.exists()
    shown = client.get(page).get_data(as_text=True)
    assert "Discarded: nothing of this upload was added" in shown
    assert RUN_AGAIN not in shown and 'data-testid="job-discard"' not in shown
    refused = client.post(
        f"/leads/do-not-call/uploads/{job_id}/run-again",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "no longer kept on the server" in refused.get_data(as_text=True)
    with app.app_context(), account_scope(account_id):
        assert db.session.get(BackgroundJob, job_id).status == "failed"
        assert db.session.scalar(sa.select(sa.func.count(DoNotCallNumber.id))) == 0
