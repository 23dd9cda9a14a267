"""What the results emails say: an import's summary and the Lead Deduplicator's test run,
run, failure, undo and cancellation — each with an absolute link, the account, the scope
and settings, the time in the account's zone, the figures in a table, the next step and
how to undo. ``email/_results.{txt,html}`` lay any of them out: the HTML part as a simple
table with numbers right-aligned, the text part with its columns lined up.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from leadapp.extensions import db
from leadapp.models import (
    Account,
    Campaign,
    DedupGoldenChange,
    DedupJob,
    Import,
    LeadPool,
    User,
)
from leadapp.models.base import utcnow
from leadapp.services import import_outcomes

log = logging.getLogger(__name__)

# `make run` serves here; PUBLIC_URL says otherwise (run-all sets it to its own address).
FALLBACK_URL = "http://127.0.0.1:5000"


def public_url(path: str) -> str:
    """``path`` as an absolute link people can open from their mail: ``PUBLIC_URL``, else
    the address of the request being served, else ``make run``'s address."""
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if not base and has_request_context():
        base = request.host_url.rstrip("/")
    return (base or FALLBACK_URL) + path


def account_time(value: dt.datetime | None, zone: str) -> str:
    """A stored UTC time in the account's zone, with the zone's abbreviation."""
    if value is None:
        return "—"
    local = value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M %Z")


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


@dataclass
class Table:
    """Figures: a header row and rows whose first cell is a label, the others numbers."""

    head: list[str]
    rows: list[list]
    title: str = ""

    def cells(self) -> list[list[str]]:
        return [[str(r[0]), *(_number(v) for v in r[1:])] for r in self.rows]

    def text(self) -> str:
        """The table as lines of text: labels padded, numbers right-aligned under their
        column's header."""
        body = self.cells()
        lines = [self.head, *body] if any(self.head[1:]) else body
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        out = []
        for line in lines:
            parts = [line[0].ljust(widths[0])]
            parts += [cell.rjust(widths[i]) for i, cell in enumerate(line[1:], start=1)]
            out.append("  ".join(parts).rstrip())
        return "\n".join(out)


@dataclass
class ResultsEmail:
    subject: str
    headline: list[str]
    tables: list[Table] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)  # account, scope, when...
    next_steps: list[str] = field(default_factory=list)
    undo: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)  # (words, absolute URL)

    def __post_init__(self) -> None:
        # One header line: a name holding a line break must not add a header.
        self.subject = " ".join(self.subject.split())

    def details_text(self) -> str:
        width = max((len(k) for k, _ in self.details), default=0)
        return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in self.details)


def built(build, *args) -> ResultsEmail | None:
    """``build(*args)``, or None (logged) when it fails: a broken email must not undo the
    results it reports."""
    try:
        return build(*args)
    except Exception:  # noqa: BLE001 (see above)
        log.exception("the results email (%s) could not be written; the results stand", build)
        return None


# ---------------------------------------------------------------------------------------
# Import


def import_summary(imp: Import, counts: dict) -> ResultsEmail:
    """The import's summary email (``counts``: ``imports.public_counts``)."""
    from leadapp.services.imports import report as import_report

    account = db.session.get(Account, imp.account_id)
    pool = db.session.get(LeadPool, imp.pool_id) if imp.pool_id else None
    campaign = db.session.get(Campaign, imp.campaign_id) if imp.campaign_id else None
    user = db.session.get(User, imp.user_id) if imp.user_id else None
    c = {k: counts.get(k, 0) for k in counts}
    figures = [
        ["Rows in the file", c.get("rows", 0)],
        ["Valid", c.get("valid", 0)],
        ["Invalid (not imported)", c.get("invalid", 0)],
        ["Duplicates in the file", c.get("duplicates_in_file", 0)],
        ["Rows matching existing leads", c.get("duplicates_existing", 0)],
        ["Imported as new leads", c.get("imported", 0)],
        ["Existing leads updated", c.get("updated", 0)],
        ["Existing leads moved into the pool", c.get("moved", 0)],
        ["Existing leads deactivated", c.get("deactivated", 0)],
        ["Existing leads set to removed", c.get("removed", 0)],
        ["Rows discarded", c.get("discarded", 0)],
        ["Matches only reported", c.get("notified", 0)],
    ]
    page = public_url(f"/imports/{imp.id}")
    links = [("The import's page, with its downloads", page)]
    next_steps = []
    if pool is not None:
        pool_link = public_url(f"/pools/{pool.id}")
        links.append((f"The pool {pool.name}", pool_link))
        next_steps.append(
            f"Check the pool {pool.name} and its campaign assignment before dialling: {pool_link}"
        )
    if c.get("invalid") or c.get("discarded") or c.get("notified"):
        next_steps.append(
            "The rows not imported, with the reason, and the duplicates are in the "
            f"downloads on the import's page: {page}"
        )
    details = [
        ("Account", account.name),
        ("File", imp.file_name or "—"),
        ("Pool", pool.name if pool else "—"),
        ("Campaign", campaign.name if campaign else "—"),
        ("Started by", user.name if user else "—"),
        ("Finished", account_time(imp.finished_at or utcnow(), account.timezone)),
    ]
    details += [("Settings", line) for line in import_report.describe(imp)[3:]]
    return ResultsEmail(
        subject=f"Import finished: {imp.file_name} — {import_outcomes.headline(c)}",
        headline=[f"Your import of {imp.file_name} has finished."]
        + import_outcomes.sentences(c, pool.name if pool else None),
        tables=[Table(["", "Rows / leads"], figures)],
        details=details,
        next_steps=next_steps,
        undo="",
        links=links,
    )


