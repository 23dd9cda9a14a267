"""The check-data grid (``imports.grid``) with its edits and deletions: an edited row stays
one row, in its place, under the filters it matches after the edit."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from leadapp.security import account_scope
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import edits as import_edits
from leadapp.services.imports import grid as import_grid
from leadapp.services.imports import stage as import_stage
from tests.services.imports.staging_helpers import staged_import

# Data rows 0..5 are file lines 2..7 (line 1 holds the column names).
ROWS = [
    ("212 555 0101", "Ann"),
    ("212 555 0102", "Bob"),
    ("212 555 0103", "Cy"),
    ("212 555 0104", "Di"),
    ("212 555 0105", "Ed"),
    ("12", "Flo"),  # invalid: too short
]


@pytest.fixture
def imp(app, make_account, tmp_path):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        yield staged_import(account_id, tmp_path, ROWS)


def by_line(frame, line: int):
    match = frame[frame["_line"] == line]
    assert len(match) == 1, match
    return match.iloc[0]


def test_editing_line_3_then_line_5_keeps_both_their_own_values(imp):
    """The reported bug: the editor of line 5 opened with line 3's value and saving it
    replaced line 5 by a copy of line 3."""
    import_grid.edit_cell(imp, 1, "first_name", "Bobby")  # line 3, Enter

    line_5 = import_grid.staged_rows(imp, [3])  # double-click on line 5: its own row only
    assert line_5[["_line", "first_name"]].to_dict("records") == [{"_line": 5, "first_name": "Di"}]
    import_grid.edit_cell(imp, 3, "first_name", "Diana")

    everything = import_stage.staged(imp)
    assert len(everything) == len(ROWS)
    assert by_line(everything, 3)["first_name"] == "Bobby"
    assert by_line(everything, 5)["first_name"] == "Diana"
    assert by_line(everything, 5)["phone1"] == "+12125550104"
    counts = import_analyse.analyse(imp)
    assert (counts["valid"], counts["invalid"], counts["duplicates_in_file"]) == (5, 1, 0)


def test_an_edited_row_shows_only_on_its_own_page_and_under_the_filters_it_matches(imp):
    import_grid.edit_cell(imp, 0, "first_name", "Anna")  # line 2, still valid

    rows, matched, counts = import_grid.grid_page(imp, "invalid")
    assert rows["_line"].tolist() == [7]  # the invalid row only, not the edited valid one
    assert matched == 1
    assert counts == {"all": 6, "valid": 5, "invalid": 1, "duplicate": 0, "unsure": 0}

    import_grid.edit_cell(imp, 5, "phone1", "212 555 0101")  # line 7 now repeats line 2
    rows, matched, counts = import_grid.grid_page(imp, "duplicate")
    assert rows["_line"].tolist() == [7]
    assert counts == {"all": 6, "valid": 6, "invalid": 0, "duplicate": 1, "unsure": 0}
    rows, _, _ = import_grid.grid_page(imp, "invalid")
    assert rows.empty
    rows, _, _ = import_grid.grid_page(imp, "all")
    assert rows["_line"].tolist() == [2, 3, 4, 5, 6, 7]  # file order, each row once


def test_rows_read_in_any_order_come_back_in_file_order_with_their_edits(imp):
    import_grid.edit_cell(imp, 4, "first_name", "Eddie")
    import_edits.delete_rows(imp, [2])
    in_order = import_stage.staged(imp)
    raw = pq.read_table(Path(imp.staging_path) / "staged.parquet").to_pandas()
    shuffled = import_edits.apply_changes(imp, raw.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(shuffled.reset_index(drop=True), in_order.reset_index(drop=True))
    assert shuffled["_line"].tolist() == [2, 3, 5, 6, 7]
    assert by_line(shuffled, 6)["first_name"] == "Eddie"
