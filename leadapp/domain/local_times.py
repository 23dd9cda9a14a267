"""Times written in a file, as stored: UTC.

A time with its own offset or zone letter (``2026-03-01T09:30:00-05:00``, ``...Z``) means
that instant; a time without one (``2026-03-01 09:30``, ``03/01/2026 9:30``) is the time
on the wall clock of the account that uploads it — a supervisor in Paris writes Paris time.
A date alone is midnight there. What cannot be read is NaT.
"""

from __future__ import annotations

import re

import pandas as pd

# An explicit offset or zone after the time of day: Z, +05:00, -0500, +05, UTC, GMT (a
# date alone, 2026-03-01, ends in "-01" and has none).
_HAS_ZONE = re.compile(
    r"(?:\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?)|\s(?:UTC|GMT))\s*$"
)


# Times outside these are no lead's (and outside what a nanosecond timestamp holds).
EARLIEST, LATEST = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")


def _bounded(values: pd.Series) -> pd.Series:
    """``values`` in nanoseconds, a time outside ``EARLIEST``..``LATEST`` as NaT."""
    if values.dtype == object:  # nothing could be read
        values = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    zone = values.dt.tz
    naive = values.dt.tz_localize(None) if zone is not None else values
    naive = naive.where(naive.between(EARLIEST, LATEST)).astype("datetime64[ns]")
    return naive.dt.tz_localize(zone) if zone is not None else naive


def _parse(text: pd.Series, **options) -> pd.Series:
    out = _bounded(pd.to_datetime(text, errors="coerce", format="ISO8601", **options))
    retry = out.isna() & text.notna()
    if retry.any():
        again = _bounded(pd.to_datetime(text[retry], errors="coerce", format="mixed", **options))
        out = out.copy()
        out[retry] = again
    return out


def to_utc(text: pd.Series, zone: str) -> pd.Series:
    """``text`` (times as written) as naive UTC datetimes; see the module's rules."""
    stripped = pd.Series(
        [v.strip() or None if isinstance(v, str) else None for v in text],
        index=text.index,
        dtype="object",
    )
    present = stripped.notna()
    zoned = pd.Series(
        [bool(v and _HAS_ZONE.search(v)) for v in stripped], index=text.index, dtype=bool
    )
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if zoned.any():
        aware = _parse(stripped[zoned], utc=True)
        out[zoned] = aware.dt.tz_localize(None)
    local = ~zoned & present
    if local.any():
        naive = _parse(stripped[local])
        if getattr(naive.dt, "tz", None) is not None:
            naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
        else:
            # A wall-clock time that does not exist (spring forward) moves forward; one that
            # happens twice (fall back) is taken as the first.
            naive = naive.dt.tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
            naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
        out[local] = naive
    return out