# ---------------------------------------------------------------------------------------
# Lead Deduplicator


def _dedup_details(job: DedupJob, account: Account) -> list[tuple[str, str]]:
    from leadapp.services import dedup_words

    return [
        ("Account", account.name),
        ("Job", job.name),
        ("Lead scope", dedup_words.scope(job)),
        ("Duplicates are", dedup_words.matching(job)),
        ("Kept", dedup_words.keeping(job)),
        ("Moved to", dedup_words.target(job)),
        ("Test run", account_time(job.tested_at, account.timezone) if job.tested_at else "none"),
        (
            "Scheduled for",
            account_time(job.scheduled_for, account.timezone) if job.scheduled_for else "—",
        ),
    ]


def golden_counts(job: DedupJob) -> dict[str, int]:
    """How many golden records of ``job`` inherited do-not-call, completion, a callback
    and calls from the copies moved away."""
    c = DedupGoldenChange
    inherited = {
        "do_not_call": sa.and_(c.new_do_not_call.is_(True), c.was_do_not_call.is_(False)),
        "completed": sa.and_(c.new_completed.is_(True), sa.not_(c.was_completed.is_(True))),
        "callback": sa.and_(c.new_callback_at.is_not(None), c.was_callback_at.is_(None)),
        "calls": c.new_call_count > c.was_call_count,
    }
    row = db.session.execute(
        sa.select(
            sa.func.count(c.id),
            *(
                sa.func.coalesce(sa.func.sum(sa.case((w, 1), else_=0)), 0)
                for w in inherited.values()
            ),
        ).where(c.dedup_job_id == job.id)
    ).one()
    return {"changed": int(row[0]), **{k: int(v) for k, v in zip(inherited, row[1:], strict=True)}}


def _golden_table(job: DedupJob) -> Table:
    g = golden_counts(job)
    return Table(
        ["Golden records (the leads kept) that inherited", "Leads"],
        [
            ["Do-not-call from a copy", g["do_not_call"]],
            ["Completed (a sale or closed call) from a copy", g["completed"]],
            ["A callback from a copy", g["callback"]],
            ["Calls from the copies (call count, last called)", g["calls"]],
        ],
    )


def _projection(job: DedupJob) -> dict:
    t = job.test_results or {}
    return {k: t.get(k, "—") for k in ("total", "duplicates", "after")}


def _test_run_table(job: DedupJob) -> Table:
    """The test run's figures, for emails of a run that moved nothing (failed, cancelled)."""
    p = _projection(job)
    return Table(
        ["", "Test run"],
        [
            ["Total lead records", p["total"]],
            ["Duplicate lead records", p["duplicates"]],
            ["Lead records after deduplication", p["after"]],
        ],
    )


UNDO_WORDS = (
    "A completed run can be undone from the job's page (Undo): every lead it moved goes "
    "back to its pool and the golden records get their values back."
)


