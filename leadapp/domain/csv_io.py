"""Reading lead CSV files people actually upload: decoding, delimiter detection, chunks.

Business rules:

* Encodings: UTF-8 with or without BOM, UTF-16 LE/BE with BOM, then Windows-1252, then
  Latin-1 as the last resort. The detected encoding is reported and can be overridden.
  A UTF-8 file with some lines in Windows-1252 is read line by line as written
  (``utf-8+cp1252``) and those lines are named in ``warnings``.
* The first row holds column names unless it looks like data (a phone number or an email
  among its cells); the caller may say which. Without them, columns are ``Column 1``...
* A quote that opens a cell and closes many lines later (a stray quote) is reported with
  both lines in ``warnings``; the caller may have the quotes of given lines read as plain
  text (``literal_quote_lines``), and ``check_file`` finds those lines.
* Delimiters: ``,`` ``;`` tab ``|``, or the spreadsheet hint ``sep=;`` on the first line.
* Quoted fields may hold delimiters, quotes and line breaks; CR, LF and CRLF all end lines.
* Blank lines (and rows whose cells are all empty) are skipped and counted.
* Rows with more or fewer cells than the header are kept (short rows padded with empty
  cells, extra cells dropped) and reported with their line numbers.
* Header names are trimmed (BOM, NBSP, zero-width characters); an empty header becomes
  ``Column N``; repeated names are kept apart as ``Phone``, ``Phone (2)``...
* Refused with one clear sentence (``CsvError``, nothing read): an empty file, a header
  without rows, a binary file (PNG, PDF, ZIP/XLSX, GZip...) renamed ``.csv``, bytes that are
  not text in the chosen encoding, a file without line breaks past a size limit, a cell
  longer than the field limit.
* Cells are always text (``str``); nothing is turned into NaN, numbers or dates. Rows come in
  chunks of DataFrames so a 1,000,000-row file is never held in memory as Python objects;
  each chunk's index is the file line number where the row starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from leadapp.domain.csv_arrow import arrow_table
from leadapp.domain.csv_encodings import (
    MIXED,
    codec_for,
    detect_encoding,
    open_text,
    resolve_encoding,
    undecodable_line,
)
from leadapp.domain.csv_faults import (
    literal_quotes,
    literal_warning,
    looks_like_data,
    stray_cell,
    stray_warning,
)

__all__ = [
    "CsvError",
    "CsvReader",
    "FileCheck",
    "check_file",
    "MIXED",
    "Sniff",
    "sniff",
    "read_chunks",
    "clean_headers",
    "detect_encoding",
    "detect_delimiter",
    "DELIMITERS",
    "MAX_FIELD_CHARS",
    "MAX_LINE_BYTES",
]

DELIMITERS = (",", ";", "\t", "|")
MAX_FIELD_CHARS = 100_000  # a notes cell longer than this is not a lead list any more
MAX_LINE_BYTES = 4 * 1024 * 1024  # no line break in the first 4 MiB: not a CSV
SAMPLE_BYTES = 256 * 1024
PREVIEW_ROWS = 20

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx file is one)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "a GZip-compressed file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls / Office file"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BZh", "a BZip2-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
]
_END = "\x00end of file\x00"  # cannot be in a cell: a NUL is refused
_HEADER_JUNK = "\ufeff\u00a0\u200b\u200c\u200d\u2060 \t\r\n"


class CsvError(ValueError):
    """A file we refuse, with a sentence for people (``str(err)``) and a stable ``code``."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.line = line


@dataclass
class Sniff:
    """What we found out about a file before importing it."""

    encoding: str
    delimiter: str
    headers: list[str]
    preview: list[list[str]]
    sep_line: bool = False  # the file starts with a "sep=X" line
    raw_headers: list[str] = field(default_factory=list)  # empty without a header row
    has_header: bool = True  # the first row holds column names
    warnings: list[dict] = field(default_factory=list)  # {"line": N, "message": "..."}


# --------------------------------------------------------------------------------------------
# Bytes and encodings
# --------------------------------------------------------------------------------------------


