"""What a lead's address and number say about its time zone (issue 15, item 1).

Evidence, each as IANA zones:

* **US ZIP code** -> the zone of the ZIP in the ``zipcodes`` package (offline data refreshed
  monthly from the USPS-based ZIP database; see README "Time zones"). A ZIP+4 or a ZIP
  whose leading zeros a spreadsheet dropped ("2134") is read as its five digits.
* **Canadian postal code** -> its first letter's province (Canada Post's forward sortation
  areas: A NL, B NS, C PE, E NB, G H J QC, K L M N P ON, R MB, S SK, T AB, V BC, X NT/NU,
  Y YT) and its zone; the FSAs of north-western Ontario on Central time (Ontario's Time
  Act: Kenora and Rainy River districts, Dryden, Sioux Lookout), Labrador (A0P, A0R, A2V,
  Atlantic time), the Magdalen Islands (G4T) and Lloydminster (S9V, Alberta time) are
  listed; a code in a mixed area (V0C north-east BC, X Nunavut) gives no zone.
* **Australian postcode** -> its state by Australia Post's ranges (ACT 0200-0299,
  2600-2618, 2900-2920; NSW 1000-2599, 2619-2899, 2921-2999; NT 0800-0999; VIC 3000-3999,
  8000-8999; QLD 4000-4999, 9000-9999; SA 5000-5999; WA 6000-6999; TAS 7000-7999), with
  Broken Hill (2880, on South Australian time by the NSW Standard Time Act) and Lord Howe
  Island (2898), Christmas Island (6798) and the Cocos Islands (6799) on their own zones.
* **State / province** -> the zones of ``STATE_ZONES`` (US time-zone boundaries of
  49 CFR Part 71; Canadian provinces' and Australian states' standard-time acts). A state
  whose only exceptions are a few settlements reached by postal code (Alaska's Aleutians
  west of 169°30'W, Nevada's West Wendover, Arizona's Navajo Nation) counts as one zone.
* **Number**: phonenumbers' zones for the number, widened for a US number by the zones of
  every ZIP that uses its area code (``zipcodes``: 850 is Eastern and Central); an
  Australian 08 9 / 08 6 landline is Western Australia's (ACMA numbering plan).

Zones that keep the same UTC offset all year (America/Detroit and America/New_York) are one
"zone group": evidence "narrows to one" when its zones form one group.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "STATE_ZONES",
    "region_zones",
    "area_code_zones",
    "group_zones",
    "number_zones",
    "postal_zone",
    "representative",
    "same_group",
    "state_zones",
    "zip_zone",
]

STATE_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "US": {
        **{
            s: ("America/New_York",)
            for s in [
                "CT",
                "DC",
                "DE",
                "GA",
                "MA",
                "MD",
                "ME",
                "NC",
                "NH",
                "NJ",
                "NY",
                "OH",
                "PA",
                "RI",
                "SC",
                "VA",
                "VT",
                "WV",
            ]
        },
        **{
            s: ("America/Chicago",)
            for s in [
                "AL",
                "AR",
                "IA",
                "IL",
                "LA",
                "MN",
                "MO",
                "MS",
                "OK",
                "WI",
            ]
        },
        **{
            s: ("America/Denver",)
            for s in [
                "CO",
                "MT",
                "NM",
                "UT",
                "WY",
            ]
        },
        "AZ": ("America/Phoenix",),
        "CA": ("America/Los_Angeles",),
        "NV": ("America/Los_Angeles",),
        "WA": ("America/Los_Angeles",),
        "AK": ("America/Anchorage",),
        "HI": ("Pacific/Honolulu",),
        "FL": ("America/New_York", "America/Chicago"),
        "ID": ("America/Boise", "America/Los_Angeles"),
        "IN": ("America/Indiana/Indianapolis", "America/Chicago"),
        "KS": ("America/Chicago", "America/Denver"),
        "KY": ("America/New_York", "America/Chicago"),
        "MI": ("America/Detroit", "America/Menominee"),
        "ND": ("America/Chicago", "America/Denver"),
        "NE": ("America/Chicago", "America/Denver"),
        "OR": ("America/Los_Angeles", "America/Boise"),
        "SD": ("America/Chicago", "America/Denver"),
        "TN": ("America/Chicago", "America/New_York"),
        "TX": ("America/Chicago", "America/Denver"),
        "PR": ("America/Puerto_Rico",),
        "VI": ("America/St_Thomas",),
        "GU": ("Pacific/Guam",),
        "AS": ("Pacific/Pago_Pago",),
        "MP": ("Pacific/Saipan",),
    },
    "CA": {
        "NL": ("America/St_Johns", "America/Goose_Bay"),
        "NS": ("America/Halifax",),
        "PE": ("America/Halifax",),
        "NB": ("America/Moncton",),
        "QC": ("America/Toronto",),
        "ON": ("America/Toronto", "America/Winnipeg"),
        "MB": ("America/Winnipeg",),
        "SK": ("America/Regina",),
        "AB": ("America/Edmonton",),
        "BC": ("America/Vancouver",),
        "YT": ("America/Whitehorse",),
        "NT": ("America/Yellowknife",),
        "NU": ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    },
    "AU": {
        "NSW": ("Australia/Sydney",),
        "ACT": ("Australia/Sydney",),
        "VIC": ("Australia/Melbourne",),
        "QLD": ("Australia/Brisbane",),
        "SA": ("Australia/Adelaide",),
        "WA": ("Australia/Perth",),
        "TAS": ("Australia/Hobart",),
        "NT": ("Australia/Darwin",),
    },
    "GB": {},
}

_CA_LETTER = {
    "A": "America/St_Johns",
    "B": "America/Halifax",
    "C": "America/Halifax",
    "E": "America/Moncton",
    "G": "America/Toronto",
    "H": "America/Toronto",
    "J": "America/Toronto",
    "K": "America/Toronto",
    "L": "America/Toronto",
    "M": "America/Toronto",
    "N": "America/Toronto",
    "P": "America/Toronto",
    "R": "America/Winnipeg",
    "S": "America/Regina",
    "T": "America/Edmonton",
    "V": "America/Vancouver",
    "Y": "America/Whitehorse",
}
_CA_FSA = {
    **{f: "America/Winnipeg" for f in ("P0V", "P0W", "P0X", "P8N", "P8T", "P9A", "P9N")},
    **{f: "America/Goose_Bay" for f in ("A0P", "A0R", "A2V")},
    "G4T": "America/Halifax",
    "S9V": "America/Edmonton",
    "X1A": "America/Yellowknife",
    "V0C": None,
}
_AU_RANGES = [
    ((200, 299), "Australia/Sydney"),
    ((800, 999), "Australia/Darwin"),
    ((1000, 2599), "Australia/Sydney"),
    ((2600, 2618), "Australia/Sydney"),
    ((2619, 2899), "Australia/Sydney"),
    ((2900, 2999), "Australia/Sydney"),
    ((3000, 3999), "Australia/Melbourne"),
    ((4000, 4999), "Australia/Brisbane"),
    ((5000, 5999), "Australia/Adelaide"),
    ((6000, 6999), "Australia/Perth"),
    ((7000, 7999), "Australia/Hobart"),
    ((8000, 8999), "Australia/Melbourne"),
    ((9000, 9999), "Australia/Brisbane"),
]
_AU_POSTCODE = {
    2880: "Australia/Adelaide",  # Broken Hill
    2898: "Australia/Lord_Howe",
    6798: "Indian/Christmas",
    6799: "Indian/Cocos",
}
# Preferred names of each group, most populous first (else the first name alphabetically).
_PREFERRED = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "America/Edmonton",
    "America/Winnipeg",
    "America/Halifax",
    "America/Regina",
    "America/St_Johns",
    "Australia/Sydney",
    "Australia/Brisbane",
    "Australia/Adelaide",
    "Australia/Perth",
    "Australia/Darwin",
    "Europe/London",
]


@lru_cache(maxsize=1)
def _zip_data() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    import zipcodes  # ~0.5 s: loaded once per process, only where ZIPs or +1 numbers are read

    from leadapp.domain.timezones import valid_zones

    zones = valid_zones()
    by_zip: dict[str, str] = {}
    by_area: dict[str, set[str]] = {}
    for row in zipcodes.list_all():
        zone = row.get("timezone") or ""
        if zone not in zones:
            continue
        by_zip[row["zip_code"]] = zone
        for area in row.get("area_codes") or ():
            by_area.setdefault(str(area), set()).add(zone)
    return by_zip, {k: frozenset(v) for k, v in by_area.items()}


def zip_zone(text: object) -> str | None:
    """The zone of a US ZIP code (``32501``, ``32501-1234``, ``2134`` for 02134)."""
    if not isinstance(text, str):
        return None
    m = re.match(r"^\s*(\d{3,5})(?:[-\s]?\d{4})?\s*$", text)
    if not m:
        return None
    return _zip_data()[0].get(m.group(1).zfill(5))


def area_code_zones(area_code: str) -> frozenset[str]:
    """The zones of every US ZIP whose numbers use ``area_code`` (``850`` -> two)."""
    return _zip_data()[1].get(area_code, frozenset())


def postal_zone(country: str | None, text: object) -> str | None:
    """The zone a postal code says (US, CA and AU; see the module's rules), else None."""
    if not isinstance(text, str) or not text.strip() or not country:
        return None
    country = country.upper()
    if country == "US":
        return zip_zone(text)
    code = text.strip().upper().replace(" ", "")
    if country == "CA":
        if not re.match(r"^[A-Z]\d[A-Z]", code):
            return None
        if code[:3] in _CA_FSA:
            return _CA_FSA[code[:3]]
        return _CA_LETTER.get(code[0])
    if country == "AU":
        if not re.match(r"^\d{3,4}$", code):
            return None
        n = int(code)
        if n in _AU_POSTCODE:
            return _AU_POSTCODE[n]
        return next((zone for (lo, hi), zone in _AU_RANGES if lo <= n <= hi), None)
    return None


def state_zones(country: str | None, state_code: str | None) -> tuple[str, ...]:
    """The zones of a state / province (its code), empty when unknown."""
    if not country or not state_code:
        return ()
    return STATE_ZONES.get(country.upper(), {}).get(state_code.upper(), ())


def number_zones(e164: object, phone_zones: Iterable[str]) -> frozenset[str]:
    """The zones a number may be in: phonenumbers' (``phone_zones``), widened for a US area
    code by its ZIPs' zones, narrowed for an Australian 08 9 / 08 6 landline to Perth."""
    zones = {z for z in phone_zones if z and z != "Etc/Unknown"}
    if not isinstance(e164, str):
        return frozenset(zones)
    if e164.startswith(("+6189", "+6186")) and len(e164) == 12:
        return frozenset({"Australia/Perth"})
    if e164.startswith("+1") and len(e164) >= 5:  # the area code is enough
        zones |= area_code_zones(e164[2:5])
    return frozenset(zones)


@lru_cache(maxsize=4096)
def _signature(zone: str) -> tuple:
    """The zone's UTC offsets through this year and the next (twice a month)."""
    tz = ZoneInfo(zone)
    year = dt.date.today().year
    return tuple(
        dt.datetime(y, m, d, 12, tzinfo=dt.UTC).astimezone(tz).utcoffset()
        for y in (year, year + 1)
        for m in range(1, 13)
        for d in (1, 15)
    )


def same_group(a: str, b: str) -> bool:
    """Do two zones keep the same offset all year (one "zone group")?"""
    return a == b or _signature(a) == _signature(b)


def representative(zones: Iterable[str]) -> str:
    """The name shown for zones of one group: the preferred one, else the first."""
    zones = sorted(zones)
    return next((p for p in _PREFERRED if p in zones), zones[0])


def group_zones(zones: Iterable[str]) -> list[str]:
    """One representative zone per zone group, sorted."""
    groups: dict[tuple, list[str]] = {}
    for zone in zones:
        groups.setdefault(_signature(zone), []).append(zone)
    return sorted(representative(g) for g in groups.values())


def region_zones(region: str | None) -> list[str]:
    """The time zones of a country, one per zone group (``GB`` -> Europe/London; ``US`` ->
    eight, from America/New_York to Pacific/Honolulu), most populous first."""
    from leadapp.domain.subdivisions import country_zones

    reps = group_zones(country_zones(region))
    order = {z: i for i, z in enumerate(_PREFERRED)}
    return sorted(reps, key=lambda z: (order.get(z, len(order)), z))
