"""Calling hours in SQL: which leads may a campaign call at an instant? (issue 15)

Business rule (leadapp.domain.calling_hours): a lead may be called at ``at_utc`` when, in
every zone it may be in, the local weekday and time lie in the campaign's calling hours
(default 08:00-21:00), narrowed by its US state's stricter hours, and the local date is not
a public holiday of its country / state (when the campaign keeps holidays off). A lead with
no known zone is judged in the campaign's default zone.

Each lead carries ``zone_key`` (its possible zones, country and state): the rule is worked
out once per distinct key of the account (a few dozen), never per lead, and the answer is a
``zone_key IN (...)`` condition on an indexed column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from leadapp.domain.calling_hours import (
    DAY_KEYS,
    DAY_NAMES,
    DEFAULT_STATE_HOURS,
    CallingHours,
    allowed,
    allowed_for_key,
    calling_hours,
    format_time,
    hours_to_settings,
    lead_zone_key,
    state_lines,
)
from leadapp.domain.subdivisions import zone_country
from leadapp.extensions import db
from leadapp.models import Campaign, Lead, PoolAssignment
from leadapp.services import audit

__all__ = [
    "CallingHoursError",
    "describe",
    "set_calling_hours",
    "callable_condition",
    "lead_callable",
    "callable_keys",
    "campaign_hours",
    "default_zone_allowed",
    "lead_zone_key",
]


def campaign_hours(campaign: Campaign) -> CallingHours:
    """The campaign's calling hours (its stored settings over its daily window)."""
    return calling_hours(campaign.calling_hours, campaign.window_start, campaign.window_end)


def default_zone_allowed(campaign: Campaign, hours: CallingHours, at_utc: dt.datetime) -> bool:
    """Calling hours for a lead without a zone: the campaign's default zone and country."""
    zone = campaign.timezone
    return allowed([zone], zone_country(zone) or campaign.default_region, None, hours, at_utc)


def callable_keys(
    campaign: Campaign, at_utc: dt.datetime, keys: Iterable[str | None] | None = None
) -> tuple[list[str], bool]:
    """(the zone keys inside the calling hours at ``at_utc``, whether leads without a key
    are). ``keys`` defaults to every distinct key of the current account's leads."""
    if keys is None:
        keys = db.session.scalars(sa.select(Lead.zone_key).distinct())
    hours = campaign_hours(campaign)
    ok, none_ok = [], False
    for key in set(keys):
        if key is None:
            none_ok = default_zone_allowed(campaign, hours, at_utc)
        elif allowed_for_key(key, hours, at_utc):
            ok.append(key)
    return sorted(ok), none_ok


def callable_condition(
    campaign: Campaign, at_utc: dt.datetime, keys: Iterable[str | None] | None = None
) -> sa.ColumnElement[bool]:
    """A condition over ``Lead``: "inside ``campaign``'s calling hours at ``at_utc``" (the
    module's rule). Used by the grid's "Callable now", the lead page and the dial queue.
    ``keys``: the candidate leads' distinct zone keys, when the caller has them."""
    ok, none_ok = callable_keys(campaign, at_utc, keys)
    parts = []
    if ok:
        parts.append(Lead.zone_key.in_(ok))
    if none_ok:
        parts.append(Lead.zone_key.is_(None))
    return sa.or_(*parts) if parts else sa.false()


def lead_callable(lead: Lead, at_utc: dt.datetime) -> list[tuple[Campaign, bool]]:
    """For the lead page: (campaign, inside its calling hours now) for each campaign the
    lead's pool dials for, by the same rule and keys as ``callable_condition``."""
    campaigns = db.session.scalars(
        sa.select(Campaign)
        .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
        .where(PoolAssignment.pool_id == lead.pool_id, PoolAssignment.to_dial.is_(True))
        .order_by(Campaign.name)
    )
    out = []
    for campaign in campaigns:
        ok, none_ok = callable_keys(campaign, at_utc, [lead.zone_key])
        out.append((campaign, bool(ok) if lead.zone_key else none_ok))
    return out


class CallingHoursError(ValueError):
    """Calling hours the rules refuse; the message is one sentence a supervisor can act on."""


def describe(campaign: Campaign) -> dict:
    """The campaign's calling hours for its page: ``days`` [(weekday, "08:00-21:00" or
    "no calls")], ``states`` [(state, hours text, source or "")], ``holidays_off``."""
    hours = campaign_hours(campaign)
    days = [
        (DAY_NAMES[k], "no calls" if w is None else f"{format_time(w[0])}–{format_time(w[1])}")
        for k, w in zip(DAY_KEYS, hours.days, strict=True)
    ]
    lines = dict(line.split(": ", 1) for line in state_lines(hours).splitlines())
    sources = {k: v["source"] for k, v in DEFAULT_STATE_HOURS.items()}
    states = [(code, text, sources.get(code, "")) for code, text in lines.items()]
    return {"days": days, "states": states, "holidays_off": hours.holidays_off}


def set_calling_hours(campaign: Campaign, settings: dict, *, user_id: int | None) -> bool:
    """Store the campaign's calling hours (``days``, ``states``, ``holidays_off``, as
    ``leadapp.domain.calling_hours.calling_hours`` reads them), checked first; audited.
    Returns whether anything changed."""
    try:
        hours = calling_hours(settings, campaign.window_start, campaign.window_end)
    except ValueError as exc:
        raise CallingHoursError(str(exc)) from None
    stored = hours_to_settings(hours)
    if stored == hours_to_settings(campaign_hours(campaign)):
        return False
    campaign.calling_hours = stored
    audit.record(campaign.account_id, user_id, "campaign.calling_hours", campaign, **stored)
    db.session.flush()
    return True
