"""The import's pool: a new pool is created with the wizard's settings when the import
first writes (committed with its first batch), and every pool an import writes into feeds
the import's campaign, so its leads count in the campaign's duplicate scope."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Import, LeadPool, PoolAssignment


def ensure_pool(imp: Import, user_id: int | None) -> LeadPool:
    """The import's pool: created (and assigned to the campaign) on first execution."""
    if imp.pool_id:
        pool = db.session.get(LeadPool, imp.pool_id)
        _assign(pool, imp.campaign_id)
        return pool
    settings = imp.settings or {}
    dup = imp.duplicate_settings or {}
    pool = LeadPool(
        account_id=imp.account_id,
        name=settings["pool_name"],
        description=settings.get("description", ""),
        owner_id=settings.get("owner_id") or user_id,
        priority=settings.get("priority", 5),
        # The wizard's advanced settings (seed 004): when the pool's leads may be used.
        active_from=_date(settings.get("active_from")),
        active_until=_date(settings.get("active_until")),
        day_offset=int(settings.get("day_offset") or 0),
        day_count=int(settings["day_count"]) if settings.get("day_count") else None,
        time_from=_time(settings.get("time_from")),
        time_until=_time(settings.get("time_until")),
        source_file_name=imp.file_name,
        duplicate_check_field=_check_field(dup)[:60],
        duplicate_processing=dup.get("action"),
        created_by_id=user_id,
        modified_by_id=user_id,
    )
    db.session.add(pool)
    db.session.flush()
    _assign(pool, imp.campaign_id)
    imp.pool_id = pool.id
    db.session.flush()
    return pool


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _time(text: str | None) -> dt.time | None:
    return dt.time.fromisoformat(text) if text else None


def _check_field(dup: dict) -> str:
    """The pool's duplicate-check field: ``phone1``, ``phone1|email`` (any of) or
    ``phone1+email`` (all of)."""
    match = dup.get("match", ["phone1"])
    return ("|" if dup.get("match_mode", "any") == "any" else "+").join(match)


def _assign(pool: LeadPool, campaign_id: int) -> None:
    """An imported pool feeds the import's campaign (and so counts in its duplicate scope)."""
    exists = db.session.scalar(
        sa.select(PoolAssignment.id).where(
            PoolAssignment.pool_id == pool.id, PoolAssignment.campaign_id == campaign_id
        )
    )
    if not exists:
        db.session.add(
            PoolAssignment(account_id=pool.account_id, pool_id=pool.id, campaign_id=campaign_id)
        )
        db.session.flush()
