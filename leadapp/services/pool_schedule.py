"""When a pool's leads may be used, in the database: its day offset, day count and time
range (the rules are leadapp/domain/pool_schedule.py), its start, and its status word
(Active, Scheduled, Ended, Inactive)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from leadapp.domain.pool_schedule import Distribution
from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.services.pools import ready_clause


def distribution(pool: LeadPool) -> Distribution:
    return Distribution(pool.day_offset or 0, pool.day_count, pool.time_from, pool.time_until)


def pool_start(pool: LeadPool, zone: str) -> dt.date:
    """The day the pool starts: its "active from" date, else the day it was created (in
    the account's zone)."""
    if pool.active_from:
        return pool.active_from
    created = (pool.created_at or utcnow()).replace(tzinfo=dt.UTC)
    try:
        return created.astimezone(ZoneInfo(zone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return created.date()


def status_word(pool: LeadPool, today: dt.date, zone: str) -> tuple[str, dt.date | None]:
    """What the pool is today, as the grid and the pool page say it: "Inactive" (switched
    off, or the system pool), "Ended" (its active dates are over), "Scheduled" with the
    day dialling starts (its active dates, or its day offset, start in the future), else
    "Active"."""
    if pool.status != "active" or pool.is_system:
        return "Inactive", None
    if pool.active_until and pool.active_until < today:
        return "Ended", None
    first = distribution(pool).first_day(pool_start(pool, zone))
    if first > today:
        return "Scheduled", first
    return "Active", None


def released_clause(pool: LeadPool, today: dt.date, zone: str):
    """Its leads that the day offset and day count have released by ``today`` (a SQL
    condition on ``Lead``): the first positions of the dial order."""
    released = distribution(pool).released(today, pool_start(pool, zone), pool.dial_order_next)
    if released is None:
        return sa.true()
    return Lead.dial_order < released


def ready_today(pool: LeadPool, today: dt.date, zone: str) -> int:
    """Its ready leads (``ready_clause``) that the day offset and day count have released by
    ``today``: what the pool page shows as ready to dial."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(
                Lead.pool_id == pool.id, ready_clause(), released_clause(pool, today, zone)
            )
        )
        or 0
    )
