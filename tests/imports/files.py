"""Lead files with the faults of issue 13, generated so the repository stands alone."""

from __future__ import annotations

HEADER = "First Name,Last Name,Phone,Email,Note"


def phone(i: int) -> str:
    return f"+1 415 234 {i:04d}"


def stray_quote_file(rows: int = 2000) -> bytes:
    """``rows`` leads; line 52 holds ``"N50`` (a quote nobody closed) and line 1502 a
    properly quoted ``"Smith, J"``, so read as CSV lines 52 to 1502 are one row."""
    lines = [HEADER]
    for i in range(rows):
        line = len(lines) + 1
        note = '"N50' if line == 52 else "ok"
        last = '"Smith, J"' if line == 1502 else f"Lee{i}"
        lines.append(f"Ann{i},{last},{phone(i)},ann{i}@example.com,{note}")
    return ("\n".join(lines) + "\n").encode()


def headerless_file(rows: int = 20) -> bytes:
    """``rows`` leads and no row of column names: the first line is a lead."""
    lines = [f"Ann{i},Lee{i},{phone(i)},ann{i}@example.com,{phone(5000 + i)}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


MIXED_LINES = (6, 13)  # written in Windows-1252; every other line is UTF-8


def mixed_encoding_file(rows: int = 20) -> bytes:
    """A UTF-8 file of ``rows`` leads named Zoë, with lines 6 and 13 in Windows-1252."""
    lines = [HEADER.encode()]
    for i in range(rows):
        codec = "cp1252" if len(lines) + 1 in MIXED_LINES else "utf-8"
        lines.append(f"Zoë,Müller,{phone(i)},zoe{i}@example.com,ok".encode(codec))
    return b"\n".join(lines) + b"\n"
