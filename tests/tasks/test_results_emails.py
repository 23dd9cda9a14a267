"""The results emails a supervisor can act on, read from the real SMTP server: the dedup
test run, run, failure, undo and cancellation, and the import summary — each with an
absolute link (PUBLIC_URL), the account, scope and settings, the time in the account's
zone, the figures in an HTML table (numbers right-aligned) and lined up in the text part,
the next step and how to undo."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, DedupJob, EmailDelivery, Lead, LeadPool, User
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.tasks import dispatch
from leadapp.tasks.dedup import (
    cancel_and_tell,
    carry_out,
    dedup_test_run,
    run_dedup,
    undo_and_tell,
)

PUBLIC = "https://leads.example.com"
PHONES = ["+14155550301", "+14155550302", "+14155550303"]


@pytest.fixture
def public_url(app, monkeypatch):
    """PUBLIC_URL for the worker processes (their environment) and this process."""
    monkeypatch.setenv("PUBLIC_URL", PUBLIC + "/")
    monkeypatch.setitem(app.config, "PUBLIC_URL", PUBLIC)
    return PUBLIC


@pytest.fixture
def job(committed, make_account, public_url):
    """Account acme (Europe/Paris) with 3 phones × 3 copies; the oldest copy of the first
    number has a call and completed, one of the second is do-not-call; a dedup job over a
    pool named Spring, tested."""
    account_id = make_account("acme")
    with committed.app_context(), account_scope(account_id):
        db.session.get(Account, account_id).timezone = "Europe/Paris"
        db.session.get(Account, account_id).name = "Acme Sales"
        pool = LeadPool(name="Spring")
        db.session.add(pool)
        db.session.flush()
        base = dt.datetime(2026, 1, 1)
        for i, phone in enumerate(PHONES * 3):
            lead = Lead(pool_id=pool.id, phone1=phone, created_at=base + dt.timedelta(i))
            if i == 0:
                lead.completed, lead.status, lead.call_count = True, "closed", 1
                lead.last_called_at = base
            if i == 1:
                lead.do_not_call, lead.dnc_reason = True, "hand"
            db.session.add(lead)
        name = f"Nightly clean-up {uuid.uuid4().hex[:8]}"
        made = DedupJob(
            name=name,
            emails=["ops@acme.test"],
            scope="list",
            targets=[pool.id],
            match_keys=["phone1"],
        )
        db.session.add(made)
        db.session.flush()
        dedup_service.test_run(made)
        made.status = "tested"
        db.session.commit()
        return {"account": account_id, "id": made.id, "name": name}


def arrived(smtp_server, before, subject_start):
    found = [
        m["message"]
        for m in smtp_server.handler.messages[before:]
        if str(m["message"]["Subject"]).startswith(subject_start)
    ]
    assert len(found) == 1, [str(m["message"]["Subject"]) for m in smtp_server.handler.messages]
    message = found[0]
    return (
        str(message["Subject"]),
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def table_lines(text: str, first_label: str, count: int) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_label))
    return lines[start : start + count]


def assert_lined_up(lines: list[str]) -> None:
    """Numbers right-aligned: every line of the table ends in the same column."""
    assert len({len(line) for line in lines}) == 1, lines
    assert all(re.search(r"\d$|—$", line) for line in lines), lines


def right_aligned_cells(html: str) -> list[str]:
    return re.findall(r'<td style="text-align: right;[^"]*">([^<]*)</td>', html)


def assert_common(text, html, job, *, link_path):
    assert f"{PUBLIC}{link_path}" in text and f'href="{PUBLIC}{link_path}"' in html
    assert "Account: Acme Sales" in " ".join(text.split()).replace(" :", ":")
    assert "lead pools: Spring" in text and "leads with the same Phone 1" in text
    assert "the most recently created lead of each group" in text
    assert "phone1" not in text and "latest-created" not in text  # no internal names
    assert "Acme Sales" in html and "lead pools: Spring" in html


def run_worker_ok(run_worker):
    result = run_worker()
    assert result.returncode == 0, result.stdout


def test_the_test_run_email(committed, job, run_worker, smtp_server):
    before = len(smtp_server.handler.messages)

    def start():
        row = job_rows.create_job(job["account"], "dedup_test", "Dedup test run", "dedup")
        db.session.commit()
        dispatch(row, dedup_test_run, job["id"])

    with committed.app_context(), account_scope(job["account"]):
        start()
    run_worker_ok(run_worker)
    subject, text, html = arrived(smtp_server, before, f"Dedup test run: {job['name']}")
    assert subject == f"Dedup test run: {job['name']} — 6 duplicates found"
    figures = table_lines(text, "Total lead records", 3)
    assert_lined_up(figures)
    assert figures[1].startswith("Duplicate lead records (would move)")
    assert figures[1].endswith(" 6") and figures[0].endswith(" 9")
    assert right_aligned_cells(html)[:3] == ["9", "6", "3"]
    assert "tick the acknowledgement and schedule the run" in text
    assert "can be undone from the job's page" in text
    assert re.search(r"Test run: +\d{4}-\d\d-\d\d \d\d:\d\d CET", text)  # the account's zone
    assert_common(text, html, job, link_path=f"/dedup/{job['id']}")


def test_the_run_email_sets_the_result_beside_the_test_run(committed, job, run_worker, smtp_server):
    before = len(smtp_server.handler.messages)
    with committed.app_context(), account_scope(job["account"]):
        made = db.session.get(DedupJob, job["id"])
        # The data changed after the test run: one more copy of the third number.
        pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.name == "Spring"))
        db.session.add(Lead(pool_id=pool.id, phone1=PHONES[2]))
        made.status = "scheduled"
        row = job_rows.create_job(job["account"], "dedup_run", "Dedup run", "dedup")
        db.session.commit()
        dispatch(row, run_dedup, job["id"])
    run_worker_ok(run_worker)
    subject, text, html = arrived(smtp_server, before, f"Dedup completed: {job['name']}")
    assert subject == f"Dedup completed: {job['name']} — 7 duplicates moved to Inactive"
    figures = table_lines(text, "Total lead records", 3)
    assert_lined_up(figures)
    (header,) = table_lines(text, " " * 10, 1)
    assert header.split() == ["Test", "run", "This", "run"] and len(header) == len(figures[0])
    assert re.fullmatch(r"Total lead records +9 +10", figures[0])
    assert re.fullmatch(r"Duplicate lead records moved +6 +7", figures[1])
    assert re.fullmatch(r"Lead records after deduplication +3 +3", figures[2])
    assert right_aligned_cells(html)[:6] == ["9", "10", "6", "7", "3", "3"]
    golden = table_lines(text, "Do-not-call from a copy", 4)
    assert_lined_up(golden)
    assert golden[0].endswith(" 1") and golden[1].endswith(" 1") and golden[3].endswith(" 1")
    assert f"{PUBLIC}/dedup/{job['id']}/report" in text
    assert "undo the run on the job's page" in text
    assert re.search(r"has completed at \d{4}-\d\d-\d\d \d\d:\d\d CET", text)
    assert_common(text, html, job, link_path=f"/dedup/{job['id']}")


def test_the_failed_run_email(committed, job, run_worker, smtp_server):
    before = len(smtp_server.handler.messages)
    with committed.app_context(), account_scope(job["account"]):
        db.session.delete(
            db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
        )
        db.session.get(DedupJob, job["id"]).status = "scheduled"
        row = job_rows.create_job(job["account"], "dedup_run", "Dedup run", "dedup")
        db.session.commit()
        dispatch(row, run_dedup, job["id"])
    run_worker_ok(run_worker)
    subject, text, html = arrived(smtp_server, before, f"Dedup failed: {job['name']}")
    assert "no lead was moved" in text and "no system 'Inactive' pool" in text
    assert_lined_up(table_lines(text, "Total lead records", 3))
    assert "run it again once the cause is fixed" in text
    assert_common(text, html, job, link_path=f"/dedup/{job['id']}")


def test_the_undone_and_the_cancelled_emails(committed, job, run_worker, smtp_server):
    before = len(smtp_server.handler.messages)
    with committed.app_context(), account_scope(job["account"]):
        made = db.session.get(DedupJob, job["id"])
        made.status = "running"
        db.session.commit()
        dedup_service.run(made)
        made.status = "completed"
        db.session.commit()
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        result, problem = undo_and_tell(made, admin.id)
        assert problem is None and result["restored"] == 6
        other = DedupJob(name=f"{job['name']} bis", emails=["ops@acme.test"])
        db.session.add(other)
        db.session.flush()
        dedup_service.test_run(other)
        when = utcnow() + dt.timedelta(days=2)
        dedup_service.schedule(other, when, other.emails, acknowledged=True, user_id=None)
        db.session.commit()
        assert cancel_and_tell(other, admin.id) is None
        assert other.status == "cancelled"
    run_worker_ok(run_worker)
    subject, text, html = arrived(smtp_server, before, f"Dedup undone: {job['name']}")
    assert subject == f"Dedup undone: {job['name']} — 6 leads put back"
    undone = table_lines(text, "Moved by the run", 3)
    assert_lined_up(undone)
    assert undone[1].endswith(" 6")
    assert "was undone by Administrator at" in text
    assert_common(text, html, job, link_path=f"/dedup/{job['id']}")
    subject, text, html = arrived(smtp_server, before, f"Dedup cancelled: {job['name']} bis")
    assert "it will not run" in subject and "No lead was moved." in text
    assert re.search(r"scheduled for \d{4}-\d\d-\d\d \d\d:\d\d CET", text)
    assert f"{PUBLIC}/dedup/new" in text


def test_an_email_never_goes_out_when_the_job_has_no_addresses(committed, job, run_worker):
    with committed.app_context(), account_scope(job["account"]):
        made = db.session.get(DedupJob, job["id"])
        made.emails = []
        made.status = "scheduled"
        db.session.commit()
        made.status = "running"
        db.session.commit()
        carry_out(made)
        assert made.status == "completed"
        assert db.session.scalar(sa.select(sa.func.count(EmailDelivery.id))) == 0


# ---------------------------------------------------------------------------------------
# The import summary


@pytest.fixture
def spring(committed, runner, make_account, public_url, tmp_path):
    """Account acme (committed; Europe/Paris) with the campaign Spring and three leads
    already in its pool Old."""
    account_id = make_account("acme")
    result = runner.invoke(
        args=["campaigns", "create", "--account", "acme", "--name", "Spring", "--region", "US"]
    )
    assert result.exit_code == 0, result.output
    with committed.app_context():
        db.session.get(Account, account_id).timezone = "Europe/Paris"
        db.session.commit()
    old = tmp_path / "old.csv"
    old.write_text("First Name,Phone\nAnn,4155550401\nBob,4155550402\nCid,4155550403\n")
    args = ["leads", "import", str(old), "--account", "acme", "--campaign", "Spring"]
    result = runner.invoke(args=[*args, "--pool", "Old", "--scope", "none"])
    assert result.exit_code == 0, result.output
    return account_id


def tracked_import(app, account_id, path, **duplicates) -> int:
    from dataclasses import asdict

    from leadapp.models import Campaign
    from leadapp.services.imports import duplicates as import_duplicates
    from leadapp.services.imports import mapping as import_mapping
    from leadapp.services.imports import read as import_read
    from leadapp.tasks.imports import run_import

    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == "Spring"))
        imp = import_read.create_import(
            account, admin, campaign, pool_name=path.stem, settings={"notify_me": True}
        )
        info = import_read.attach_file(imp, path, path.name)
        import_mapping.set_mapping(imp, import_mapping.suggest(imp, info), info.headers)
        imp.duplicate_settings = asdict(import_duplicates.DuplicateSettings(**duplicates))
        row = job_rows.create_job(account_id, "import", f"Import {path.name}", "imports")
        imp.job_id, imp.status = row.id, "queued"
        db.session.commit()
        dispatch(row, run_import, imp.id)
        return imp.id


def test_the_import_summary_says_what_was_deactivated(
    committed, spring, run_worker, smtp_server, tmp_path, client
):
    path = tmp_path / f"june-{uuid.uuid4().hex[:6]}.csv"
    path.write_text(
        "First Name,Phone\nAnn,4155550401\nBob,4155550402\nCid,4155550403\nDee,4155550404\n"
    )
    before = len(smtp_server.handler.messages)
    import_id = tracked_import(
        committed, spring, path, scope="campaign", action="deactivate-existing"
    )
    run_worker_ok(run_worker)
    subject, text, html = arrived(smtp_server, before, f"Import finished: {path.name}")
    assert subject == f"Import finished: {path.name} — 4 leads imported, 3 deactivated"
    assert f"4 leads were imported into {path.stem}." in text
    assert "3 leads were deactivated." in text
    figures = table_lines(text, "Rows in the file", 12)
    assert_lined_up(figures)
    assert re.fullmatch(r"Existing leads deactivated +3", figures[8])
    assert "Existing leads deactivated" in html and right_aligned_cells(html)[8] == "3"
    assert (
        f"{PUBLIC}/imports/{import_id}" in text and f'href="{PUBLIC}/imports/{import_id}"' in html
    )
    assert re.search(r"Finished: +\d{4}-\d\d-\d\d \d\d:\d\d CET", text)
    assert "Account:" in text and "Acme" in text
    assert "when a row matches, deactivate the existing lead" in text
    assert "Check the pool" in text
    # The import's page says it too.
    from tests.conftest import login

    login(client, "admin@acme.test")
    page = client.get(f"/imports/{import_id}").get_data(as_text=True)
    assert "3 leads were deactivated." in page
    assert 'data-testid="sum-deactivated">3<' in page


def test_an_import_that_only_updated_says_so_in_its_subject(
    committed, spring, run_worker, smtp_server, tmp_path
):
    path = tmp_path / f"fix-{uuid.uuid4().hex[:6]}.csv"
    path.write_text("First Name,Phone\nAnne,4155550401\nBobby,4155550402\n")
    before = len(smtp_server.handler.messages)
    tracked_import(committed, spring, path, scope="campaign", action="update-existing")
    run_worker_ok(run_worker)
    subject, text, _html = arrived(smtp_server, before, f"Import finished: {path.name}")
    assert subject == f"Import finished: {path.name} — 2 existing leads updated"
    assert "0 leads imported" not in subject and "imported" not in subject
    assert "2 leads already there were updated with the file's values." in text
