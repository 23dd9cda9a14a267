"""What the fast paths send: CSV that PostgreSQL's COPY reads back as the values written
(NULL apart from the empty text, quotes, commas and line breaks kept, times to the second),
and SQLite tuples with times as SQLAlchemy stores them; None where only the slow path can."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from leadapp.services.imports.serialise import csv_bytes, serialise, sqlite_rows


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "first_name": pd.Series(['Ann "Jr", Lee', "two\nlines", np.nan], dtype="str"),
            "email": pd.Series([np.nan, np.nan, np.nan], dtype=object),
            "dial_order": np.array([0, 1, 2], dtype="int64"),
            "created_at": pd.to_datetime(
                ["2026-03-01 09:30:15.750", "2026-03-01 09:30:16", "2026-03-02"], format="ISO8601"
            ),
            "last_called_at": pd.Series([pd.NaT] * 3, dtype="datetime64[ns]"),
        }
    )


def test_csv_for_copy_keeps_text_and_tells_null_from_empty():
    data = csv_bytes(_frame())
    rows = list(csv.reader(io.StringIO(data.decode()), strict=True))
    assert [r[0] for r in rows] == ['Ann "Jr", Lee', "two\nlines", ""]
    assert [r[2] for r in rows] == ["0", "1", "2"]
    assert [r[3] for r in rows] == [
        "2026-03-01 09:30:15",
        "2026-03-01 09:30:16",
        "2026-03-02 00:00:00",
    ]
    # COPY (FORMAT csv) reads an unquoted empty field as NULL: missing values are unquoted.
    assert b'""' not in data.replace(b'"Ann ""Jr"", Lee"', b"")
    assert data.count(b"\n") >= 3


def test_sqlite_tuples_store_times_as_sqlalchemy_does():
    rows = sqlite_rows(_frame())
    assert rows[0] == ('Ann "Jr", Lee', None, 0, "2026-03-01 09:30:15.750000", None)
    assert rows[2][0] is None


def test_times_that_are_not_plain_datetimes_are_left_to_the_slow_path():
    frame = _frame().assign(created_at=["2026-03-01", "x", None])
    assert csv_bytes(frame) is None and sqlite_rows(frame) is None
    assert serialise(_frame(), "mysql") is None
