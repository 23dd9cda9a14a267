"""Country names to ISO 3166 alpha-2 codes, from the ``phonenumbers`` metadata.

CRM exports write the country as a name ("United States", "Deutschland"); a lead stores
the two-letter code. Names come from ``phonenumbers``' own region names in the languages
our users write in, plus the usual abbreviations, so nothing is typed in by hand per
country."""

from __future__ import annotations

import functools
import unicodedata

import pandas as pd
import phonenumbers

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da")
# Abbreviations and older names the metadata does not carry.
ALIASES = {
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "russia": "RU",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().lower())
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).split())


@functools.cache
def _names() -> dict[str, str]:
    # Imported here: the geocoder's data takes ~0.4 s to load, paid by every process that
    # starts (each worker, each `flask` command) though only a country column needs it.
    from phonenumbers.geocoder import country_name_for_number

    names: dict[str, str] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        names[region.lower()] = region
        # The public way to a region's name: the name of one of its example numbers.
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        for lang in LANGUAGES:
            name = country_name_for_number(example, lang)
            if name:
                names.setdefault(_fold(name), region)
    names.update({_fold(k): v for k, v in ALIASES.items()})
    return names


def country_codes(values: pd.Series) -> pd.Series:
    """Each value as an ISO alpha-2 code (upper case), or missing when it names no country.

    Two-letter values are taken as codes when ``phonenumbers`` knows the region."""
    names = _names()
    folded = values.astype("str").fillna("").map(_fold)
    return folded.map(names).astype("str")
