"""Scheduling a Lead Deduplicator job, and claiming its run exactly once.

The last day a job can be scheduled is a day of the account's calendar: the page offers
today up to today + 8 days in the account's zone, and any time of that last day is taken."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, DedupJob
from leadapp.models.base import utcnow
from leadapp.services.dedup_settings import DedupError

MAX_DAYS_AHEAD = 8


def account_zone(account_id: int) -> ZoneInfo:
    account = db.session.get(Account, account_id)
    return ZoneInfo(account.timezone if account is not None else "UTC")


def _local(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC).astimezone(zone)


def last_schedulable_day(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The last day a job can run: today + 8 days in the account's calendar (``now`` is
    naive UTC). The page's date picker offers the same day; every time of it is taken."""
    return _local(now, zone).date() + dt.timedelta(days=MAX_DAYS_AHEAD)


def scheduled_job(exclude: DedupJob | None = None) -> DedupJob | None:
    query = sa.select(DedupJob).where(DedupJob.status == "scheduled")
    if exclude is not None and exclude.id is not None:
        query = query.where(DedupJob.id != exclude.id)
    return db.session.scalar(query.limit(1))


def schedule(
    job: DedupJob,
    when: dt.datetime,
    emails: list[str],
    *,
    acknowledged: bool,
    user_id: int | None,
    now: dt.datetime | None = None,
    zone: ZoneInfo | None = None,
) -> None:
    """Schedule ``job`` for ``when`` (UTC). The rules of the seed product: a test run first,
    the acknowledgement ticked, at least one email address, a time from now to the end of
    the 8th day ahead in the account's calendar (``zone``, by default the account's), and
    one scheduled job per account. The caller commits, then enqueues."""
    now = now or utcnow()
    zone = zone or account_zone(job.account_id)
    if not job.test_results:
        raise DedupError("Start a test run and look at its results before scheduling the job.")
    if not acknowledged:
        raise DedupError(
            "Tick the acknowledgement that the numbers will change with the data at the time "
            "of the run, then apply the changes again."
        )
    if not emails:
        raise DedupError("Give at least one email address for the confirmations.")
    if when <= now:
        raise DedupError("Choose a date and time in the future.")
    last = last_schedulable_day(now, zone)
    if _local(when, zone).date() > last:
        raise DedupError(
            f"A job can be scheduled up to {last.isoformat()} ({MAX_DAYS_AHEAD} days ahead, "
            "in the account's time zone)."
        )
    other = scheduled_job(exclude=job)
    if other is not None:
        raise DedupError(
            f"The job '{other.name}' is already scheduled; unschedule it first "
            "(one scheduled job per account)."
        )
    job.scheduled_for = when
    job.emails = list(emails)
    job.acknowledged_by_id = user_id
    job.acknowledged_at = now
    job.status = "scheduled"
    db.session.flush()


def unschedule(job: DedupJob) -> None:
    """Removing the date unschedules the job; its test run results stay."""
    job.scheduled_for = None
    if job.status == "scheduled":
        job.status = "tested" if job.test_results else "draft"
    db.session.flush()


def claim_for_run(job: DedupJob, resume: bool = False, row_id: int | None = None) -> bool:
    """Mark a scheduled job running, atomically: of two deliveries of the same run (two
    schedulers, a retried job), only the first gets True. ``resume`` also claims a job a
    killed worker left running — only for the background-job row ``row_id`` it was handed
    over to (``hand_over``)."""
    allowed = DedupJob.status == "scheduled"
    if resume:
        allowed = sa.or_(allowed, sa.and_(DedupJob.status == "running", DedupJob.job_id == row_id))
    claimed = db.session.execute(
        sa.update(DedupJob)
        .where(DedupJob.id == job.id, allowed)
        .values(status="running", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(job)
    return bool(claimed)


def hand_over(job: DedupJob, from_row: int | None, to_row: int) -> bool:
    """Give a stopped run to the background-job row ``to_row`` — only if it is still the
    run of ``from_row`` (the row seen stalled): of two resumes started together, exactly
    one gets it. The caller commits."""
    taken = db.session.execute(
        sa.update(DedupJob)
        .where(
            DedupJob.id == job.id,
            DedupJob.status == "running",
            DedupJob.job_id.is_not_distinct_from(from_row),
        )
        .values(job_id=to_row, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(job)
    return bool(taken)
