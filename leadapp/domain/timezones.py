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

from leadapp.domain import zone_evidence
from leadapp.domain.calling_hours import lead_zone_key
from leadapp.domain.phones import number_time_zones
from leadapp.domain.subdivisions import subdivision_code, zone_country

__all__ = [
    "REASON_TEXT",
    "SOURCE_TEXT",
    "is_valid_zone",
    "resolve_timezones",
    "valid_zones",
    "check_rules",
]

# How each source reads to a supervisor (lead page, Check data).
SOURCE_TEXT = {
    "field": "from the file",
    "rule": "from a rule",
    "postal": "from the postal code",
    "state": "from the state",
    "number": "from the phone number",
    "default": "campaign default",
    "several": "campaign default",
}

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


def _country_codes(series: pd.Series) -> pd.Series:
    text = _text(series).str.upper()
    return text.where(text.str.fullmatch(r"[A-Z]{2}"), "")


def resolve_timezones(
    df: pd.DataFrame,
    *,
    tz_field: str | None = "timezone",
    rules: Iterable[Sequence[str]] | None = None,
    e164: pd.Series | None = None,
    phone_field: str = "phone1",
    default_zone: str | None = None,
    region: str | None = None,
) -> pd.DataFrame:
    """Resolve each lead's zone (the module's order); returns ``timezone``, ``zone_source``,
    ``several_zones`` (the number alone spans several zone groups), ``reason``
    (``invalid_timezone`` or missing), ``timezone_note`` (why the zone is unsure, else
    missing) and ``zone_key`` (the zones it may be in, country, state: calling hours),
    indexed like ``df``.

    ``e164`` is the phone column already normalised (defaults to ``df[phone_field]``, which
    must then hold E.164 values). ``default_zone`` must be a valid IANA name or None;
    ``region`` is the campaign's country, for leads whose country neither the file nor the
    number tells. The work is done once per distinct combination of evidence, not per row.
    """
    if default_zone is not None and not is_valid_zone(default_zone):
        raise ValueError(f"The default time zone {default_zone!r} is not a known IANA name.")
    rules = check_rules(rules)
    n = len(df)
    index = df.index
    blank = pd.Series("", index=index, dtype="str")
    reason = np.full(n, None, dtype=object)

    field_zone = blank
    if tz_field and tz_field in df.columns:
        given = _text(df[tz_field])
        ok = given.isin(valid_zones())
        field_zone = given.where(ok, "")
        reason[((given != "") & ~ok).to_numpy()] = "invalid_timezone"

    rule_zone = blank.copy()
    todo = (field_zone == "").to_numpy().copy()
    for field, value, zone in rules:
        if field not in df.columns or not todo.any():
            continue
        hit = todo & (_text(df[field]).str.casefold() == value.strip().casefold()).to_numpy()
        rule_zone[hit] = zone
        todo &= ~hit

    if e164 is None and phone_field in df.columns:
        e164 = df[phone_field]
    if e164 is not None:
        numbers = pd.Series(e164.to_numpy(), index=index)
        phone_zones = number_time_zones(numbers)["zones"].astype("str").fillna("")
        prefix = _text(numbers).str.slice(0, 12)
    else:
        phone_zones, prefix = blank, blank
    country = _country_codes(df["country"]) if "country" in df.columns else blank
    state = _text(df["state"]) if "state" in df.columns else blank
    postal = _text(df["postal_code"]) if "postal_code" in df.columns else blank

    evidence = pd.DataFrame(
        {
            "field": field_zone,
            "rule": rule_zone,
            "phone_zones": phone_zones,
            # The number's own evidence depends on its country and area code only.
            "prefix": prefix.str.slice(0, 5).where(~prefix.str.startswith("+61"), prefix),
            "country": country,
            "state": state,
            "postal": postal,
        }
    )
    combos = evidence.drop_duplicates()
    decided = {
        tuple(row): _decide(*row, default_zone=default_zone, region=region)
        for row in combos.itertuples(index=False, name=None)
    }
    keys = list(evidence.itertuples(index=False, name=None))
    out = pd.DataFrame(
        [decided[k] for k in keys],
        columns=["timezone", "zone_source", "several_zones", "timezone_note", "zone_key"],
        index=index,
    )
    for col in ("timezone", "zone_source", "timezone_note", "zone_key"):
        out[col] = pd.array(out[col].to_numpy(dtype=object), dtype="str")
    out["several_zones"] = out["several_zones"].astype(bool)
    out["reason"] = pd.array(reason, dtype="str")
    return out[["timezone", "zone_source", "several_zones", "reason", "timezone_note", "zone_key"]]


def _some(zones: Sequence[str], shown: int = 4) -> str:
    """The first ``shown`` zones and how many more: a toll-free number may be in 15."""
    more = len(zones) - shown
    return ", ".join(zones[:shown]) + (f" and {more} more" if more > 0 else "")


def _decide(
    field: str,
    rule: str,
    phone_zones: str,
    prefix: str,
    country: str,
    state: str,
    postal: str,
    *,
    default_zone: str | None,
    region: str | None,
) -> tuple:
    """(zone, source, several_zones, note, zone_key) of one combination of evidence."""
    number = sorted(zone_evidence.number_zones(prefix or None, phone_zones.split("|")))
    # A 5-character prefix cannot tell an Australian 08 9 landline: the full number was
    # kept for +61 (few distinct values: fixed lines only matter by their first digits).
    number_groups = zone_evidence.group_zones(number) if number else []
    number_countries = {zone_country(z) for z in number} - {None}
    if not country:
        country = number_countries.pop() if len(number_countries) == 1 else (region or "")
    state_code = subdivision_code(country, state)
    postal_zone = zone_evidence.postal_zone(country, postal)
    in_state = zone_evidence.state_zones(country, state_code)

    def fits(zone: str, zones) -> bool:
        return any(zone_evidence.same_group(zone, z) for z in zones)

    state_zone = None
    if in_state:
        candidates = [z for z in in_state if not number or fits(z, number)] or list(in_state)
        if len(zone_evidence.group_zones(candidates)) == 1:
            state_zone = candidates[0]
    address = postal_zone or state_zone

    possible: list[str] = []
    note = None
    if field:
        zone, source = field, "field"
    elif rule:
        zone, source = rule, "rule"
    elif postal_zone:
        zone, source = postal_zone, "postal"
    elif state_zone:
        zone, source = state_zone, "state"
    elif len(number_groups) == 1:
        zone, source = (number[0] if len(number) == 1 else number_groups[0]), "number"
    else:
        zone, source = default_zone, ("default" if default_zone else None)
        # Unsure: the lead may be in any zone its number (within its state) allows.
        maybe = [z for z in number_groups if not in_state or fits(z, in_state)] or number_groups
        if len(maybe) > 1:
            if zone is None or not fits(zone, maybe):
                zone = zone_evidence.representative(maybe)
            possible = maybe
            note = f"zone unsure: the number may be in {len(maybe)} zones ({_some(maybe)})"
    if address and number and not fits(address, number):
        possible = [address, *number_groups]
        note = f"zones disagree: number says {', '.join(number_groups)}, address says {address}"
    several = len(number_groups) > 1
    key = lead_zone_key([zone, *possible], country, state) if zone else None
    return zone, source, several, note, key