def _read_head(source: str | os.PathLike | bytes, size: int) -> tuple[bytes, int]:
    if isinstance(source, bytes | bytearray):
        return bytes(source[:size]), len(source)
    path = Path(source)
    with path.open("rb") as f:
        return f.read(size), path.stat().st_size


def _check_binary(head: bytes) -> None:
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise CsvError(
                "binary_file",
                f"This file is {what}, not a CSV: save or export it as CSV and upload that.",
            )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    if b"\x00" in head[:8192]:
        raise CsvError(
            "binary_file",
            "This file contains binary data, not text: save or export it as CSV and upload that.",
        )


# --------------------------------------------------------------------------------------------
# Delimiter, headers
# --------------------------------------------------------------------------------------------


def _sep_hint(first_line: str) -> str | None:
    line = first_line.lstrip("\ufeff").strip()
    if line.lower().startswith("sep=") and len(line) == 5:
        return line[4]
    return None


def detect_delimiter(sample: str) -> str:
    """The delimiter among ``, ; tab |`` that splits the sample's rows most consistently.

    Ties go to the order above; a file with one column gets ``,``.
    """
    best, best_score = ",", (0.0, 0)
    for delim in DELIMITERS:
        try:
            # newline="": CR, LF and CRLF all end rows (a Mac "CSV" uses CR alone).
            lines = io.StringIO(sample, newline="")
            rows = [r for r in csv.reader(lines, delimiter=delim) if r][:50]
        except csv.Error:
            continue
        if len(rows) > 1:
            rows = rows[:-1]  # the sample's last row may be cut short
        counts = [len(r) for r in rows]
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode >= 2 and score > best_score:
            best, best_score = delim, score
    return best


