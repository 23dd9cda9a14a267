"""Serialising a batch of leads for the fast paths: CSV bytes for PostgreSQL's ``COPY``,
plain tuples for SQLite's ``executemany``. Pure (no session): the write stage's builder
thread runs it while the database writes the previous batch."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

DATETIMES = ("created_at", "updated_at", "last_called_at")


def serialise(frame: pd.DataFrame, dialect: str) -> bytes | list[tuple] | None:
    """``frame`` (``lead_writer.COLUMNS``, in order) as the fast path of ``dialect`` sends
    it; None where only the SQLAlchemy path can (see ``lead_writer.Prepared``)."""
    if dialect == "postgresql":
        return csv_bytes(frame)
    if dialect == "sqlite":
        return sqlite_rows(frame)
    return None


def sqlite_rows(frame: pd.DataFrame) -> list[tuple] | None:
    """``frame`` as rows of plain Python values, stored exactly as SQLAlchemy's types store
    them in SQLite (times as ``YYYY-MM-DD HH:MM:SS.ffffff``, ``custom`` as its JSON text),
    without its per-row parameter processing. None when a time column is not plain
    (naive) datetimes: the SQLAlchemy path handles those."""
    columns = []
    for col in frame.columns:
        values = frame[col]
        if col in DATETIMES:
            if values.isna().all():
                columns.append([None] * len(values))
                continue
            if not pd.api.types.is_datetime64_dtype(values.dtype):
                return None
            values = values.astype("datetime64[us]").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        columns.append(values.astype(object).where(values.notna(), None).tolist())
    return list(zip(*columns, strict=True))


def csv_bytes(frame: pd.DataFrame) -> bytes | None:
    """``frame`` as CSV for ``COPY ... (FORMAT csv)``, written by Arrow: text always quoted,
    NULL as an empty unquoted field, times to the second like ``lead_writer._copy_text``.
    None when a time column is not plain (naive) datetimes: the pandas writer handles
    those."""
    arrays = []
    for col in frame.columns:
        values = frame[col]
        if col in DATETIMES:
            if values.isna().all():
                arrays.append(pa.nulls(len(values), pa.timestamp("s")))
                continue
            if not pd.api.types.is_datetime64_dtype(values.dtype):
                return None
            stamps = pc.floor_temporal(pa.array(values, from_pandas=True), unit="second")
            arrays.append(stamps.cast(pa.timestamp("s")))
        elif values.dtype == object and values.isna().all():
            arrays.append(pa.nulls(len(values), pa.string()))
        else:
            arrays.append(pa.array(values, from_pandas=True))
    out = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.Table.from_arrays(arrays, names=list(frame.columns)),
        out,
        pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return out.getvalue().to_pybytes()
