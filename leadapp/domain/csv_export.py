"""CSV downloads that spreadsheets cannot turn into formulas.

Business rule: an exported cell whose first non-blank character — after Unicode
normalisation (NFKC, so a full-width ``＝`` counts as ``=``) — is ``=``, ``+``, ``-`` or
``@``, or that starts with a tab or a carriage return, is prefixed with an apostrophe,
which spreadsheets hide and treat as "this is text": ``=HYPERLINK(...)``, `` =1+1`` and
``＝1+1`` stay inert. A phone number in E.164 (``+`` and digits only, as leads' phones are
stored) cannot hold a formula and is exported as it is, so the file re-imports into a
dialer unchanged.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters that start a formula once the blanks before them are skipped.
FORMULA_STARTS = ("=", "+", "-", "@")
E164 = r"^\+[0-9]{1,15}$"


def risky_cells(column: pd.Series) -> pd.Series:
    """Which cells of ``column`` a spreadsheet could read as a formula (see the module)."""
    text = column.astype("str")
    starts_raw = text.str.startswith(("\t", "\r"))
    first = text.str.normalize("NFKC").str.lstrip().str[:1]
    formula = first.isin(FORMULA_STARTS)
    phone = text.str.fullmatch(E164)
    risky = (starts_raw | formula) & ~phone & column.notna()
    return risky.fillna(False).astype(bool)


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell made formula-safe (column-wise)."""
    out = frame.copy()
    for col in out.columns:
        risky = risky_cells(out[col])
        if risky.any():
            text = out[col].astype("str")
            out[col] = out[col].where(~risky, "'" + text)
    return out


def to_csv_bytes(frame: pd.DataFrame, *, first: bool = True) -> bytes:
    """UTF-8, formula-safe, no index, CRLF line ends (RFC 4180; a cell holding a CR or LF
    is quoted, so it stays one cell). ``first``: the file's start — with a BOM (so Excel
    reads accents right) and the header; later chunks of a streamed file have neither."""
    buffer = io.StringIO()
    neutralise(frame).to_csv(buffer, index=False, header=first, lineterminator="\r\n")
    return (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")


_E164 = re.compile(E164)


def safe_text(text: str) -> str:
    """One cell's text made formula-safe by the module's rule (``risky_cells``, one cell at
    a time: ASCII text is its own NFKC form, so only other text is normalised)."""
    if text[:1] in ("\t", "\r"):
        risky = True
    else:
        head = text if text.isascii() else unicodedata.normalize("NFKC", text)
        risky = head.lstrip()[:1] in FORMULA_STARTS
    return f"'{text}" if risky and not _E164.fullmatch(text) else text


def _text(value) -> str:
    # As pandas writes an object column whose missing values were made "": str() of each.
    return "" if value is None else str(value)


def rows_to_csv_bytes(header: Sequence[str], rows: Iterable[Sequence], *, first: bool) -> bytes:
    """The same bytes as ``to_csv_bytes`` of a frame of ``rows`` (missing values as ""),
    written row by row with the csv module: a streamed export formats its rows at a
    fraction of a data frame's cost."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if first:
        buffer.write("\ufeff")
        writer.writerow(header)
    writer.writerows([safe_text(_text(v)) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")
