"""Checking mapped lead rows against the account's field definitions.

Business rules, per cell:

* ``required``: a required field may not be empty;
* type: ``number`` must be a number, ``date`` a date or date-time, ``email`` an address like
  ``name@example.com``, ``phone`` a valid number (see ``phones``; the reason says why not),
  ``boolean`` yes/no, true/false, 1/0 (and the same words in the app's languages);
* ``unique``: a non-empty value may occur once in a file (later occurrences are refused);
* ``max_length``: a longer text is cut to the limit and reported as ``truncated`` - a
  warning, the row stays valid.
* ``country``: a country name in a common language ("United States", "Deutschland")
  becomes its two-letter code; a value that names no country is ``not_a_country``, a
  warning (the row stays valid, the country is left empty).
* Multi-value cells (Google Contacts joins several values with `` ::: ``): a phone or
  email cell holding several values keeps the first.

A row is valid when none of its cells has a reason other than a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadapp.domain import local_times, phones
from leadapp.domain.countries import country_codes
from leadapp.domain.fields import STANDARD_FIELDS

__all__ = ["REASON_TEXT", "WARNINGS", "STANDARD_FIELDS", "Validated", "validate"]

REASON_TEXT: dict[str, str] = {
    "required": "This field is required but empty.",
    "not_a_number": "This is not a number.",
    "not_a_date": "This is not a date (use a form like 2025-01-31 or 2025-01-31 14:30).",
    "invalid_email": "This is not a valid e-mail address.",
    "not_a_boolean": "Use yes or no (true/false, 1/0).",
    "duplicate_in_file": "This value already appears in an earlier row of the file.",
    "already_used": "Another lead of the account already has this value (the field is unique).",
    "truncated": "The text was longer than allowed and has been cut.",
    "not_a_country": "This names no country we know; the country was left empty.",
    **{f"phone_{k}": v for k, v in phones.REASON_TEXT.items()},
}
WARNINGS = frozenset({"truncated", "not_a_country"})
MULTI_VALUE_SEPARATOR = " ::: "

_EMAIL_RE = r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$"
_TRUE = {"1", "true", "t", "yes", "y", "ja", "oui", "si", "sí", "tak", "sim", "x", "on"}
_FALSE = {"0", "false", "f", "no", "n", "nein", "non", "nee", "nie", "não", "nao", "off"}


@dataclass
class Validated:
    """``values``: cleaned cells (phones as E.164 with the raw text in ``<field>_raw``,
    dates as datetimes, numbers as floats, booleans as bool); ``reasons``: a code per cell or
    missing; ``row_valid``: True when a row has no reason other than a warning."""

    values: pd.DataFrame
    reasons: pd.DataFrame
    row_valid: pd.Series

    def row_reasons(self) -> pd.Series:
        """One text per row, e.g. ``phone1: phone_too_short; email: invalid_email``."""
        parts = [
            (col + ": " + self.reasons[col]).where(self.reasons[col].notna())
            for col in self.reasons.columns
        ]
        if not parts:
            return pd.Series("", index=self.reasons.index, dtype="str")
        joined = pd.concat(parts, axis=1).apply(lambda r: "; ".join(r.dropna()), axis=1)
        return joined.astype("str")


def _attr(f, name):
    return f.get(name) if isinstance(f, dict) else getattr(f, name, None)


# _EMAIL_RE for ASCII text in RE2 syntax: Python's \s on ASCII is exactly this class, and
# its $ also matches before a final newline.
_EMAIL_RE2_ASCII = r"^[^@\t-\r\x1c-\x20]+@[^@\t-\r\x1c-\x20.]+(?:\.[^@\t-\r\x1c-\x20.]+)+\n?$"


def _email_ok(text: pd.Series) -> pd.Series:
    """``text.str.match(_EMAIL_RE)`` at column speed: ASCII values through Arrow's regex
    engine, the (rare) others through Python's ``re`` so Unicode whitespace counts alike."""
    arr = pa.array(text.array) if len(text) else pa.array([], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or arr.null_count:
        return text.str.match(_EMAIL_RE).fillna(False).astype(bool)
    ok = np.asarray(
        pc.match_substring_regex(arr, _EMAIL_RE2_ASCII).to_numpy(zero_copy_only=False), dtype=bool
    )
    other = ~np.asarray(pc.string_is_ascii(arr).to_numpy(zero_copy_only=False), dtype=bool)
    if other.any():
        idx = np.flatnonzero(other)
        pattern = re.compile(_EMAIL_RE)
        ok[idx] = [bool(pattern.match(v)) for v in arr.take(pa.array(idx)).to_pylist()]
    return pd.Series(ok, index=text.index)


def _parse_dates(text: pd.Series) -> pd.Series:
    # Some cells with a zone and some without must not fail the whole column: read as UTC
    # here (is it a date?); the writer reads the text again in the account's zone.
    return local_times.to_utc(text, "UTC")


def validate(
    df: pd.DataFrame, field_definitions: Iterable | None = None, *, region: str = "US"
) -> Validated:
    """Check every mapped column of ``df`` (columns named by field key) against its field.

    Columns without a definition are passed through unchecked. Required fields missing
    from ``df`` altogether make every row invalid with ``required``.
    """
    fields = {
        _attr(f, "key"): f
        for f in (field_definitions if field_definitions is not None else STANDARD_FIELDS)
    }
    values: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}
    for col in df.columns:
        f = fields.get(col)
        raw = df[col].astype("str").fillna("")
        text = raw.str.strip()
        empty = text == ""
        why = pd.Series(np.full(len(df), None, dtype=object), index=df.index)
        if f is None:
            values[col] = raw
            continue
        kind = _attr(f, "type") or "text"
        if kind in ("phone", "email"):
            several = raw.str.contains(MULTI_VALUE_SEPARATOR, regex=False, na=False)
            if several.any():
                raw = raw.where(~several, raw.str.split(MULTI_VALUE_SEPARATOR, n=1).str[0])
                text = raw.str.strip()
        value: pd.Series = text
        if kind == "phone":
            norm = phones.normalise_phones(raw, region)
            value = norm["e164"]
            bad = ~empty & norm["reason"].notna()
            why[bad] = "phone_" + norm["reason"][bad]
            values[f"{col}_raw"] = raw
            key = value
        elif kind == "email":
            value = text.where(~empty)
            bad = ~empty & ~_email_ok(text)
            why[bad] = "invalid_email"
            key = text.str.lower().where(~empty & ~bad)
        elif kind == "number":
            value = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
            why[~empty & value.isna()] = "not_a_number"
            key = value.where(~empty)
        elif kind == "date":
            value = _parse_dates(text)
            why[~empty & value.isna()] = "not_a_date"
            # The text as written: a time without a zone is the account's (lead_writer).
            values[f"{col}_raw"] = text.where(~empty)
            key = value
        elif kind == "boolean":
            low = text.str.lower()
            value = pd.Series(pd.NA, index=df.index, dtype="boolean")
            value[low.isin(_TRUE)] = True
            value[low.isin(_FALSE)] = False
            why[~empty & value.isna()] = "not_a_boolean"
            key = value
        elif col == "country":
            value = country_codes(text).where(~empty)
            why[~empty & value.isna()] = "not_a_country"
            key = value
        else:
            key = text.where(~empty)
            limit = _attr(f, "max_length")
            if limit:
                long_ = text.str.len() > limit
                value = text.where(~long_, text.str.slice(0, limit))
                why[long_] = "truncated"
        if _attr(f, "unique"):
            dup = key.notna() & key.duplicated(keep="first") & why.isna()
            why[dup] = "duplicate_in_file"
        if _attr(f, "required"):
            why[empty] = "required"
        values[col] = value
        reasons[col] = why.astype("str")
    for key_, f in fields.items():
        if _attr(f, "required") and key_ not in df.columns:
            reasons[key_] = pd.Series("required", index=df.index, dtype="str")
    reason_df = pd.DataFrame(reasons, index=df.index)
    blocking = reason_df.notna() & ~reason_df.isin(list(WARNINGS))
    row_valid = ~blocking.any(axis=1) if len(reason_df.columns) else pd.Series(True, df.index)
    return Validated(pd.DataFrame(values, index=df.index), reason_df, row_valid.rename("valid"))
