"""A lead's time zone: the resolution order of the import (DESIGN.md section 3.1).

Business rule, first answer wins, and the source is recorded per lead:

1. ``field``: the mapped time-zone column, when it holds a valid IANA name
   (``Europe/Berlin``); a non-empty value that is not one is refused with a reason and the
   lead falls through to the next steps;
2. ``rule``: the first rule ``(field, value, zone)`` whose field equals the value (trimmed,
   case-insensitive), e.g. ``("state", "NSW", "Australia/Sydney")``;
3. ``number``: the phone number's own zone, when the number has exactly one; a number
   spanning several zones is flagged (``several_zones``) and not used;
4. ``default``: the campaign's default zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from leadapp.domain.phones import number_time_zones

__all__ = ["REASON_TEXT", "is_valid_zone", "resolve_timezones", "valid_zones", "check_rules"]

REASON_TEXT = {
    "invalid_timezone": "The time zone is not a known IANA name (like America/New_York).",
}


@lru_cache(maxsize=1)
def valid_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows (zoneinfo / tzdata)."""
    return frozenset(zoneinfo.available_timezones())


def is_valid_zone(name: object) -> bool:
    return isinstance(name, str) and name.strip() in valid_zones()


def check_rules(rules: Iterable[Sequence[str]] | None) -> list[tuple[str, str, str]]:
    """Rules as (field, value, zone) tuples; a rule naming an unknown zone is refused."""
    out = []
    for rule in rules or []:
        field, value, zone = rule
        if not is_valid_zone(zone):
            raise ValueError(f"The rule {field} = {value} names an unknown time zone {zone!r}.")
        out.append((field, str(value), zone.strip()))
    return out


def _text(series: pd.Series) -> pd.Series:
    return series.astype("str").fillna("").str.strip()


def resolve_timezones(
    df: pd.DataFrame,
    *,
    tz_field: str | None = "timezone",
    rules: Iterable[Sequence[str]] | None = None,
    e164: pd.Series | None = None,
    phone_field: str = "phone1",
    default_zone: str | None = None,
) -> pd.DataFrame:
    """Resolve each lead's zone; returns ``timezone``, ``zone_source``, ``several_zones``,
    ``reason`` (``invalid_timezone`` or missing), indexed like ``df``.

    ``e164`` is the phone column already normalised (defaults to ``df[phone_field]``, which
    must then hold E.164 values). ``default_zone`` must be a valid IANA name or None.
    """
    if default_zone is not None and not is_valid_zone(default_zone):
        raise ValueError(f"The default time zone {default_zone!r} is not a known IANA name.")
    rules = check_rules(rules)
    n = len(df)
    zone = np.full(n, None, dtype=object)
    source = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    todo = np.ones(n, dtype=bool)

    if tz_field and tz_field in df.columns:
        given = _text(df[tz_field])
        ok = given.isin(valid_zones()).to_numpy()
        zone[ok] = given[ok].to_numpy()
        source[ok] = "field"
        reason[(given != "").to_numpy() & ~ok] = "invalid_timezone"
        todo &= ~ok

    for field, value, rule_zone in rules:
        if field not in df.columns or not todo.any():
            continue
        hit = todo & (_text(df[field]).str.casefold() == value.strip().casefold()).to_numpy()
        zone[hit] = rule_zone
        source[hit] = "rule"
        todo &= ~hit

    if e164 is None and phone_field in df.columns:
        e164 = df[phone_field]
    several = np.zeros(n, dtype=bool)
    if e164 is not None:
        tz = number_time_zones(pd.Series(e164.to_numpy(), index=df.index))
        several = tz["several_zones"].to_numpy(dtype=bool)
        single = tz["timezone"].notna().to_numpy()
        hit = todo & single
        zone[hit] = tz["timezone"].to_numpy()[hit]
        source[hit] = "number"
        todo &= ~hit

    if default_zone is not None:
        zone[todo] = default_zone
        source[todo] = "default"

    return pd.DataFrame(
        {
            "timezone": pd.array(zone, dtype="str"),
            "zone_source": pd.array(source, dtype="str"),
            "several_zones": several,
            "reason": pd.array(reason, dtype="str"),
        },
        index=df.index,
    )
