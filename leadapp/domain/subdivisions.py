"""States and provinces as their codes, and the country a time zone belongs to.

Business rule: a lead's state / province is compared and stored as its code (``AK``,
``WA``, ``QLD``, ``ON``): the names the ``holidays`` package knows for each subdivision
("Western Australia", "Colombie-Britannique") are read as their code, a code is kept as it
is, anything else is not a known subdivision. The country of a zone comes from the tz
database's own ``zone.tab`` (``America/Anchorage`` -> ``US``).
"""

from __future__ import annotations

import importlib.resources
import unicodedata
from functools import lru_cache

__all__ = ["country_zones", "subdivision_code", "subdivisions", "zone_country"]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace(".", " ").replace("-", " ").split())


@lru_cache(maxsize=64)
def _names(country: str) -> dict[str, str] | None:
    import holidays  # imported here: ~0.3 s, paid only where states are read

    if country not in holidays.list_supported_countries():
        return None
    cls = getattr(holidays, country, None)
    if cls is None:
        return None
    names = {_fold(code): code for code in getattr(cls, "subdivisions", ()) or ()}
    for alias, code in (getattr(cls, "subdivisions_aliases", {}) or {}).items():
        names.setdefault(_fold(alias), code)
    return names


def subdivisions(country: str | None) -> frozenset[str]:
    """The subdivision codes of ``country`` (empty for an unknown country)."""
    names = _names((country or "").upper()) if country else None
    return frozenset(names.values()) if names else frozenset()


def subdivision_code(country: str | None, state: object) -> str | None:
    """The code of ``state`` in ``country`` (``"Alaska"``/``"ak"`` -> ``"AK"``), else None."""
    if not country or not isinstance(state, str) or not state.strip():
        return None
    names = _names(country.upper())
    if not names:
        return None
    return names.get(_fold(state))


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def zone_country(zone: str | None) -> str | None:
    """The ISO country of an IANA zone (``Australia/Perth`` -> ``AU``), else None."""
    return _zone_countries().get(zone) if zone else None


def country_zones(country: str | None) -> list[str]:
    """The IANA zones of ``country`` in the tz database's ``zone.tab``."""
    country = (country or "").strip().upper()
    return sorted(z for z, c in _zone_countries().items() if c == country)
