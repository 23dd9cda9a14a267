"""The Lead Deduplicator's pages: roles and accounts, the schedule page's rules (unique name,
locking after a test run, scheduling refusals in the error modal), the test run through a
real worker, the report and its formula-safe CSV, cancel and undo."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from leadapp.extensions import db, redis_connection
from leadapp.models import Account, BackgroundJob, DedupJob, Lead, LeadPool, PoolAssignment
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services.accounts import create_campaign
from tests.conftest import csrf_from, login

PHONES = ["+14155550201", "+14155550202", "+14155550203"]
ZONE = ZoneInfo("America/Los_Angeles")  # the account's default zone


def account_id_of(app, slug="acme") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Account.id).where(Account.slug == slug))


def in_account(app, account_id, fn):
    with app.app_context(), account_scope(account_id):
        result = fn()
        db.session.commit()
        return result


def seed_leads(app, account_id, names=None) -> int:
    """Pool "Spring" (in campaign "Sales") with 3 phones × 3 copies: 9 leads, 6 duplicates."""

    def make():
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        campaign = create_campaign(db.session.get(Account, account_id), "Sales")
        db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES * 3):
            first = (names or {}).get(i, f"Lead{i}")
            db.session.add(
                Lead(
                    pool_id=pool.id,
                    phone1=phone,
                    first_name=first,
                    created_at=base + dt.timedelta(days=i),
                )
            )
        db.session.flush()
        return pool.id

    return in_account(app, account_id, make)


def make_job(app, account_id, name="Nightly", tested=False, **fields) -> int:
    def make():
        job = DedupJob(name=name, **fields)
        db.session.add(job)
        db.session.flush()
        if tested:
            dedup_service.test_run(job)
            job.status = "tested"
        return job.id

    return in_account(app, account_id, make)


def get_job(app, account_id, job_id) -> DedupJob:
    def load():
        job = db.session.get(DedupJob, job_id)
        db.session.expunge(job)
        return job

    return in_account(app, account_id, load)


def modal_text(response) -> str:
    match = re.search(r"<div hidden data-dedup-error[^>]*>(.*?)</div>", response.get_data(True))
    assert match, "no error for the modal on the page"
    return html.unescape(match.group(1)).strip()


def tomorrow_local() -> dt.date:
    return dt.datetime.now(ZONE).date() + dt.timedelta(days=1)


def post(client, path, data, **kwargs):
    token = csrf_from(client, "/dedup")
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def acme(app, admin_client):
    return account_id_of(app)


@pytest.fixture
def supervisor_client(app, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test", role="supervisor")
    client = app.test_client()
    assert login(client, "sup@acme.test").status_code == 302
    return client, account_id


# --- the job table ---------------------------------------------------------------------------


def test_job_table_shows_status_and_completion_in_the_account_zone_with_search_and_pages(
    app, admin_client, acme
):
    for i in range(27):
        make_job(app, acme, name=f"Clean-up {i:02d}", description=f"Job number {i}")
    make_job(
        app,
        acme,
        name="Done job",
        status="completed",
        completed_at=dt.datetime(2026, 1, 15, 10, 0),
    )
    page1 = admin_client.get("/dedup").get_data(as_text=True)
    assert page1.count('data-testid="dedup-row-') == 25
    assert "28 jobs · page 1 of 2" in page1
    assert "Done job" in page1
    assert "2026-01-15 02:00 PST" in page1  # 10:00 UTC in Los Angeles, zone shown
    assert "Not Scheduled" in page1 and "dedup-status-completed" in page1
    page2 = admin_client.get("/dedup?page=2").get_data(as_text=True)
    assert page2.count('data-testid="dedup-row-') == 3

    found = admin_client.get("/dedup?q=done", headers={"HX-Request": "true"})
    body = found.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="dedup-table"')  # the partial alone
    assert body.count('data-testid="dedup-row-') == 1 and "Done job" in body
    assert ">Report<" in body and ">Undo<" in body


# --- roles and accounts ----------------------------------------------------------------------


def test_a_supervisor_sees_jobs_read_only_and_every_change_is_refused(app, supervisor_client):
    client, account_id = supervisor_client
    seed_leads(app, account_id)
    job_id = make_job(app, account_id, tested=True)
    assert client.get("/dedup").status_code == 200
    page = client.get(f"/dedup/{job_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Apply Changes" not in text and "Start test run" not in text
    assert 'name="name"' not in text and "Test run results" in text
    assert client.get("/dedup/new").status_code == 403
    make_job(app, account_id, name="Finished", status="completed")
    table = client.get("/dedup").get_data(as_text=True)
    assert ">Report<" in table and ">View<" in table
    assert ">Undo<" not in table and ">Edit<" not in table and "New dedup job" not in table
    token = csrf_from(client, "/dedup")
    for path in (
        "/dedup/new",
        f"/dedup/{job_id}",
        f"/dedup/{job_id}/test-run",
        f"/dedup/{job_id}/cancel",
        f"/dedup/{job_id}/undo",
    ):
        response = client.post(path, data={"csrf_token": token, "name": "Changed"})
        assert response.status_code == 403, path
    assert get_job(app, account_id, job_id).name == "Nightly"


def test_another_accounts_job_is_not_found(app, admin_client, make_account):
    other = make_account("other")
    job_id = make_job(app, other, name="Theirs", status="completed")
    for path in (f"/dedup/{job_id}", f"/dedup/{job_id}/report", f"/dedup/{job_id}/report.csv"):
        assert admin_client.get(path).status_code == 404, path
    for path in (f"/dedup/{job_id}", f"/dedup/{job_id}/test-run", f"/dedup/{job_id}/undo"):
        assert post(admin_client, path, {"name": "Mine now"}).status_code == 404, path
    assert "Theirs" not in admin_client.get("/dedup").get_data(as_text=True)


# --- general and settings --------------------------------------------------------------------


def test_the_schedule_page_lists_scope_options_with_lead_counts(app, admin_client, acme):
    seed_leads(app, acme)
    text = admin_client.get("/dedup/new").get_data(as_text=True)
    assert "The whole account (9 leads)" in text
    assert "Spring (9 leads)" in text  # pool
    assert "Sales (9 leads)" in text  # campaign, through its pool assignment
    assert "sales (9 leads)" in text  # purpose
    assert 'data-testid="target-pool">Inactive<' in text


def test_options_over_the_lead_limit_are_disabled_and_refused(app, admin_client, acme, monkeypatch):
    pool_id = seed_leads(app, acme)
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 5)
    text = admin_client.get("/dedup/new").get_data(as_text=True)
    assert re.search(rf'<option value="{pool_id}" disabled class="over-limit"', text)
    response = post(
        admin_client,
        "/dedup/new",
        {"name": "Too big", "scope": "list", "pools": str(pool_id), "match_keys": "phone1",
         "keep_rule": "latest-created"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Spring holds more than 5 leads and cannot be chosen." in response.get_data(True)
    assert in_account(app, acme, lambda: db.session.scalar(sa.select(DedupJob.id))) is None


def test_create_a_job_and_its_name_must_be_unique_in_the_account(app, admin_client, acme):
    pool_id = seed_leads(app, acme)
    data = {
        "name": "Spring clean",
        "description": "Weekly",
        "scope": "list",
        "pools": str(pool_id),
        "match_keys": ["phone1", "email"],
        "keep_rule": "latest-called",
        "retain_inbound": "y",
        "emails": "ops@acme.test, boss@acme.test",
    }
    response = post(admin_client, "/dedup/new", data)
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = get_job(app, acme, job_id)
    assert (job.name, job.scope, job.targets, job.match_keys) == (
        "Spring clean",
        "list",
        [pool_id],
        ["phone1", "email"],
    )
    assert job.keep_rule == "latest-called" and job.retain_inbound is True
    assert job.emails == ["ops@acme.test", "boss@acme.test"] and job.status == "draft"
    assert job.scheduled_for is None

    again = post(admin_client, "/dedup/new", {**data, "name": "  SPRING clean "})
    assert again.status_code == 422
    assert "A dedup job named &#39;SPRING clean&#39; already exists; choose another name." in (
        again.get_data(as_text=True)
    )
    count = in_account(app, acme, lambda: db.session.scalar(sa.select(sa.func.count(DedupJob.id))))
    assert count == 1


def test_campaign_scope_is_saved_and_shown_read_only_after_the_test_run(app, admin_client, acme):
    seed_leads(app, acme)
    campaign_id = in_account(
        app, acme, lambda: db.session.scalar(sa.select(PoolAssignment.campaign_id))
    )
    response = post(
        admin_client,
        "/dedup/new",
        {"name": "By campaign", "scope": "campaign", "campaigns": str(campaign_id),
         "match_keys": "phone1", "keep_rule": "inbound"},
    )  # fmt: skip
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = get_job(app, acme, job_id)
    assert (job.scope, job.targets, job.keep_rule) == ("campaign", [campaign_id], "inbound")
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert re.search(rf'<option value="{campaign_id}" selected>Sales \(9 leads\)', page)

    def test_it():
        dedup_service.test_run(db.session.get(DedupJob, job_id))

    in_account(app, acme, test_it)
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert "Campaign(s): Sales" in page and "Inbound lead source" in page
    assert "<select" not in page


def test_bad_settings_and_emails_are_refused_with_a_sentence(app, admin_client, acme):
    response = post(
        admin_client,
        "/dedup/new",
        {"name": "Broken", "scope": "campaign", "match_keys": "phone1",
         "keep_rule": "latest-created", "emails": "ops@acme.test; not-an-address"},
    )  # fmt: skip
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "not-an-address is not an email address." in text
    response = post(admin_client, "/dedup/new", {"name": "Broken", "emails": "x\ny@z.test\nw"})
    assert "x, w are not email addresses." in response.get_data(as_text=True)
    response = post(
        admin_client,
        "/dedup/new",
        {"name": "Broken", "scope": "account", "match_keys": ["phones", "email"],
         "match_mode": "all", "keep_rule": "latest-created"},
    )  # fmt: skip
    assert "Any phone cannot be combined with other keys when all of them" in response.get_data(
        True
    )


def test_several_match_keys_any_of_or_all_of_and_a_custom_field(app, admin_client, acme):
    from leadapp.models import FieldDefinition

    with app.app_context(), account_scope(acme):
        db.session.add(
            FieldDefinition(account_id=acme, key="policy", label="Policy no", position=99)
        )
        db.session.commit()
    page = admin_client.get("/dedup/new").get_data(as_text=True)
    assert 'value="custom:policy"' in page and 'name="match_mode"' in page
    response = post(
        admin_client,
        "/dedup/new",
        {"name": "Either", "scope": "account", "match_keys": ["custom:policy", "email"],
         "match_mode": "any", "keep_rule": "latest-created"},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context(), account_scope(acme):
        job = db.session.scalar(sa.select(DedupJob).where(DedupJob.name == "Either"))
        assert (job.match_keys, job.match_mode) == (["custom:policy", "email"], "any")
        job.status = "tested"  # locked: the settings are shown in words
        db.session.commit()
    shown = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "A lead is a duplicate when any of: Policy no, Email" in shown


def test_general_and_settings_lock_after_a_test_run_and_the_server_refuses_changes(
    app, admin_client, acme
):
    seed_leads(app, acme)
    job_id = make_job(app, acme, name="Locked job", tested=True)
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert 'data-testid="locked"' in page and 'name="name"' not in page
    assert 'name="match_keys"' not in page and 'name="run_date"' in page  # scheduling stays

    response = post(admin_client, f"/dedup/{job_id}", {"name": "Renamed", "keep_rule": "inbound"})
    assert response.status_code == 422
    assert modal_text(response) == (
        "General and Settings are locked after a test run; create a new job to change them."
    )
    job = get_job(app, acme, job_id)
    assert (job.name, job.keep_rule) == ("Locked job", "latest-created")

    # Scheduling fields alone are accepted: the emails are saved.
    ok = post(admin_client, f"/dedup/{job_id}", {"emails": "ops@acme.test"})
    assert ok.status_code == 302
    assert get_job(app, acme, job_id).emails == ["ops@acme.test"]


# --- scheduling ------------------------------------------------------------------------------


def schedule_data(day: dt.date, ack=True, emails="ops@acme.test") -> dict:
    data = {"run_date": day.isoformat(), "run_time": "02:00", "emails": emails}
    return {**data, "acknowledge": "y"} if ack else data


def test_scheduling_refusals_open_the_error_modal(app, admin_client, acme):
    seed_leads(app, acme)
    untested = make_job(app, acme, name="Untested")
    tested = make_job(app, acme, name="Tested", tested=True)

    settings = {"name": "Untested", "scope": "account", "match_keys": "phone1",
                "keep_rule": "latest-created"}  # fmt: skip
    response = post(
        admin_client, f"/dedup/{untested}", {**settings, **schedule_data(tomorrow_local())}
    )
    assert response.status_code == 422
    assert modal_text(response) == (
        "Start a test run and look at its results before scheduling the job."
    )

    response = post(admin_client, f"/dedup/{tested}", schedule_data(tomorrow_local(), ack=False))
    assert response.status_code == 422
    assert modal_text(response).startswith("Tick the acknowledgement that the numbers will change")
    assert 'value="ops@acme.test"' in response.get_data(True) or "ops@acme.test" in (
        response.get_data(True)
    )  # what was typed stays

    far = dt.datetime.now(ZONE).date() + dt.timedelta(days=9)
    response = post(admin_client, f"/dedup/{tested}", schedule_data(far))
    last = (far - dt.timedelta(days=1)).isoformat()
    assert modal_text(response) == (
        f"A job can be scheduled up to {last} (8 days ahead, in the account's time zone)."
    )

    response = post(admin_client, f"/dedup/{tested}", schedule_data(tomorrow_local(), emails=""))
    assert modal_text(response) == "Give at least one email address for the confirmations."
    assert get_job(app, acme, tested).status == "tested"

    # Another job of the account is scheduled: the modal names it.
    make_job(
        app,
        acme,
        name="Already on",
        status="scheduled",
        test_results={"total": 1, "duplicates": 0, "after": 1},
        scheduled_for=dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1),
    )
    response = post(admin_client, f"/dedup/{tested}", schedule_data(tomorrow_local()))
    assert response.status_code == 422
    assert modal_text(response) == (
        "The job 'Already on' is already scheduled; unschedule it first "
        "(one scheduled job per account)."
    )
    assert get_job(app, acme, tested).scheduled_for is None


def test_schedule_at_the_account_time_then_remove_the_date_to_unschedule(app, admin_client, acme):
    seed_leads(app, acme)
    job_id = make_job(app, acme, name="To schedule", tested=True)
    day = tomorrow_local()
    response = post(
        admin_client, f"/dedup/{job_id}", schedule_data(day, emails="a@acme.test\nb@acme.test")
    )
    assert response.status_code == 302
    job = get_job(app, acme, job_id)
    local_two = dt.datetime.combine(day, dt.time(2, 0), tzinfo=ZONE)
    assert job.status == "scheduled"
    assert job.scheduled_for == local_two.astimezone(dt.UTC).replace(tzinfo=None)
    assert job.emails == ["a@acme.test", "b@acme.test"] and job.acknowledged_at is not None
    row_id = job.job_id

    def row_state():
        row = db.session.get(BackgroundJob, row_id)
        return row.kind, row.status, row.error, row.rq_id

    kind, status, _, rq_id = in_account(app, acme, row_state)
    assert (kind, status) == ("dedup_run", "queued")

    def scheduled_ids():
        with app.app_context():
            return redis_connection.queue("dedup").scheduled_job_registry.get_job_ids()

    assert rq_id in scheduled_ids()
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'value="{day.isoformat()}"' in page and 'value="02:00"' in page
    assert "Scheduled" in page

    response = post(admin_client, f"/dedup/{job_id}", {"run_date": "", "emails": "a@acme.test"})
    assert response.status_code == 302
    job = get_job(app, acme, job_id)
    assert (job.status, job.scheduled_for) == ("tested", None)
    assert in_account(app, acme, row_state)[1:3] == ("failed", "Unscheduled.")
    assert rq_id not in scheduled_ids()


def test_cancel_a_scheduled_job(app, admin_client, acme):
    job_id = make_job(
        app,
        acme,
        name="Cancel me",
        status="scheduled",
        test_results={"total": 1, "duplicates": 0, "after": 1},
        scheduled_for=dt.datetime(2030, 1, 1),
    )
    response = post(admin_client, f"/dedup/{job_id}/cancel", {})
    assert response.status_code == 302
    job = get_job(app, acme, job_id)
    assert (job.status, job.scheduled_for) == ("cancelled", None)
    assert "Cancelled" in admin_client.get("/dedup").get_data(as_text=True)


# --- the test run through a real worker ------------------------------------------------------


def test_the_test_run_shows_progress_then_results_and_locks_the_settings(
    committed, make_account, client, run_worker
):
    app = committed
    account_id = make_account("acme")
    assert login(client, "admin@acme.test").status_code == 302
    seed_leads(app, account_id)
    job_id = make_job(app, account_id, name="Worker test")
    assert "Start test run" in client.get(f"/dedup/{job_id}").get_data(as_text=True)

    token = csrf_from(client, "/dedup")
    started = client.post(
        f"/dedup/{job_id}/test-run", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert started.status_code == 200
    partial = started.get_data(as_text=True)
    assert partial.lstrip().startswith('<section id="test-run"')
    assert f'hx-get="/dedup/{job_id}/test-run"' in partial and 'data-testid="job-progress"' in (
        partial
    )
    assert get_job(app, account_id, job_id).status == "testing"
    # While it runs, nothing of General and Settings can change.
    refused = client.post(f"/dedup/{job_id}", data={"csrf_token": token, "name": "x"})
    assert refused.status_code == 422

    assert run_worker().returncode == 0
    polled = client.get(f"/dedup/{job_id}/test-run", headers={"HX-Request": "true"})
    assert polled.headers.get("HX-Refresh") == "true"
    assert "hx-trigger" not in polled.get_data(as_text=True)  # polling stops
    page = client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert "Test run results" in page
    figures = {
        key: re.search(rf'data-testid="test-{key}">([^<]+)<', page).group(1)
        for key in ("total", "duplicates", "after")
    }
    assert figures == {"total": "9", "duplicates": "6", "after": "3"}
    assert 'data-testid="locked"' in page and "I acknowledge these numbers" in page
    assert get_job(app, account_id, job_id).status == "tested"


# --- report, CSV, undo -----------------------------------------------------------------------


def run_job(app, account_id) -> int:
    job_id = make_job(app, account_id, name="Ran", tested=True)

    def run():
        job = db.session.get(DedupJob, job_id)
        job.status = "running"
        dedup_service.run(job)

    in_account(app, account_id, run)
    return job_id


def test_report_page_and_formula_safe_csv(app, admin_client, acme):
    seed_leads(app, acme, names={0: '=HYPERLINK("http://evil")', 3: "@SUM(A1)"})
    job_id = run_job(app, acme)
    page = admin_client.get(f"/dedup/{job_id}/report").get_data(as_text=True)
    assert "3 duplicate groups, 6 moved leads" in page
    assert page.count('class="group-start"') == 3
    assert "the most recently created lead is kept" in page

    response = admin_client.get(f"/dedup/{job_id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 6
    names = {r["moved_first_name"] for r in rows}
    assert '\'=HYPERLINK("http://evil")' in names and "'@SUM(A1)" in names
    assert all(r["moved_phone"].startswith("+1415555020") for r in rows)  # E.164 as it is
    assert not any(
        v.startswith(("=", "+", "-", "@")) and not re.fullmatch(r"\+[1-9]\d{6,14}", v)
        for r in rows
        for v in r.values()
    )


def test_undo_restores_the_moved_leads_and_lists_those_changed_since(app, admin_client, acme):
    pool_id = seed_leads(app, acme)
    job_id = run_job(app, acme)

    def touch_one():
        lead = db.session.scalar(
            sa.select(Lead).where(Lead.status == "inactive").order_by(Lead.id).limit(1)
        )
        lead.status = "open"
        lead.updated_at = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=1)
        return lead.id

    changed_id = in_account(app, acme, touch_one)
    response = post(admin_client, f"/dedup/{job_id}/undo", {}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Undone: 5 leads were put back in their pools." in text
    assert f"These leads changed since the run and were left as they are: {changed_id}." in text
    in_spring = in_account(
        app,
        acme,
        lambda: db.session.scalar(sa.select(sa.func.count(Lead.id)).where(Lead.pool_id == pool_id)),
    )
    assert in_spring == 8  # 3 golden + 5 restored; the changed one stays where it is
    assert get_job(app, acme, job_id).status == "undone"
    again = post(admin_client, f"/dedup/{job_id}/undo", {}, follow_redirects=True)
    assert "Only a completed run can be undone." in again.get_data(as_text=True)


# --- issue 14 ------------------------------------------------------------------------------


def seed_inheriting(app, account_id) -> int:
    """Pool "Spring" with 2 numbers × 2 copies; the older copy of the first was called twice
    and is on the do-not-call list, the older copy of the second was called once."""

    def make():
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES[:2] * 2):
            older = i < 2
            db.session.add(
                Lead(
                    pool_id=pool.id,
                    phone1=phone,
                    first_name=f"Lead{i}",
                    created_at=base + dt.timedelta(days=i),
                    call_count=(2 if i == 0 else 1) if older else 0,
                    last_called_at=base if older else None,
                    do_not_call=i == 0,
                )
            )
        db.session.flush()
        return pool.id

    return in_account(app, account_id, make)


def test_the_report_of_a_run_whose_golden_records_inherited_shows_before_and_after(
    app, admin_client, acme
):
    seed_inheriting(app, acme)
    job_id = run_job(app, acme)
    response = admin_client.get(f"/dedup/{job_id}/report")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    table = text[text.index('data-testid="golden-changes"') :]
    assert table.count("<tr>") == 3  # header + 2 golden records
    assert "Do not call: no → yes" in html.unescape(table)
    assert "Calls: 0 → 2" in html.unescape(table) and "Calls: 0 → 1" in html.unescape(table)


def running_job(app, account_id, row_status="running") -> tuple[int, int]:
    def make():
        job = DedupJob(name="Running", status="running", test_results={"total": 9,
                       "duplicates": 6, "after": 3})  # fmt: skip
        db.session.add(job)
        db.session.flush()
        row = BackgroundJob(kind="dedup_run", title="Dedup run: Running", queue="dedup",
                            status=row_status, progress=40, heartbeat_at=utcnow())  # fmt: skip
        db.session.add(row)
        db.session.flush()
        job.job_id = row.id
        return job.id, row.id

    return in_account(app, account_id, make)


def test_the_run_section_polls_while_running_and_refreshes_the_page_when_the_run_ends(
    app, admin_client, acme
):
    seed_leads(app, acme)
    job_id, row_id = running_job(app, acme)
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'hx-get="/dedup/{job_id}/run?seen=running"' in page
    polled = admin_client.get(f"/dedup/{job_id}/run?seen=running", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "HX-Refresh" not in polled.headers
    assert (
        polled.get_data(as_text=True)
        .lstrip()
        .startswith('<section class="card dedup-section" id="run"')
    )

    def finish():
        job = db.session.get(DedupJob, job_id)
        job.status = "running"
        dedup_service.run(job)
        row = db.session.get(BackgroundJob, row_id)
        row.status, row.progress = "completed", 100

    in_account(app, acme, finish)
    polled = admin_client.get(f"/dedup/{job_id}/run?seen=running", headers={"HX-Request": "true"})
    assert polled.headers.get("HX-Refresh") == "true"
    assert "hx-trigger" not in polled.get_data(as_text=True)
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'hx-get="/dedup/{job_id}/run' not in page
    assert ">Completed<" in page and ">Report<" in page and ">Undo<" in page
    assert 'data-testid="run-moved">6<' in page
    # Without htmx the address is the job's page.
    assert admin_client.get(f"/dedup/{job_id}/run").status_code == 302


def test_a_run_that_ended_without_its_job_saying_so_stops_polling_without_reloading(
    app, admin_client, acme
):
    job_id, _ = running_job(app, acme, row_status="failed")
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'hx-get="/dedup/{job_id}/run' not in page  # no reload every second


def test_the_page_of_a_job_due_to_run_watches_for_the_run_to_start(app, admin_client, acme):
    job_id = make_job(
        app,
        acme,
        name="Soon",
        status="scheduled",
        test_results={"total": 1, "duplicates": 0, "after": 1},
        scheduled_for=utcnow() + dt.timedelta(minutes=2),
    )
    later = make_job(
        app,
        acme,
        name="Later",
        test_results={"total": 1, "duplicates": 0, "after": 1},
        scheduled_for=utcnow() + dt.timedelta(days=2),
    )
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    assert f'hx-get="/dedup/{job_id}/run?seen=scheduled"' in page
    assert "/run?seen" not in admin_client.get(f"/dedup/{later}").get_data(as_text=True)
    url = f"/dedup/{job_id}/run?seen=scheduled"
    polled = admin_client.get(url, headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "HX-Refresh" not in polled.headers

    def start():
        db.session.get(DedupJob, job_id).status = "running"

    in_account(app, acme, start)
    assert admin_client.get(url, headers={"HX-Request": "true"}).headers["HX-Refresh"] == "true"


def test_the_selected_scope_total_follows_the_choice_and_a_combined_scope_over_the_limit_is_refused(
    app, admin_client, acme, monkeypatch
):
    def make():
        account = db.session.get(Account, acme)
        ids = []
        for name, count in (("North", 4), ("South", 3)):
            pool = LeadPool(name=name)
            db.session.add(pool)
            db.session.flush()
            campaign = create_campaign(account, name)
            db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
            for i in range(count):
                db.session.add(Lead(pool_id=pool.id, phone1=f"+1415555{len(ids)}{i:03d}"))
            ids.append(campaign.id)
        db.session.flush()
        return ids

    north, south = in_account(app, acme, make)
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 5)
    page = admin_client.get("/dedup/new").get_data(as_text=True)
    assert 'hx-get="/dedup/scope-total"' in page and 'data-testid="scope-total"' in page
    query = f"/dedup/scope-total?scope=campaign&campaigns={north}&campaigns={south}"
    both = admin_client.get(query, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Selected: 7 leads" in both
    assert "over the limit of 5" in both
    one = admin_client.get(
        f"/dedup/scope-total?scope=campaign&campaigns={south}", headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Selected: 3 leads" in one and "over the limit" not in one

    data = {"name": "Both", "scope": "campaign", "campaigns": [str(north), str(south)],
            "match_keys": "phone1", "keep_rule": "latest-created"}  # fmt: skip
    response = post(admin_client, "/dedup/new", data)
    assert response.status_code == 422
    assert (
        "The chosen scope holds 7 leads together, over the limit of 5; choose fewer "
        "campaigns or pools."
    ) in html.unescape(response.get_data(as_text=True))
    assert in_account(app, acme, lambda: db.session.scalar(sa.select(DedupJob.id))) is None
    ok = post(admin_client, "/dedup/new", {**data, "campaigns": [str(south)]})
    assert ok.status_code == 302


def test_the_last_day_the_page_offers_can_be_scheduled_at_noon(app, admin_client, acme):
    seed_leads(app, acme)
    job_id = make_job(app, acme, name="Far", tested=True)
    page = admin_client.get(f"/dedup/{job_id}").get_data(as_text=True)
    date_input = re.search(r'<input[^>]*name="run_date"[^>]*>', page).group(0)
    last = re.search(r'max="([0-9-]+)"', date_input).group(1)
    assert f"up to {last}" in page
    response = post(
        admin_client, f"/dedup/{job_id}", {**schedule_data(dt.date.fromisoformat(last)),
                                           "run_time": "12:00"}
    )  # fmt: skip
    assert response.status_code == 302, modal_text(response)
    job = get_job(app, acme, job_id)
    local = job.scheduled_for.replace(tzinfo=dt.UTC).astimezone(ZONE)
    assert (local.date().isoformat(), local.hour) == (last, 12)


def test_the_lead_page_says_why_an_inherited_do_not_call_is_set(app, admin_client, acme):
    seed_inheriting(app, acme)
    run_job(app, acme)

    def golden():
        return db.session.scalar(
            sa.select(Lead.id).where(Lead.phone1 == PHONES[0], Lead.status != "inactive")
        )

    text = html.unescape(admin_client.get(f"/leads/{in_account(app, acme, golden)}").get_data(True))
    assert "a duplicate of it, moved by the Lead Deduplicator, is on the do-not-call list" in text
    assert "its number is on the do-not-call list" not in text


def test_absurd_scope_choices_answer_with_a_page_not_an_error(app, admin_client, acme):
    huge = str(2**64)
    for query in (
        f"scope=list&pools={huge}",
        f"scope=campaign&campaigns={2**31}",  # past PostgreSQL's INTEGER
        "scope=campaign&campaigns=abc&campaigns=%C2%B2",
        "scope=nonsense",
        "scope=purpose&purposes=" + "x" * 10_000,
    ):
        response = admin_client.get(f"/dedup/scope-total?{query}", headers={"HX-Request": "true"})
        assert response.status_code == 200, query
        assert "Selected: 0 leads" in response.get_data(as_text=True)
    data = {"name": "Huge", "scope": "list", "pools": huge, "match_keys": "phone1",
            "keep_rule": "latest-created"}  # fmt: skip
    assert post(admin_client, "/dedup/new", data).status_code == 422
    assert post(admin_client, "/dedup/new", {**data, "pools": str(2**31)}).status_code == 422


def test_another_accounts_pools_count_for_nothing_in_the_scope_total(
    app, admin_client, make_account
):
    other = make_account("other")
    pool_id = seed_leads(app, other)
    response = admin_client.get(
        f"/dedup/scope-total?scope=list&pools={pool_id}", headers={"HX-Request": "true"}
    )
    assert "Selected: 0 leads" in response.get_data(as_text=True)
