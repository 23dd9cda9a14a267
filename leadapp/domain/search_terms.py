"""What a supervisor typed in the Leads page's quick search, read as index ranges: the start
of a phone number and the start of a name.

A prefix is searched as a range ``prefix <= value < upper_bound(prefix)`` in code point
order, never as a LIKE: "%" and "_" typed are characters like any other, and an index on
the value serves the range on every database."""

from __future__ import annotations

import re

import phonenumbers

from leadapp.domain.phones import resolve_region

# Fewer digits than an area code and an exchange match too many numbers to be a search
# for one person ("212" is every lead of Manhattan), and ids and customer keys are short.
MIN_PHONE_PREFIX_DIGITS = 6
_PHONE_TEXT = re.compile(r"^\s*\+?[0-9 ().\-/]+$")
_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)  # not characters: no text holds them


def upper_bound(prefix: str) -> str | None:
    """The first text after every text that starts with ``prefix`` (code point order): "smi"
    gives "smj", "a_" gives "a`", "rené" gives "renê". None when nothing comes after them
    (a prefix made only of the last code point): the range then has no upper end."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if point in _SURROGATES:
            point = _SURROGATES.stop
        if point <= _MAX_CODE_POINT:
            return "".join(chars) + chr(point)
    return None


def phone_prefix(typed: str, region: str) -> str | None:
    """The start of an E.164 number that ``typed`` writes, read in ``region``: "+44 7958 02"
    is "+44795802", "(212) 555" in the US is "+1212555" and "07958 02" in GB is
    "+44795802" (the national prefix 0 dropped). None when ``typed`` is not only digits and
    phone punctuation, or holds fewer than ``MIN_PHONE_PREFIX_DIGITS`` digits."""
    if not _PHONE_TEXT.match(typed):
        return None
    digits = re.sub(r"\D", "", typed)
    if len(digits) < MIN_PHONE_PREFIX_DIGITS:
        return None
    if typed.strip().startswith("+"):
        return f"+{digits}"
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(resolve_region(region))
    national_prefix = metadata.national_prefix or ""
    if national_prefix and digits.startswith(national_prefix):
        digits = digits[len(national_prefix) :]
    return f"+{metadata.country_code}{digits}"


def name_prefixes(folded: str) -> list[tuple[str | None, str | None]]:
    """The (first name, last name) prefixes a lower-cased search ``folded`` may mean, None
    where the name is not looked at: "smi" is the start of either name; "john smi" is also
    a first name "john..." with a last name "smi..." or the other way round, and the whole
    text is also the start of one name ("van der b", "mary ann")."""
    words = folded.split()
    if not words:
        return []
    whole = " ".join(words)
    out: list[tuple[str | None, str | None]] = [(whole, None), (None, whole)]
    if len(words) > 1:
        first, rest = words[0], " ".join(words[1:])
        out += [(first, rest), (rest, first)]
    return out
