"""The fast way to read a plain CSV file: Arrow's multi-threaded reader, used only when it
gives exactly what the csv module would (see ``arrow_table``)."""

from __future__ import annotations

import codecs
import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv


def arrow_table(
    source: str | os.PathLike | bytes,
    encoding: str,
    delimiter: str,
    width: int,
    *,
    has_header: bool,
    sep_line: bool,
    max_field_chars: int,
) -> tuple[pa.Table, np.ndarray, int] | None:
    """The whole file parsed by Arrow's multi-threaded reader, when that gives exactly
    what the csv module would: UTF-8, no quotes (so one line is one row and line numbers
    follow), no empty lines, no bare CR, no NUL, the header on line 1, every row as wide
    as the header, no cell over the limit. Anything else (or any doubt) returns None and
    the csv module reads the file, reporting problems with their line numbers.

    Returns the table of text cells (``c0``, ``c1``...), the file line of each row and how
    many rows of empty cells were left out."""
    if encoding not in ("utf-8", "utf-8-sig") or sep_line:
        return None
    skip = int(has_header)
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).rstrip(b"\r")
    if (
        (skip and not first.replace(delimiter.encode(), b"").strip(b" \t"))
        or b'"' in data
        or b"\x00" in data
        or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n"))
    ):
        return None
    # Arrow skips empty lines silently: compared with the row count below.
    lines_in_file = data.count(b"\n") + (not data.endswith(b"\n"))
    names = [f"c{i}" for i in range(width)]
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=skip),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, quote_char=False, escape_char=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # ragged rows or undecodable bytes: the csv module reports them
    del data
    if table.num_rows + skip != lines_in_file:
        return None
    for col in table.columns:
        # Bytes bound characters from above; count characters only when it matters.
        if (pc.max(pc.binary_length(col)).as_py() or 0) > max_field_chars and (
            pc.max(pc.utf8_length(col)).as_py() or 0
        ) > max_field_chars:
            return None
    lines = np.arange(1 + skip, table.num_rows + 1 + skip, dtype=np.int64)
    if not table.num_rows:
        return table, lines, 0
    # Rows whose cells are all empty: look only at rows with an empty first cell.
    cand = np.flatnonzero(
        np.asarray(
            pc.equal(pc.binary_length(table.column(0)), 0).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
    )
    blank_rows = 0
    if len(cand):
        sub = table.take(pa.array(cand))
        blank = np.ones(len(cand), dtype=bool)
        for col in sub.columns:
            blank &= np.asarray(
                pc.equal(pc.binary_length(col), 0).to_numpy(zero_copy_only=False), dtype=bool
            )
        if blank.any():
            keep = np.ones(table.num_rows, dtype=bool)
            keep[cand[blank]] = False
            blank_rows = int(blank.sum())
            table = table.filter(pa.array(keep))
            lines = lines[keep]
    return table, lines, blank_rows
