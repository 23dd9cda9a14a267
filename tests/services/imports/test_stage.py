"""The stage step on one chunk of the file (``stage_frame``, pure): what makes a row
invalid, what is only a warning, and which rows get a match key."""

from __future__ import annotations

import pandas as pd

from leadapp.domain.fields import STANDARD_FIELDS
from leadapp.services.imports.stage import stage_frame


def staged_chunk(rows: list[tuple[str, str]], first_row: int = 0) -> pd.DataFrame:
    """``rows`` (phone, extra phone) as file lines 2, 3, ..."""
    chunk = pd.DataFrame(
        rows, columns=["Phone", "Mobile"], index=range(2, 2 + len(rows)), dtype="str"
    )
    return stage_frame(
        chunk,
        {"Phone": "phone1", "Mobile": "phone2"},
        STANDARD_FIELDS,
        region="US",
        default_zone="America/New_York",
        rules=[],
        key_phone="phone1",
        match=["phone1"],
        first_row=first_row,
    )


def test_a_bad_extra_phone_is_dropped_with_a_warning_and_the_row_stays_valid():
    out = staged_chunk([("212 555 0101", "12")])
    row = out.iloc[0]
    assert bool(row["_valid"])
    assert row["phone1"] == "+12125550101"
    assert pd.isna(row["phone2"])
    assert row["_reasons"] == "phone2: phone_too_short"
    assert row["_key"] == "+12125550101"


def test_a_row_without_the_dialled_phone_is_invalid_and_has_no_match_key():
    out = staged_chunk([("", "212 555 0102"), ("212 555 0103", "")], first_row=10)
    assert out["_valid"].tolist() == [False, True]
    assert out["_row"].tolist() == [10, 11]  # numbered on from the rows before the chunk
    assert out["_line"].tolist() == [2, 3]
    assert "phone1: phone_empty" in out.iloc[0]["_reasons"]
    assert pd.isna(out.iloc[0]["_key"])  # no key: never a duplicate of anything
