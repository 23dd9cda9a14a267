"""Faults a CSV file can hide, found so that no row disappears without a word (lines in
another encoding: see csv_encodings).

Business rules:

* **Stray quote.** A quoted cell that spans lines and swallows a row's worth of delimiters
  (or, in a one-column file, any cell that spans lines) is taken for a quote nobody closed:
  it is reported with the line where it opens and the line where it closes. The supervisor
  may read it as the file says, or read the quotes of its opening line as plain text (a
  lone ``"`` is then a literal character), which gives the swallowed rows back.
* **Header or not.** The first row is data, not column names, when one of its cells is a
  phone number or an email address (column names are words).
"""

from __future__ import annotations

import csv
import io
import re

__all__ = [
    "literal_quotes",
    "looks_like_data",
    "stray_cell",
    "stray_warning",
    "literal_warning",
]

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,24}$")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def looks_like_data(row: list[str]) -> bool:
    """Whether a first row holds data: one of its cells is a phone number or an email."""
    for cell in row:
        value = cell.strip()
        if _EMAIL.match(value):
            return True
        if _PHONE.match(value) and sum(c.isdigit() for c in value) >= 7:
            return True
    return False


def stray_cell(row: list[str], delimiter: str, width: int) -> tuple[int, int] | None:
    """For a row read over several lines: (lines before the cell that spans lines, lines
    that cell spans) when that cell swallowed what looks like rows, else None."""
    before = 0
    need = max(width - 1, 1)
    for cell in row:
        if "\n" not in cell and "\r" not in cell:
            continue
        pieces = _NEWLINE.split(cell)
        if width <= 1 or any(p.count(delimiter) >= need for p in pieces):
            return before, len(pieces) - 1
        before += len(pieces) - 1
    return None


def stray_warning(open_line: int, close_line: int) -> dict:
    """The sentence for a quote that opens on one line and closes many lines later."""
    swallowed = close_line - open_line
    return {
        "line": open_line,
        "message": (
            f"Line {open_line} opens a quote that closes only on line {close_line}, so lines "
            f"{open_line} to {close_line} were read as one row and {swallowed:,} row(s) may "
            f"be missing; if that quote is a typo, read the quotes on line {open_line} as "
            "plain text, or correct the file and upload it again."
        ),
    }


def literal_warning(line: int) -> dict:
    return {
        "line": line,
        "message": (
            f'Line {line} has a quote (") that is not closed on that line; it was read as '
            "plain text, so check that line's cells."
        ),
    }


def literal_quotes(line: str, delimiter: str) -> str:
    """The same physical line, re-written so that a quote which opens a cell and does not
    close on this line is a plain character; properly quoted cells keep their meaning."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    cells: list[str] = []
    i, n = 0, len(body)
    while True:
        end = _cell_end(body, i, delimiter)
        if i < n and body[i] == '"':
            text, closed_at = _quoted(body, i)
            if closed_at is not None:
                end = _cell_end(body, closed_at, delimiter)
                cells.append(text + body[closed_at:end])
            else:
                cells.append(body[i:end])
        else:
            cells.append(body[i:end])
        if end >= n:
            break
        i = end + 1
        if i == n:
            cells.append("")
            break
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="", quoting=csv.QUOTE_ALL).writerow(cells)
    return out.getvalue() + ending


def _cell_end(body: str, start: int, delimiter: str) -> int:
    end = body.find(delimiter, start)
    return len(body) if end < 0 else end


def _quoted(body: str, start: int) -> tuple[str, int | None]:
    """A quoted cell from ``start``: its text and the position after its closing quote
    (None when it does not close on this line)."""
    out: list[str] = []
    j = start + 1
    while j < len(body):
        if body[j] == '"':
            if body[j + 1 : j + 2] == '"':
                out.append('"')
                j += 2
                continue
            return "".join(out), j + 1
        out.append(body[j])
        j += 1
    return "".join(out), None
