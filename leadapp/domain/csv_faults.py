"""Faults a CSV file can hide, found so that no row disappears without a word.

Business rules:

* **Stray quote.** A quoted cell that spans lines and swallows a row's worth of delimiters
  (or, in a one-column file, any cell that spans lines) is taken for a quote nobody closed:
  it is reported with the line where it opens and the line where it closes. The supervisor
  may read it as the file says, or read the quotes of its opening line as plain text (a
  lone ``"`` is then a literal character), which gives the swallowed rows back.
* **Mixed encodings.** A file that holds valid UTF-8 accents *and* bytes that are not UTF-8
  (a UTF-8 export with a few lines pasted from Windows) is decoded as UTF-8 where it is
  UTF-8 and as Windows-1252 elsewhere (``utf-8+cp1252``); the lines read as Windows-1252
  are named.
* **Header or not.** The first row is data, not column names, when one of its cells is a
  phone number or an email address (column names are words).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass

__all__ = [
    "MIXED",
    "MIXED_ERRORS",
    "Utf8Scan",
    "literal_quotes",
    "looks_like_data",
    "mixed_warnings",
    "scan_utf8",
    "stray_cell",
    "stray_warning",
    "literal_warning",
]

MIXED = "utf-8+cp1252"  # our name for "UTF-8, with some lines in Windows-1252"
MIXED_ERRORS = "leadapp-cp1252"  # codec error handler: undecodable UTF-8 bytes as cp1252
NAMED_LINES = 20  # lines named one by one; the rest are counted
_BLOCK = 1 << 20
# Bytes Windows-1252 leaves undefined: read as Latin-1 (the same code point).
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,24}$")
_NEWLINE = re.compile(r"\r\n|\r|\n")
# A well-formed UTF-8 sequence of two to four bytes: text that was written as UTF-8.
_VALID_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _as_cp1252(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    text = "".join(chr(b) if b in _CP1252_HOLES else bytes([b]).decode("cp1252") for b in bad)
    return text, exc.end


codecs.register_error(MIXED_ERRORS, _as_cp1252)


@dataclass
class Utf8Scan:
    """What a pass over the bytes found: whether every byte is UTF-8, whether some non-ASCII
    text is valid UTF-8, and in a file that mixes both the lines (1-based, counting LF)
    holding bytes that are not UTF-8 (the first ``NAMED_LINES``) and how many in all."""

    utf8: bool
    utf8_accents: bool
    bad_lines: list[int]
    bad_line_count: int

    @property
    def mixed(self) -> bool:
        return not self.utf8 and self.utf8_accents


def _blocks(source: str | os.PathLike | bytes):
    """The raw bytes, 1 MiB at a time."""
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
        for start in range(0, len(data), _BLOCK):
            yield data[start : start + _BLOCK]
        return
    with open(source, "rb") as f:
        while block := f.read(_BLOCK):
            yield block


def scan_utf8(source: str | os.PathLike | bytes) -> Utf8Scan:
    """Find the lines that are not UTF-8. A clean file costs one C-speed decode per block;
    lines are looked at one by one only in a file that mixes UTF-8 and other bytes."""
    any_bad = accents = False
    for block in _line_blocks(source):
        try:
            accents = accents or not block.decode("utf-8").isascii()
        except UnicodeDecodeError:
            any_bad = True
            accents = accents or _VALID_MULTIBYTE.search(block) is not None
    if not (any_bad and accents):
        return Utf8Scan(not any_bad, accents, [], 0)
    named: list[int] = []
    count = 0
    lines_before = 0
    for block in _line_blocks(source):
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            for i, line in enumerate(block.split(b"\n")):
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    count += 1
                    if len(named) < NAMED_LINES:
                        named.append(lines_before + i + 1)
        lines_before += block.count(b"\n")
    return Utf8Scan(False, accents, named, count)


def _line_blocks(source: str | os.PathLike | bytes):
    """Blocks of whole lines (each ends after a line feed, but the last): no UTF-8
    sequence is cut between two blocks."""
    carry = b""
    for raw in _blocks(source):
        block = carry + raw
        cut = block.rfind(b"\n") + 1
        block, carry = block[:cut], block[cut:]
        if block:
            yield block
    if carry:
        yield carry


def mixed_warnings(scan: Utf8Scan) -> list[dict]:
    """One warning per line read as Windows-1252 (the first ones), then a count."""
    warnings = [
        {
            "line": line,
            "message": (
                f"Line {line} is not UTF-8 like the rest of the file; it was read as "
                "Windows-1252, so check its accented letters."
            ),
        }
        for line in scan.bad_lines
    ]
    more = scan.bad_line_count - len(scan.bad_lines)
    if more > 0:
        warnings.append(
            {
                "line": scan.bad_lines[-1],
                "message": (
                    f"{more:,} more line(s) after line {scan.bad_lines[-1]} are not UTF-8 "
                    "either and were read as Windows-1252; check their accented letters."
                ),
            }
        )
    return warnings


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
