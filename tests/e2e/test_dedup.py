"""An admin drives the Lead Deduplicator in a real browser with real workers: create, save,
test run, locked settings, the acknowledgement and one-scheduled-job refusals in the error
modal; then a run started by RQ's scheduler, its emails, the report and undo."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account, DedupJob, EmailDelivery, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.tasks.dedup import schedule_run
from tests.conftest import PASSWORD, ROOT, process_env
from tests.e2e.test_login import log_in

ZONE = ZoneInfo("America/Los_Angeles")  # the account's zone
PHONES = ["+14155550201", "+14155550202", "+14155550203"]

# The whole flow runs on PostgreSQL too: its scheduler and workers lock rows there.
pytestmark = pytest.mark.database


def setup_account(app, make_account) -> int:
    """Account acme with 9 leads: 3 phones × 3 copies, so 6 duplicates."""
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        assert db.session.get(Account, account_id) is not None
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES * 3):
            db.session.add(
                Lead(
                    pool_id=pool.id,
                    phone1=phone,
                    first_name=f"L{i}",
                    created_at=base + dt.timedelta(i),
                )
            )
        db.session.commit()
    return account_id


def create_job(page, name: str, emails: str = "ops@acme.test") -> None:
    page.goto("/dedup")
    page.click("a:has-text('New dedup job')")
    page.fill('input[name="name"]', name)
    page.fill('textarea[name="description"]', f"{name}: duplicates by phone")
    page.fill('textarea[name="emails"]', emails)
    page.get_by_test_id("apply").click()
    expect(page.locator("#flashes")).to_contain_text("The dedup job was saved.")
    expect(page.locator("h1")).to_have_text(name)


def run_the_test(page) -> None:
    page.get_by_test_id("start-test-run").click()
    # The section polls while the worker counts, then the page reloads with the results.
    expect(page.get_by_test_id("test-results")).to_be_visible(timeout=60000)


def expect_modal(page, text: str) -> None:
    modal = page.locator("#app-modal")
    expect(modal).to_be_visible()
    expect(page.locator("#app-modal-body")).to_have_text(text)
    page.click("#app-modal-cancel")
    expect(modal).to_be_hidden()


def set_schedule(page, when: dt.datetime) -> None:
    page.fill('input[name="run_date"]', when.strftime("%Y-%m-%d"))
    page.fill('input[name="run_time"]', when.strftime("%H:%M"))


def test_create_test_run_lock_acknowledge_schedule_and_only_one_scheduled_job(
    page, app, make_account
):
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)

    # Each scope opens its own multi-select, with the lead count of every option.
    page.goto("/dedup/new")
    expect(page.locator("#pools")).to_be_hidden()
    page.check("#scope-list")
    expect(page.locator("#pools")).to_be_visible()
    expect(page.locator("#pools option")).to_have_text(["Spring (9 leads)"])
    expect(page.locator('[data-scope-targets="campaign"]')).to_be_hidden()
    expect(page.get_by_text("The whole account (9 leads)")).to_be_visible()

    create_job(page, "Nightly clean-up")
    expect(page.get_by_test_id("test-run")).to_contain_text("Mandatory test run")
    expect(page.get_by_text("I acknowledge these numbers")).to_have_count(0)
    run_the_test(page)
    expect(page.get_by_test_id("test-run")).to_contain_text("Test run results")
    expect(page.get_by_test_id("test-total")).to_have_text("9")
    expect(page.get_by_test_id("test-duplicates")).to_have_text("6")
    expect(page.get_by_test_id("test-after")).to_have_text("3")
    expect(page.get_by_test_id("test-completed")).to_contain_text(re.compile(r"P[SD]T"))
    # General and Settings are locked: read-only text, no inputs.
    expect(page.get_by_test_id("locked")).to_be_visible()
    expect(page.locator('input[name="name"]')).to_have_count(0)
    expect(page.locator('input[name="match_keys"]')).to_have_count(0)
    expect(page.get_by_test_id("job-name")).to_have_text("Nightly clean-up")
    expect(page.locator('input[name="run_time"]')).to_have_value("02:00")

    tomorrow = dt.datetime.now(ZONE).replace(hour=2, minute=0) + dt.timedelta(days=1)
    set_schedule(page, tomorrow)
    page.get_by_test_id("apply").click()
    expect_modal(
        page,
        "Tick the acknowledgement that the numbers will change with the data at the time of "
        "the run, then apply the changes again.",
    )
    expect(page.get_by_test_id("dedup-status").first).to_have_text("Not Scheduled")

    page.get_by_label("I acknowledge these numbers").check()
    page.get_by_test_id("apply").click()
    expect(page.locator("#flashes")).to_contain_text("The dedup job is scheduled for")
    expect(page.get_by_test_id("dedup-status").first).to_have_text("Scheduled")

    create_job(page, "Second job")
    run_the_test(page)
    set_schedule(page, tomorrow)
    page.get_by_label("I acknowledge these numbers").check()
    page.get_by_test_id("apply").click()
    expect_modal(
        page,
        "The job 'Nightly clean-up' is already scheduled; unschedule it first "
        "(one scheduled job per account).",
    )

    page.goto("/dedup")
    table = page.get_by_test_id("dedup-table")
    expect(table).to_contain_text("Nightly clean-up")
    expect(table.locator("tr", has_text="Nightly clean-up")).to_contain_text("Scheduled")
    expect(table.locator("tr", has_text="Second job")).to_contain_text("Not Scheduled")


def test_the_scheduler_runs_the_job_then_report_and_undo(
    page, app, app_environ, make_account, smtp_server
):
    account_id = setup_account(app, make_account)
    before = len(smtp_server.handler.messages)
    log_in(page, "admin@acme.test", PASSWORD)
    create_job(page, "Run soon", emails="ops@acme.test, boss@acme.test")
    run_the_test(page)

    # A minute or two from now, in the account's zone (the inputs take whole minutes).
    when = dt.datetime.now(ZONE) + dt.timedelta(minutes=2)
    set_schedule(page, when)
    page.get_by_label("I acknowledge these numbers").check()
    page.get_by_test_id("apply").click()
    expect(page.locator("#flashes")).to_contain_text("The dedup job is scheduled for")

    # The form takes whole minutes; rather than wait up to two of them, move the run to
    # three seconds from now through the same service and scheduler entry the form uses.
    with app.app_context(), account_scope(account_id):
        job = db.session.scalar(sa.select(DedupJob).where(DedupJob.name == "Run soon"))
        when_utc = utcnow() + dt.timedelta(seconds=3)
        dedup_service.schedule(job, when_utc, job.emails, acknowledged=True, user_id=None)
        db.session.commit()
        schedule_run(job, None)
    when = when_utc.replace(tzinfo=dt.UTC).astimezone(ZONE)

    # A second worker, with RQ's scheduler; its output goes next to the live server's logs.
    log = Path(app_environ["LEADAPP_INSTANCE"]) / "dedup-scheduler.log"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--with-scheduler"],
        cwd=ROOT,
        env=process_env(app_environ),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        # The open page follows the job (it polls once the run is near): no reload needed.
        badge = page.get_by_test_id("dedup-status").first
        with contextlib.suppress(AssertionError):
            expect(badge).to_have_text(re.compile("Completed|Failed"), timeout=240000)
        status = badge.inner_text()
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()
    assert status == "Completed", (
        f"status {status} at {dt.datetime.now(ZONE):%H:%M:%S}, scheduled for {when:%H:%M:%S}; "
        f"page: {page.locator('main').inner_text()[:1500]}\nscheduler log:\n"
        f"{log.read_text()[-3000:]}"
    )
    expect(page.get_by_test_id("run-moved")).to_have_text("6")

    def subjects():
        return [str(m["message"]["Subject"]) for m in smtp_server.handler.messages[before:]]

    deadline = time.time() + 30
    while not any(s.startswith("Dedup completed: Run soon") for s in subjects()):
        assert time.time() < deadline, f"no completion email; got {subjects()}"
        time.sleep(0.5)
    assert any(s.startswith("Dedup test run: Run soon") for s in subjects())

    page.goto("/dedup")
    row = page.get_by_test_id("dedup-table").locator("tr", has_text="Run soon")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d P[SD]T"))
    row.get_by_role("link", name="Report").click()
    expect(page.locator("p.small")).to_contain_text("3 duplicate groups, 6 moved leads")
    expect(page.get_by_test_id("report-table").locator("tbody tr")).to_have_count(6)

    page.click("a:has-text('Back to the job')")
    page.click("button:has-text('Undo')")
    expect(page.locator("#app-modal-body")).to_contain_text("Every moved lead goes back")
    page.click("#app-modal-confirm")
    expect(page.locator("#flashes")).to_contain_text(
        "Undone: 6 leads were put back in their pools."
    )
    expect(page.get_by_test_id("dedup-status").first).to_have_text("Undone")


def test_a_pending_email_line_turns_sent_on_the_open_page_then_stops_asking(
    page, app, make_account
):
    """The job's page is open while its email is pending: the line follows the delivery
    (every 5 s, without a reload), then the page stops asking once the email is settled."""
    from leadapp.services import mail as mail_service

    account_id = setup_account(app, make_account)
    with app.app_context(), account_scope(account_id):
        job = DedupJob(name="Tidy", emails=["ops@acme.test"], status="tested")
        db.session.add(job)
        db.session.flush()
        message = ("Test run: Tidy", "3 duplicates", "<p>3 duplicates</p>")
        delivery = mail_service.track_email(job, job.emails, "dedup_test_run", message)
        db.session.commit()
        job_id, delivery_id = job.id, delivery.id
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto(f"/dedup/{job_id}")
    line = page.get_by_test_id("email-state")
    expect(line).to_contain_text("Test run email: Email pending")
    expect(page.get_by_test_id("email-states-box")).to_have_attribute("data-live", "")

    with app.app_context(), account_scope(account_id):
        mail_service.sent(db.session.get(EmailDelivery, delivery_id))  # as the job does
        db.session.commit()
    expect(line).to_contain_text("Test run email: Email sent at", timeout=12000)
    expect(page.get_by_test_id("email-states-box")).not_to_have_attribute("data-live", "")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if f"/dedup/{job_id}" in r.url else None)
    page.wait_for_timeout(6000)  # longer than one polling interval
    assert asked == []


def test_the_open_page_of_a_job_follows_its_run_to_completed_without_a_reload(
    page, app, make_account
):
    """Issue 14, item 2: the page of a scheduled job is open when its run starts and ends;
    the status badge, General, the run's figures and the Report / Undo buttons follow
    without the user reloading (the progress box alone said "Completed 100 %" before)."""
    from leadapp.services import jobs as job_rows
    from leadapp.tasks import dispatch
    from leadapp.tasks.dedup import run_dedup

    account_id = setup_account(app, make_account)
    with app.app_context(), account_scope(account_id):
        job = DedupJob(
            name="Watched",
            status="scheduled",
            emails=["ops@acme.test"],
            test_results={"total": 9, "duplicates": 6, "after": 3},
            scheduled_for=utcnow() + dt.timedelta(minutes=1),
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto(f"/dedup/{job_id}")
    status = page.get_by_test_id("dedup-status")
    expect(status.first).to_have_text("Scheduled")
    expect(page.locator("button:has-text('Undo')")).to_have_count(0)

    with app.app_context(), account_scope(account_id):
        job = db.session.get(DedupJob, job_id)
        row = job_rows.create_job(account_id, "dedup_run", "Dedup run: Watched", "dedup", None)
        db.session.flush()
        job.job_id = row.id
        db.session.commit()
        dispatch(row, run_dedup, job_id)  # the live worker runs it now

    expect(status.first).to_have_text("Completed", timeout=60000)
    expect(status.nth(1)).to_have_text("Completed")  # General's line too
    expect(page.get_by_test_id("run-moved")).to_have_text("6")
    expect(page.locator("a:has-text('Report')")).to_be_visible()
    expect(page.locator("button:has-text('Undo')")).to_be_visible()


def test_the_chosen_scopes_lead_count_follows_the_choice(page, app, make_account):
    """Issue 14, item 6: the scope's running total shows under the choices as they change."""
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto("/dedup/new")
    total = page.get_by_test_id("scope-total")
    expect(total).to_have_text("Selected: 9 leads")  # the whole account
    page.check("#scope-list")
    expect(total).to_have_text("Selected: 0 leads")
    page.select_option("#pools", label="Spring (9 leads)")
    expect(total).to_have_text("Selected: 9 leads")
    page.check("#scope-account")
    expect(total).to_have_text("Selected: 9 leads")
