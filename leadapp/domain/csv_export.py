"""CSV downloads that spreadsheets cannot turn into formulas.

Business rule: every exported cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is prefixed with an apostrophe, which spreadsheets hide and treat as "this
is text" — so ``=HYPERLINK(...)`` stays inert and ``+12125550101`` still reads as a phone.
"""

from __future__ import annotations

import io

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell made formula-safe (column-wise)."""
    out = frame.copy()
    for col in out.columns:
        text = out[col].astype("str")
        risky = text.str.startswith(TRIGGERS).fillna(False)
        if risky.any():
            out[col] = text.where(~risky, "'" + text)
    return out


def to_csv_bytes(frame: pd.DataFrame, *, first: bool = True) -> bytes:
    """UTF-8, formula-safe, no index, CRLF line ends (RFC 4180; a cell holding a CR or LF
    is quoted, so it stays one cell). ``first``: the file's start — with a BOM (so Excel
    reads accents right) and the header; later chunks of a streamed file have neither."""
    buffer = io.StringIO()
    neutralise(frame).to_csv(buffer, index=False, header=first, lineterminator="\r\n")
    return (("\ufeff" if first else "") + buffer.getvalue()).encode("utf-8")
