"""When the dial queue may use a pool and call a time zone: the one place the queue asks
about days and hours (issue 18). The rules are others': a pool's active dates, day offset,
day count and time range are ``domain.pool_schedule``'s; calling hours are the campaign's
(``services.calling_hours``, issue 15: every zone a lead may be in, its state's stricter
hours, holidays). Pure reads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadapp.domain.calling_hours import parse_zone_key
from leadapp.domain.pool_schedule import Distribution
from leadapp.models import Account, Campaign, LeadPool
from leadapp.services import calling_hours


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _aware(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def account_day(account: Account, at: dt.datetime) -> dt.date:
    """The account's calendar day at ``at`` (pools' active dates are days of the account)."""
    zone = _zone(account.timezone) or dt.UTC
    return _aware(at).astimezone(zone).date()


def distribution(pool: LeadPool) -> Distribution:
    return Distribution(
        day_offset=pool.day_offset or 0,
        day_count=pool.day_count,
        time_from=pool.time_from,
        time_until=pool.time_until,
    )


def pool_start(pool: LeadPool) -> dt.date:
    """The day the pool starts: its "active from" date, else the day it was created."""
    return pool.active_from or (pool.created_at.date() if pool.created_at else dt.date.today())


def pool_closed(pool: LeadPool, today: dt.date) -> str | None:
    """Why the pool gives no lead on ``today`` at all (None when it may)."""
    if pool.is_system:
        return "it is the system Inactive pool"
    if pool.status != "active":
        return "the pool is inactive"
    if pool.active_from and today < pool.active_from:
        return f"its active dates start on {pool.active_from:%d %b %Y}"
    if pool.active_until and today > pool.active_until:
        return f"its active dates ended on {pool.active_until:%d %b %Y}"
    first = distribution(pool).first_day(pool_start(pool))
    if today < first:
        return f"its day offset holds it until {first:%d %b %Y}"
    return None


def released(pool: LeadPool, today: dt.date) -> int | None:
    """Dial-order positions released on ``today`` by the day count (None: all)."""
    size = getattr(pool, "dial_order_next", None) or pool.total_count or 0
    return distribution(pool).released(today, pool_start(pool), size)


def open_zones(
    campaign: Campaign,
    pool: LeadPool,
    at: dt.datetime,
    keys: list[str | None],
    seen: dict | None = None,
) -> list[str | None]:
    """Those of the pool's zone keys (``Lead.zone_key``; None: no zone known, read in the
    campaign's zone) that may be called at ``at``: inside the campaign's calling hours by
    issue 15's rule (``calling_hours.callable_keys``) and, in every zone the key allows,
    inside the pool's time range. ``seen``: the calling-hours answers already worked out
    for this campaign at this ``at`` (per set of keys), for the campaign's other pools."""
    found = None if seen is None else seen.get(frozenset(keys))
    if found is None:
        found = calling_hours.callable_keys(campaign, at, keys)
        if seen is not None:
            seen[frozenset(keys)] = found
    ok, none_ok = found
    allowed = set(ok)
    rule = distribution(pool)
    out = []
    for key in keys:
        if key is None:
            if not none_ok:
                continue
            zones: tuple[str, ...] = (campaign.timezone,)
        elif key in allowed:
            zones = parse_zone_key(key)[0]
        else:
            continue
        locals_ = [_aware(at).astimezone(z).time() for z in map(_zone, zones) if z]
        if len(locals_) == len(zones) and all(rule.in_time_range(t) for t in locals_):
            out.append(key)
    return out