def dedup_test_run(job: DedupJob, figures: dict) -> ResultsEmail:
    account = db.session.get(Account, job.account_id)
    page = public_url(f"/dedup/{job.id}")
    return ResultsEmail(
        subject=f"Dedup test run: {job.name} — {figures['duplicates']:,} duplicates found",
        headline=[
            f'The test run of the dedup job "{job.name}" has finished. Nothing was changed.',
            "These figures come from the leads as they are now; the run counts again at "
            "its scheduled time.",
        ],
        tables=[
            Table(
                ["", "Test run"],
                [
                    ["Total lead records", figures["total"]],
                    ["Duplicate lead records (would move)", figures["duplicates"]],
                    ["Lead records after deduplication", figures["after"]],
                ],
            )
        ],
        details=_dedup_details(job, account),
        next_steps=[
            "Next: on the job's page, tick the acknowledgement and schedule the run (a date "
            f"at most 8 days ahead): {page}"
        ],
        undo=UNDO_WORDS,
        links=[("The job's page", page)],
    )


def dedup_done(job: DedupJob, result: dict) -> ResultsEmail:
    account = db.session.get(Account, job.account_id)
    page = public_url(f"/dedup/{job.id}")
    report = public_url(f"/dedup/{job.id}/report")
    p = _projection(job)
    return ResultsEmail(
        subject=f"Dedup completed: {job.name} — {result['moved']:,} duplicates moved to Inactive",
        headline=[
            f'The dedup job "{job.name}" has completed at '
            f"{account_time(job.completed_at or utcnow(), account.timezone)}.",
            "The duplicates are in the account's Inactive pool, with their history.",
        ],
        tables=[
            Table(
                ["", "Test run", "This run"],
                [
                    ["Total lead records", p["total"], result["total"]],
                    ["Duplicate lead records moved", p["duplicates"], result["moved"]],
                    ["Lead records after deduplication", p["after"], result["after"]],
                ],
            ),
            _golden_table(job),
        ],
        details=_dedup_details(job, account),
        next_steps=[f"Next: check the report, every group with its golden record: {report}"],
        undo="If the result is not what you expected, undo the run on the job's page: "
        f"{page} — every lead it moved goes back to its pool and the golden records get "
        "their values back.",
        links=[("The report", report), ("The job's page (Undo)", page)],
    )


def dedup_failed(job: DedupJob) -> ResultsEmail:
    account = db.session.get(Account, job.account_id)
    page = public_url(f"/dedup/{job.id}")
    return ResultsEmail(
        subject=f"Dedup failed: {job.name}",
        headline=[
            f'The dedup job "{job.name}" failed, and no lead was moved (anything moved '
            "before the failure was put back).",
            job.error or "The reason was not recorded.",
        ],
        tables=[_test_run_table(job)],
        details=_dedup_details(job, account),
        next_steps=[f"Next: on the job's page, run it again once the cause is fixed: {page}"],
        undo="Nothing to undo: the leads are as they were.",
        links=[("The job's page", page)],
    )


def dedup_undone(job: DedupJob, result: dict, by: User | None) -> ResultsEmail:
    account = db.session.get(Account, job.account_id)
    page = public_url(f"/dedup/{job.id}")
    changed = len(result.get("changed_since", [])) + len(result.get("golden_changed_since", []))
    run = job.results or {}
    return ResultsEmail(
        subject=f"Dedup undone: {job.name} — {result['restored']:,} leads put back",
        headline=[
            f'The run of the dedup job "{job.name}" was undone'
            + (f" by {by.name}" if by else "")
            + f" at {account_time(utcnow(), account.timezone)}.",
            "Every lead it moved is back in its pool; the golden records have their values back.",
        ],
        tables=[
            Table(
                ["", "Leads"],
                [
                    ["Moved by the run", run.get("moved", "—")],
                    ["Put back in their pools", result["restored"]],
                    ["Changed since the run, left as they are", changed],
                ],
            )
        ],
        details=_dedup_details(job, account),
        next_steps=[f"The job's page keeps the run's report: {page}"],
        undo="An undone run cannot be undone again; make a new dedup job to run it again.",
        links=[("The job's page", page)],
    )


def dedup_cancelled(job: DedupJob, by: User | None, was_for: dt.datetime | None) -> ResultsEmail:
    account = db.session.get(Account, job.account_id)
    page = public_url(f"/dedup/{job.id}")
    when = account_time(was_for, account.timezone) if was_for else "—"
    return ResultsEmail(
        subject=f"Dedup cancelled: {job.name} — it will not run",
        headline=[
            f'The run of the dedup job "{job.name}" scheduled for {when} was cancelled'
            + (f" by {by.name}" if by else "")
            + ". No lead was moved.",
        ],
        tables=[_test_run_table(job)],
        details=_dedup_details(job, account),
        next_steps=[f"To deduplicate after all, make a new dedup job: {public_url('/dedup/new')}"],
        undo="Nothing to undo: the leads are as they were.",
        links=[("The job's page", page)],
    )
