"""The check-data step between stage and analyse: the grid of staged rows (filters, pages,
counts per filter) and editing one cell, which re-checks its whole row with the stage's
rules. The edits themselves are kept by ``edits``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from leadapp.models import Import
from leadapp.services.imports.duplicates import DuplicateSettings
from leadapp.services.imports.edits import _one_change_at_a_time, _save_edited, apply_changes
from leadapp.services.imports.errors import ImportError_
from leadapp.services.imports.fields import mapped_fields
from leadapp.services.imports.stage import stage_frame, stage_options, staged

PAGE_SIZE = 50
FILTERS = ("all", "valid", "invalid", "duplicate", "unsure")


def _has_column(imp: Import, name: str) -> bool:
    """Whether the staged file has ``name`` (files staged before a column existed lack it)."""
    return name in pq.read_schema(Path(imp.staging_path) / "staged.parquet").names


def row_flags(imp: Import) -> pd.DataFrame:
    """``_row``, ``_valid``, ``_dup`` (repeats an earlier valid row's key) and ``_unsure``
    (a valid row whose zone is unsure: its evidence disagrees or cannot place it) for
    every row."""

    note = ["timezone_note"] if _has_column(imp, "timezone_note") else []
    flags = staged(imp, ["_row", "_valid", "_key", *note])
    valid_keys = flags["_key"].where(flags["_valid"])
    settings = DuplicateSettings(**(imp.duplicate_settings or {}))
    flags["_dup"] = settings.repeats_earlier(valid_keys)
    unsure = flags["timezone_note"].notna() & (flags["timezone_note"] != "") if note else False
    flags["_unsure"] = flags["_valid"].astype(bool) & unsure
    return flags


def zone_unsure_count(imp: Import) -> int:
    """Valid rows whose zone is unsure (the review step counts them)."""
    return int(row_flags(imp)["_unsure"].sum())


def filter_counts(flags: pd.DataFrame) -> dict[str, int]:
    """How many rows each filter of the grid shows (``flags`` from ``row_flags``)."""
    return {
        "all": len(flags),
        "valid": int(flags["_valid"].sum()),
        "invalid": int((~flags["_valid"]).sum()),
        "duplicate": int(flags["_dup"].sum()),
        "unsure": int(flags["_unsure"].sum()),
    }


def in_filter(flags: pd.DataFrame, show: str) -> pd.Series:
    """Which rows of ``flags`` the filter ``show`` lists: invalid rows under Invalid, valid
    ones under Valid (duplicates included), valid repeats of an earlier key under
    Duplicates, valid rows whose zone is unsure under Zone unsure, every row under All."""
    if show == "valid":
        return flags["_valid"].astype(bool)
    if show == "invalid":
        return ~flags["_valid"].astype(bool)
    if show == "duplicate":
        return flags["_dup"].astype(bool)
    if show == "unsure":
        return flags["_unsure"].astype(bool)
    return pd.Series(True, index=flags.index)


def grid_page(
    imp: Import, show: str = "all", page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[pd.DataFrame, int, dict]:
    """One page of staged rows for the grid, the number of rows the filter matches, and
    the counts per filter — all after the edits and deletions made so far."""
    flags = row_flags(imp)
    chosen = flags[in_filter(flags, show)]
    start = (max(page, 1) - 1) * page_size
    wanted = chosen.iloc[start : start + page_size]
    rows = staged_rows(imp, wanted["_row"].tolist())
    rows = rows.merge(wanted[["_row", "_dup"]], on="_row", how="left")
    return rows, len(chosen), filter_counts(flags)


def rows_in_filter(imp: Import, show: str) -> list[int]:
    """Every row the filter ``show`` lists now, on all its pages ("select all" for delete)."""
    flags = row_flags(imp)
    return flags.loc[in_filter(flags, show), "_row"].astype("int64").tolist()


def rows_now(imp: Import, row_numbers: list[int], show: str) -> tuple[pd.DataFrame, int, dict]:
    """The rows ``row_numbers`` as they stand now (deleted ones left out), each with
    ``_dup`` and ``_listed`` (whether the filter ``show`` lists it now), the number of rows
    the filter lists, and the counts per filter: what a page needs after an edit to show
    every change without moving its rows."""
    flags = row_flags(imp)
    listed = in_filter(flags, show)
    wanted = flags.loc[flags["_row"].isin(row_numbers), ["_row", "_dup"]]
    wanted = wanted.assign(_listed=listed[wanted.index])
    rows = staged_rows(imp, wanted["_row"].tolist())
    rows = rows.merge(wanted, on="_row", how="left")
    return rows, int(listed.sum()), filter_counts(flags)


def staged_rows(imp: Import, row_numbers: list[int]) -> pd.DataFrame:
    """The staged rows with these numbers (edits applied), read with a filter, not whole."""
    if not row_numbers:  # an empty page still has the staged columns
        schema = pq.read_schema(Path(imp.staging_path) / "staged.parquet")
        return schema.empty_table().to_pandas()
    table = pq.read_table(
        Path(imp.staging_path) / "staged.parquet", filters=[("_row", "in", row_numbers)]
    )
    return apply_changes(imp, table.to_pandas())


def edit_cell(imp: Import, row: int, field: str, value: str) -> pd.Series:
    """Change one cell and re-check the whole row at once; returns the new staged row."""

    fields = mapped_fields(imp)
    if field not in fields:
        raise ImportError_(f"The column {field} is not part of this import.")
    options = stage_options(imp)
    with _one_change_at_a_time(imp):  # the row read is the row saved: no edit in between
        current = staged_rows(imp, [row])
        if current.empty:
            raise ImportError_("That row no longer exists (it was deleted).")
        record = current.iloc[0]
        cells = {}
        for name in fields:
            source = f"{name}_raw" if f"{name}_raw" in current.columns else name
            cell = record.get(source)
            blank = cell is None or (isinstance(cell, float) and pd.isna(cell))
            cells[name] = "" if blank else cell
        cells[field] = value
        chunk = pd.DataFrame([cells], index=pd.Index([int(record["_line"])]), dtype="str")
        fresh = stage_frame(
            chunk, {f: f for f in fields}, key_phone="phone1", first_row=row, **options
        )
        _save_edited(imp, fresh)
    return fresh.iloc[0]
