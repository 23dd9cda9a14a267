"""Calling hours: may a lead be called at a given instant? (issue 15, item 4)

Business rule. A campaign has calling hours in the lead's own local time, per weekday
(default 08:00-21:00 every day, the TCPA window; a day without hours is not called). At an
instant ``at_utc`` a lead may be called when, in **every** zone it may be in:

1. the local weekday has hours and the local time lies in them (start inclusive, end
   exclusive: with 08:00-21:00, 07:59 and 21:00 are refused, 08:00 and 20:59 allowed);
2. for a US lead whose state has stricter hours (``DEFAULT_STATE_HOURS``, editable per
   campaign), the local time also lies in the state's hours for that weekday;
3. when the campaign keeps public holidays off, the local date is not a public holiday of
   the lead's country (and state / province when known), as the ``holidays`` package says.

A lead whose zone is unsure (several possible zones) is callable only when all of them
allow it. The zones, country and state a lead's answer depends on are kept together in its
``zone_key`` (see ``zone_key``), so a service works the answer out once per distinct key
and selects leads in SQL by key.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadapp.domain.subdivisions import subdivision_code, zone_country

__all__ = [
    "DAY_KEYS",
    "DEFAULT_STATE_HOURS",
    "CallingHours",
    "allowed",
    "allowed_for_key",
    "allowed_in_zone",
    "calling_hours",
    "format_time",
    "hours_to_settings",
    "lead_zone_key",
    "parse_zone_key",
    "public_holiday",
    "state_lines",
    "parse_state_lines",
    "window_on",
    "zone_key",
]

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
Window = tuple[dt.time, dt.time]
EIGHT_TO_EIGHT = ["08:00", "20:00"]

# States with telemarketing hours stricter than the federal 08:00-21:00, lead-local time,
# as shipped (a starting point to check with counsel; each campaign may replace it).
# Weekdays not listed keep the campaign's hours; ``None`` means no calls that day.
DEFAULT_STATE_HOURS: dict[str, dict] = {
    "US-AL": {
        "source": "Alabama Telemarketing Act, Ala. Code 8-19C; no calls on Sundays",
        "hours": {**{d: EIGHT_TO_EIGHT for d in DAY_KEYS[:6]}, "sun": None},
    },
    "US-CT": {
        "source": "Conn. Gen. Stat. 42-288a (2023): 9 a.m. to 8 p.m.",
        "hours": {d: ["09:00", "20:00"] for d in DAY_KEYS},
    },
    "US-FL": {
        "source": "Florida Telephone Solicitation Act, Fla. Stat. 501.059(8)(a): 8 a.m. to 8 p.m.",
        "hours": {d: EIGHT_TO_EIGHT for d in DAY_KEYS},
    },
    "US-LA": {
        "source": "Louisiana Telephone Solicitation Relief Act, La. R.S. 45:844.11 ff.; "
        "8 a.m. to 8 p.m., no calls on Sundays",
        "hours": {**{d: EIGHT_TO_EIGHT for d in DAY_KEYS[:6]}, "sun": None},
    },
    "US-MA": {
        "source": "Massachusetts telemarketing law, M.G.L. c. 159C: 8 a.m. to 8 p.m.",
        "hours": {d: EIGHT_TO_EIGHT for d in DAY_KEYS},
    },
    "US-MD": {
        "source": "Maryland Stop the Spam Calls Act, Md. Com. Law 14-4502: 8 a.m. to 8 p.m.",
        "hours": {d: EIGHT_TO_EIGHT for d in DAY_KEYS},
    },
    "US-MS": {
        "source": "Mississippi Telephone Solicitation Act, Miss. Code 77-3-725; "
        "8 a.m. to 8 p.m., no calls on Sundays",
        "hours": {**{d: EIGHT_TO_EIGHT for d in DAY_KEYS[:6]}, "sun": None},
    },
    "US-OK": {
        "source": "Oklahoma Telephone Solicitation Act, 15 O.S. 775C.4: 8 a.m. to 8 p.m.",
        "hours": {d: EIGHT_TO_EIGHT for d in DAY_KEYS},
    },
    "US-RI": {
        "source": "R.I. Gen. Laws 5-61-3.5: weekdays 9 a.m. to 6 p.m., Saturdays "
        "10 a.m. to 5 p.m., no calls on Sundays",
        "hours": {
            **{d: ["09:00", "18:00"] for d in DAY_KEYS[:5]},
            "sat": ["10:00", "17:00"],
            "sun": None,
        },
    },
    "US-TX": {
        "source": "Tex. Bus. & Com. Code 301.051: 9 a.m. to 9 p.m., Sundays noon to 9 p.m.",
        "hours": {**{d: ["09:00", "21:00"] for d in DAY_KEYS[:6]}, "sun": ["12:00", "21:00"]},
    },
    "US-WA": {
        "source": "RCW 80.36.390: 8 a.m. to 8 p.m.",
        "hours": {d: EIGHT_TO_EIGHT for d in DAY_KEYS},
    },
}

# In a state's week: the campaign's own hours apply that day.
KEEP = "keep"

_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class CallingHours:
    """A campaign's calling hours: ``days`` holds one window per weekday (Monday first;
    ``None`` = no calls), ``states`` the stricter windows by ``"US-FL"``-style key
    (``KEEP`` on a day the state adds nothing),
    ``holidays_off`` whether public holidays are off."""

    days: tuple[Window | None, ...]
    states: Mapping[str, tuple[Window | None, ...]] = field(default_factory=dict)
    holidays_off: bool = True


def _time(text: object, what: str) -> dt.time:
    if isinstance(text, dt.time):
        return text
    m = _TIME.match(str(text).strip()) if text is not None else None
    if not m:
        raise ValueError(f"{what}: {text!r} is not a time like 08:00.")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24 and minute == 0:
        return dt.time.max  # 24:00: until the end of the day
    if hour == 24:
        raise ValueError(f"{what}: {text!r} is not a time like 08:00.")
    return dt.time(hour, minute)


def _window(value: object, what: str) -> Window | None:
    if value is None or value == "" or value == []:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"{what}: give a start and an end, like 08:00-21:00.")
    start, end = _time(value[0], what), _time(value[1], what)
    if not start < end:
        raise ValueError(f"{what}: the start ({value[0]}) must come before the end ({value[1]}).")
    return (start, end)


def _week(days: Mapping | None, base: tuple[Window | None, ...], what: str) -> tuple:
    days = days or {}
    unknown = set(days) - set(DAY_KEYS)
    if unknown:
        raise ValueError(f"{what}: unknown weekday {sorted(unknown)[0]!r} (use mon..sun).")
    return tuple(
        _window(days[k], f"{what}, {DAY_NAMES[k]}") if k in days else base[i]
        for i, k in enumerate(DAY_KEYS)
    )


def calling_hours(
    settings: Mapping | None,
    start: dt.time = dt.time(8, 0),
    end: dt.time = dt.time(21, 0),
) -> CallingHours:
    """A campaign's calling hours from its stored settings (``Campaign.calling_hours``).

    ``settings`` may hold ``days`` ({"mon": ["08:00", "21:00"], "sun": null, ...}; a day
    not given keeps ``start``-``end``), ``states`` (replaces ``DEFAULT_STATE_HOURS``; each
    value either a week like ``days`` or ``{"hours": week}``) and ``holidays_off``
    (default true). Raises ValueError with a sentence a supervisor can act on.
    """
    settings = settings or {}
    base = (_window([start, end], "Calling hours"),) * 7
    days = _week(settings.get("days"), base, "Calling hours")
    states_in = settings.get("states")
    if states_in is None:
        states_in = DEFAULT_STATE_HOURS
    states = {}
    for key, value in states_in.items():
        code = str(key).strip().upper()
        if not re.match(r"^[A-Z]{2}-[A-Z0-9]{1,3}$", code):
            raise ValueError(f"State hours: {key!r} is not a state like US-FL.")
        week = value.get("hours", value) if isinstance(value, Mapping) else None
        if not isinstance(week, Mapping):
            raise ValueError(f"State hours for {code}: give hours per weekday.")
        week = {k: v for k, v in week.items() if k != "source"}
        states[code] = _week(week, (KEEP,) * 7, code)
    return CallingHours(
        days=days, states=states, holidays_off=bool(settings.get("holidays_off", True))
    )


def format_time(t: dt.time) -> str:
    """``08:00``; the end of the day as ``24:00``."""
    return "24:00" if t == dt.time.max else t.strftime("%H:%M")


def hours_to_settings(hours: CallingHours) -> dict:
    """The JSON form ``calling_hours`` reads back (states' unlisted days are left out)."""

    def week(windows, skip_keep=False):
        out = {}
        for k, w in zip(DAY_KEYS, windows, strict=True):
            if skip_keep and w == KEEP:
                continue
            out[k] = None if w is None else [format_time(w[0]), format_time(w[1])]
        return out

    return {
        "days": week(hours.days),
        "states": {k: week(v, skip_keep=True) for k, v in hours.states.items()},
        "holidays_off": hours.holidays_off,
    }


@lru_cache(maxsize=512)
def _holiday_calendar(country: str, state: str | None, year: int):
    import holidays  # imported here: its country modules load on first use

    try:
        return holidays.country_holidays(country, subdiv=state or None, years=year)
    except (NotImplementedError, KeyError):
        return None  # a country the package does not know has no holidays here
    except Exception:  # noqa: BLE001 - an unknown subdivision: the country's own holidays
        if state:
            return _holiday_calendar(country, None, year)
        return None


def public_holiday(country: str | None, state: str | None, day: dt.date) -> str | None:
    """The name of the public holiday on ``day`` in ``country`` (and ``state``), else None."""
    if not country:
        return None
    calendar = _holiday_calendar(country.upper(), (state or "").upper() or None, day.year)
    return calendar.get(day) if calendar is not None else None


def window_on(
    hours: CallingHours, day: dt.date, country: str | None, state: str | None
) -> Window | None:
    """The hours a lead of ``country``/``state`` may be called on its local ``day``: the
    campaign's hours of that weekday narrowed by the state's; None when not at all."""
    window = hours.days[day.weekday()]
    if window is None:
        return None
    if country and state:
        week = hours.states.get(f"{country.upper()}-{state.upper()}")
        if week is not None:
            strict = week[day.weekday()]
            if strict is None:
                return None
            if strict != KEEP:
                start, end = max(window[0], strict[0]), min(window[1], strict[1])
                if not start < end:
                    return None
                window = (start, end)
    if hours.holidays_off and public_holiday(country, state, day):
        return None
    return window


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _utc(at_utc: dt.datetime) -> dt.datetime:
    return at_utc.replace(tzinfo=dt.UTC) if at_utc.tzinfo is None else at_utc


def allowed_in_zone(
    zone: str, country: str | None, state: str | None, hours: CallingHours, at_utc: dt.datetime
) -> bool:
    """Calling hours in one zone (see the module's rule); an unknown zone allows nothing."""
    tz = _zone(zone)
    if tz is None:
        return False
    local = _utc(at_utc).astimezone(tz)
    window = window_on(hours, local.date(), country, state)
    if window is None:
        return False
    now = local.time().replace(tzinfo=None)
    return window[0] <= now < window[1] or (window[1] == dt.time.max and now >= window[0])


def allowed(
    zones: Iterable[str],
    country: str | None,
    state: str | None,
    hours: CallingHours,
    at_utc: dt.datetime,
) -> bool:
    """May a lead that may be in any of ``zones`` be called at ``at_utc``? Only when every
    zone allows it; no zone at all allows nothing."""
    zones = [z for z in zones if z]
    return bool(zones) and all(allowed_in_zone(z, country, state, hours, at_utc) for z in zones)


def zone_key(zones: Iterable[str], country: str | None, state: str | None) -> str | None:
    """What a lead's calling hours depend on, as one indexed text: its possible zones
    (sorted, joined by ``,``), ``|``, its country code, ``|``, its state / province code.
    None when no zone is known (the campaign's default zone applies)."""
    names = sorted({z.strip() for z in zones if z and z.strip()})
    if not names:
        return None
    return f"{','.join(names)}|{(country or '').upper()}|{(state or '').upper()}"


def lead_zone_key(zones: Iterable[str | None], country: str | None, state: object) -> str | None:
    """The ``zone_key`` of a lead that may be in ``zones`` (the first is its own zone):
    the country is the lead's, else its zone's; the state is kept as its code when the
    country knows it (holidays and state hours are looked up by code)."""
    zones = [z for z in zones if z]
    if not zones:
        return None
    country = (country or "").strip().upper() or zone_country(zones[0])
    return zone_key(zones, country, subdivision_code(country, state))


def parse_zone_key(key: str | None) -> tuple[tuple[str, ...], str | None, str | None]:
    """(zones, country, state) of a ``zone_key`` (no zones for None)."""
    if not key:
        return (), None, None
    zones, _, rest = key.partition("|")
    country, _, state = rest.partition("|")
    return tuple(z for z in zones.split(",") if z), country or None, state or None


def allowed_for_key(key: str | None, hours: CallingHours, at_utc: dt.datetime) -> bool:
    """``allowed`` for the leads of one ``zone_key``."""
    zones, country, state = parse_zone_key(key)
    return allowed(zones, country, state, hours, at_utc)


def _window_text(w) -> str:
    return "off" if w is None else f"{format_time(w[0])}-{format_time(w[1])}"


def state_lines(hours: CallingHours) -> str:
    """The state table as text a supervisor edits, one state a line:
    ``US-TX: 09:00-21:00, sun 12:00-21:00`` (the most common window first, then the days
    that differ; ``off``: no calls that day)."""
    lines = []
    for code, week in sorted(hours.states.items()):
        kept = [w for w in week if w != KEEP]
        common = max(kept, key=kept.count) if kept else KEEP
        parts = [] if common == KEEP else [_window_text(common)]
        parts += [
            f"{k} {_window_text(w)}"
            for k, w in zip(DAY_KEYS, week, strict=True)
            if w != common and w != KEEP
        ]
        lines.append(f"{code}: {', '.join(parts)}")
    return "\n".join(lines)


def parse_state_lines(text: str) -> dict[str, dict]:
    """The ``states`` settings from ``state_lines``' text; raises ValueError naming the line."""
    states: dict[str, dict] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        code, sep, rest = line.partition(":")
        if not sep:
            raise ValueError(f"State hours, line {number}: write it like US-FL: 08:00-20:00.")
        week: dict[str, object] = {}
        for part in (p.strip() for p in rest.split(",")):
            if not part:
                continue
            day, _, window = part.partition(" ") if part[:3].lower() in DAY_KEYS else ("", "", part)
            value = None if window.strip().lower() in ("off", "none") else window.split("-", 1)
            if value is not None and len(value) != 2:
                raise ValueError(
                    f"State hours, line {number}: {part!r} is not hours like 08:00-20:00."
                )
            if day:
                week[day.lower()] = value
            else:
                week.update({k: value for k in DAY_KEYS if k not in week})
        states[code.strip().upper()] = week
    return states