def clean_headers(raw: list[str]) -> list[str]:
    """Trimmed, non-empty, unique header names: repeats become ``Name (2)``, ``Name (3)``."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(raw, start=1):
        base = name.strip(_HEADER_JUNK).replace("\u00a0", " ").strip() or f"Column {i}"
        candidate, n = base, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{base} ({n})"
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _prepare(source, encoding: str | None, delimiter: str | None):
    head, size = _read_head(source, max(SAMPLE_BYTES, MAX_LINE_BYTES))
    if size == 0 or not head.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise CsvError("empty_file", "The file is empty.")
    _check_binary(head)
    if b"\n" not in head and b"\r" not in head and size > MAX_LINE_BYTES:
        raise CsvError(
            "no_line_breaks",
            f"The file has no line breaks in its first {MAX_LINE_BYTES // (1024 * 1024)} MiB, "
            "so it is not a CSV of leads.",
        )
    try:
        enc, warnings = resolve_encoding(source, head, encoding)
    except LookupError:
        raise CsvError("unknown_encoding", f"{encoding!r} is not an encoding we know.") from None
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise CsvError("bad_delimiter", f"{delimiter!r} cannot be used as a column separator.")
    return head[:SAMPLE_BYTES], size, enc, warnings


def _decode_sample(head: bytes, enc: str, complete: bool) -> str:
    codec, errors = codec_for(enc)
    try:
        text = codecs.getincrementaldecoder(codec)(errors).decode(head, final=complete)
    except UnicodeDecodeError as exc:
        raise CsvError(
            "undecodable",
            f"The file is not readable as {enc} text (byte {exc.start + 1} is not valid); "
            "choose another encoding.",
        ) from None
    return text.lstrip("\ufeff")


def _refuse_nul(line: int) -> None:
    """PostgreSQL cannot store a NUL character in text, and no lead list holds one."""
    raise CsvError(
        "binary_file",
        f"Line {line} contains a NUL byte (binary data, not text): "
        "save or export the file as CSV again and upload that.",
        line,
    )


def sniff(
    source: str | os.PathLike | bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    preview_rows: int = PREVIEW_ROWS,
    header: bool | None = None,
) -> Sniff:
    """Detect encoding, delimiter and headers and return a few rows to preview.

    ``encoding`` / ``delimiter`` / ``header`` (whether the first row holds column names)
    override the detection. Raises CsvError for files we refuse.
    """
    head, size, enc, warnings = _prepare(source, encoding, delimiter)
    text = _decode_sample(head, enc, complete=size <= len(head))
    if "\x00" in text:
        _refuse_nul(text.count("\n", 0, text.index("\x00")) + 1)
    first_line = text.split("\n", 1)[0].split("\r", 1)[0]
    hint = _sep_hint(first_line)
    body = text[len(first_line) :].lstrip("\r\n") if hint else text
    delim = delimiter or hint or detect_delimiter(body)
    rows = csv.reader(io.StringIO(body, newline=""), delimiter=delim)
    raw_headers: list[str] | None = None
    preview: list[list[str]] = []
    try:
        for row in rows:
            if not row or all(c == "" for c in row):
                continue
            if raw_headers is None:
                raw_headers = row
                continue
            preview.append(row)
            # Always as many rows: a file without a header is as wide as its widest of them.
            if len(preview) >= max(preview_rows, PREVIEW_ROWS):
                break
    except csv.Error as exc:
        # A cell past csv's own limit is real (a cut sample only shortens cells); anything
        # else may be a sample cut inside a quoted field: the full read reports it.
        if "field larger than field limit" in str(exc):
            line = rows.line_num + bool(hint)
            raise CsvError(
                "field_too_long",
                f"Line {line} has a cell longer than {MAX_FIELD_CHARS:,} characters; "
                "is a quote left open?",
                line,
            ) from None
    if raw_headers is None:
        raise CsvError("empty_file", "The file has no header row and no data.")
    has_header = not looks_like_data(raw_headers) if header is None else header
    if has_header:
        headers = clean_headers(raw_headers)
    else:
        preview = [raw_headers, *preview][:PREVIEW_ROWS]
        width = max(len(r) for r in preview)
        headers, raw_headers = [f"Column {i}" for i in range(1, width + 1)], []
    if not preview and size <= len(head):
        raise CsvError("header_only", "The file has a header row but no leads under it.")
    width = len(headers)
    preview = [(r + [""] * width)[:width] for r in preview[:preview_rows]]
    return Sniff(
        enc,
        delim,
        headers,
        preview,
        sep_line=bool(hint),
        raw_headers=raw_headers,
        has_header=has_header,
        warnings=warnings,
    )


class CsvReader:
    """Iterates DataFrames of text cells (index = file line); ``report`` fills as it reads."""

    def __init__(
        self,
        source: str | os.PathLike | bytes,
        encoding: str | None = None,
        delimiter: str | None = None,
        chunk_rows: int = 50_000,
        max_field_chars: int = MAX_FIELD_CHARS,
        header: bool | None = None,
        literal_quote_lines: Iterable[int] = (),
    ) -> None:
        info = sniff(source, encoding=encoding, delimiter=delimiter, preview_rows=1, header=header)
        self.source = source
        self.encoding = info.encoding
        self.delimiter = info.delimiter
        self.headers = info.headers
        self.has_header = info.has_header
        self.sep_line = info.sep_line
        self.chunk_rows = chunk_rows
        self.max_field_chars = max_field_chars
        self.literal_quote_lines = frozenset(literal_quote_lines)
        self.rows = 0
        self.blank_rows = 0
        self.ragged: list[tuple[int, int]] = []  # (line, number of cells)
        self.stray_quotes: list[tuple[int, int]] = []  # (line it opens, line it closes)
        self.encoding_warnings = info.warnings

    @property
    def report(self) -> dict:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "headers": self.headers,
            "header": self.has_header,
            "rows": self.rows,
            "blank_rows_skipped": self.blank_rows,
            "ragged_rows": list(self.ragged),
            "stray_quotes": list(self.stray_quotes),
            "warnings": self.warnings,
        }

    @property
    def warnings(self) -> list[dict]:
        """What was read other than the file seems to say, in line order."""
        found = [
            *self.encoding_warnings,
            *(literal_warning(line) for line in sorted(self.literal_quote_lines)),
            *(stray_warning(o, c) for o, c in self.stray_quotes),
        ]
        return sorted(found, key=lambda w: w["line"])

    def __iter__(self) -> Iterator[pd.DataFrame]:
        width = len(self.headers)
        # csv's own field limit enforces ours without a per-cell Python check.
        old_limit = csv.field_size_limit(self.max_field_chars)
        try:
            yield from self._rows(width)
        finally:
            csv.field_size_limit(old_limit)
        if self.rows == 0:
            raise CsvError("header_only", "The file has a header row but no leads under it.")

    def scan(self) -> None:
        """Read every row as ``__iter__`` would, keeping none: fills ``stray_quotes`` and
        the counts. Only a file with quotes is read (without, no quote can be stray)."""
        if not _has_quotes(self.source):
            return
        old_limit = csv.field_size_limit(self.max_field_chars)
        try:
            for _ in self._rows(len(self.headers), keep=False):
                pass
        finally:
            csv.field_size_limit(old_limit)

    def _rows(self, width: int, keep: bool = True) -> Iterator[pd.DataFrame]:
        fast = self._fast_table(width) if keep else None
        if fast is not None:
            yield from self._fast_chunks(*fast)
            return
        with open_text(self.source, self.encoding) as text:
            if self.sep_line:
                text.readline()
            lines_in = self._literal(text) if self.literal_quote_lines else text
            # A last line after the file's own: inside a quote left open it ends up in the
            # open cell (csv would otherwise take the rest of the file as that one cell).
            reader = csv.reader(itertools.chain(lines_in, [_END]), delimiter=self.delimiter)
            header_seen = not self.has_header
            buf: list[list[str]] = []
            lines: list[int] = []
            start = reader.line_num + 1
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError:
                    # The text layer decodes blocks ahead of csv: find the line in the bytes.
                    bad = undecodable_line(self.source, self.encoding) or reader.line_num + 1
                    raise CsvError(
                        "undecodable",
                        f"Line {bad} is not readable as {self.encoding} text; "
                        "choose another encoding.",
                        bad,
                    ) from None
                except csv.Error as exc:
                    raise self._csv_error(exc, start) from None
                spans = reader.line_num + 1 - start  # physical lines this row was read from
                line, start = start, reader.line_num + 1
                if self.sep_line:
                    line += 1
                if spans > 1:
                    self._check_stray(row, line, width)
                if row and row[-1].endswith(_END):
                    if row == [_END]:
                        break
                    raise CsvError(
                        "unterminated_quote",
                        f"Line {line} opens a quote that is never closed, so the rest of the "
                        "file would be one cell; close the quote and upload the file again.",
                        line,
                    )
                if not any(row):
                    self.blank_rows += header_seen
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                if len(row) != width:
                    self.ragged.append((line, len(row)))
                    row = (row + [""] * width)[:width]
                if not keep:
                    self.rows += 1
                    continue
                buf.append(row)
                lines.append(line)
                if len(buf) >= self.chunk_rows:
                    yield self._frame(buf, lines)
                    buf, lines = [], []
            if buf:
                yield self._frame(buf, lines)

    def _literal(self, text: Iterable[str]) -> Iterator[str]:
        """The lines of the file, those of ``literal_quote_lines`` with their unclosed
        quote made plain text (the line count does not change)."""
        first = 1 + self.sep_line
        for number, line in enumerate(text, start=first):
            yield (
                literal_quotes(line, self.delimiter) if number in self.literal_quote_lines else line
            )

    def _check_stray(self, row: list[str], line: int, width: int) -> None:
        if row and row[-1].endswith(_END):
            return  # a quote never closed: refused below with its own sentence
        found = stray_cell(row, self.delimiter, width)
        if found is not None:
            before, spans = found
            self.stray_quotes.append((line + before, line + before + spans))

    def _fast_table(self, width: int) -> tuple[pa.Table, np.ndarray] | None:
        """The whole file read by Arrow when that gives what the csv module would (see
        ``csv_arrow.arrow_table``); None: the csv module reads it."""
        fast = arrow_table(
            self.source,
            self.encoding,
            self.delimiter,
            width,
            has_header=self.has_header,
            sep_line=self.sep_line,
            max_field_chars=self.max_field_chars,
        )
        if fast is None:
            return None
        table, lines, blank_rows = fast
        self.blank_rows += blank_rows
        return table, lines

    def _fast_chunks(self, table: pa.Table, lines: np.ndarray) -> Iterator[pd.DataFrame]:
        for start in range(0, table.num_rows, self.chunk_rows):
            part = table.slice(start, self.chunk_rows)
            self.rows += part.num_rows
            yield pd.DataFrame(
                {
                    h: pd.Series(col, dtype="str").array
                    for h, col in zip(self.headers, part.columns, strict=True)
                },
                index=pd.Index(lines[start : start + part.num_rows], name="line"),
            )

    def _frame(self, buf: list[list[str]], lines: list[int]) -> pd.DataFrame:
        self.rows += len(buf)
        columns = list(zip(*buf, strict=True))
        frame = pd.DataFrame(
            {h: pd.array(col, dtype="str") for h, col in zip(self.headers, columns, strict=True)},
            index=pd.Index(lines, name="line"),
        )
        # The fast path never sees a NUL; here one may hide past the sniffed sample.
        nul = np.zeros(len(frame), dtype=bool)
        for name in frame.columns:
            nul |= frame[name].str.contains("\x00", regex=False).to_numpy(dtype=bool)
        if nul.any():
            _refuse_nul(int(frame.index[nul.argmax()]))
        return frame

    def _csv_error(self, exc: csv.Error, line: int) -> CsvError:
        if "field larger than field limit" in str(exc):
            return CsvError(
                "field_too_long",
                f"Line {line} has a cell longer than {self.max_field_chars:,} characters; "
                "is a quote left open?",
                line,
            )
        return CsvError("malformed", f"Line {line} cannot be read as CSV ({exc}).", line)


@dataclass
class FileCheck:
    """What ``check_file`` found: warnings (``{"line", "message"}``, in line order), the
    stray quotes still in the file as read (open line, close line), the lines whose quotes
    are read as plain text, and whether the first row holds column names."""

    encoding: str
    delimiter: str
    has_header: bool
    warnings: list[dict]
    stray_quotes: list[tuple[int, int]]
    literal_quote_lines: list[int]


MAX_REPAIRS = 20  # one stray quote may hide another; past this, the file needs a person


def check_file(
    source: str | os.PathLike | bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    literal_quote_lines: Iterable[int] = (),
    repair: bool = False,
) -> FileCheck:
    """Look through the whole file for what would be read other than it seems to say:
    lines in another encoding and stray quotes (see csv_faults).

    With ``repair``, the quotes of every line where a stray quote opens are read as plain
    text, and the file is looked through again (a repaired quote may uncover another).
    Faults that refuse the file (``CsvError``) are raised by ``sniff`` here or by the full
    read later, not by this look."""
    literal = set(literal_quote_lines)
    for _ in range(MAX_REPAIRS):
        reader = CsvReader(source, encoding, delimiter, header=header, literal_quote_lines=literal)
        try:
            reader.scan()
        except CsvError:
            break  # the read reports it with its own sentence
        if not (repair and reader.stray_quotes):
            break
        literal |= {opens for opens, _ in reader.stray_quotes}
    return FileCheck(
        reader.encoding,
        reader.delimiter,
        reader.has_header,
        reader.warnings,
        list(reader.stray_quotes),
        sorted(reader.literal_quote_lines),
    )


def _has_quotes(source: str | os.PathLike | bytes) -> bool:
    if isinstance(source, bytes | bytearray):
        return b'"' in source
    with open(source, "rb") as f:
        while block := f.read(1 << 20):
            if b'"' in block:
                return True
    return False


def read_chunks(
    source: str | os.PathLike | bytes,
    encoding: str | None = None,
    delimiter: str | None = None,
    chunk_rows: int = 50_000,
    max_field_chars: int = MAX_FIELD_CHARS,
    header: bool | None = None,
    literal_quote_lines: Iterable[int] = (),
) -> CsvReader:
    """Read a CSV as DataFrames of at most ``chunk_rows`` rows of text cells.

    ``header``: whether the first row holds column names (None: detect); the quotes of
    ``literal_quote_lines`` are read as plain text. Returns a ``CsvReader``: iterate it for
    the chunks; its ``report`` (encoding, delimiter, headers, header, rows, blank rows
    skipped, ragged rows with line numbers, stray quotes, warnings) is complete once the
    iteration ends. Raises CsvError (at once, or while iterating for problems deep in the
    file).
    """
    return CsvReader(
        source, encoding, delimiter, chunk_rows, max_field_chars, header, literal_quote_lines
    )
