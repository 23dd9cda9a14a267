"""Changes made to a staged import in the check-data step, kept apart from the staged file.

``deleted.json`` lists deleted row numbers; ``edited.parquet`` holds re-validated copies of
edited rows (same columns as ``staged.parquet``). The staged file itself is never rewritten,
so an edit is cheap and an interrupted import resumes from the same data."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadapp.models import Import


def _folder(imp: Import) -> Path:
    return Path(imp.staging_path)


@contextmanager
def _one_change_at_a_time(imp: Import) -> Iterator[None]:
    """Business rule: no edit or deletion is lost to another saved at the same moment.

    The lists are read, changed and replaced whole, so two saves at once (threads or
    processes; each opening the lock file holds its own lock) take turns."""
    with (_folder(imp) / "changes.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def deleted_rows(imp: Import) -> set[int]:
    path = _folder(imp) / "deleted.json"
    return set(json.loads(path.read_text())) if path.exists() else set()


def edited_rows(imp: Import) -> pd.DataFrame | None:
    path = _folder(imp) / "edited.parquet"
    return pq.read_table(path).to_pandas() if path.exists() else None


def apply_changes(imp: Import, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (staged rows in file order: the whole file, a page or one row, possibly a
    column subset) with edits and deletions applied.

    Business rule: the result holds exactly the rows of ``frame`` that are not deleted,
    each once and in file order, an edited row replaced by its re-checked copy; a read of
    some rows never gains rows it did not ask for."""
    deleted = deleted_rows(imp)
    if deleted:
        frame = frame[~frame["_row"].isin(deleted)]
    edited = edited_rows(imp)
    if edited is None or edited.empty:
        return frame
    replaced = frame["_row"].isin(edited["_row"])
    if not replaced.any():
        return frame
    wanted = edited[edited["_row"].isin(frame["_row"])]
    cols = [c for c in frame.columns if c in wanted.columns]
    if frame["_row"].is_monotonic_increasing:
        # Staged rows are numbered in file order: an edit goes back to its place by
        # position, column by column (a million rows are not concatenated and sorted).
        positions = np.searchsorted(frame["_row"].to_numpy(), wanted["_row"].to_numpy())
        out = frame.copy()
        try:
            for col in cols:
                out.iloc[positions, out.columns.get_loc(col)] = wanted[col].to_numpy()
        except (TypeError, ValueError):
            pass  # an edit whose column type differs from the file's: the general way
        else:
            return out
    frame = pd.concat([frame[~replaced], wanted[cols]], ignore_index=True)
    return frame.sort_values("_row", kind="stable", ignore_index=True)


def delete_rows(imp: Import, rows: list[int]) -> None:
    """Leave these rows out of the import (they stay in the staged file)."""
    with _one_change_at_a_time(imp):
        path = _folder(imp) / "deleted.json"
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(sorted(deleted_rows(imp) | {int(r) for r in rows})))
        tmp.replace(path)  # never a half-written list


def save_edited(imp: Import, rows: pd.DataFrame) -> None:
    """Keep re-validated rows, replacing earlier edits of the same rows."""
    with _one_change_at_a_time(imp):
        _save_edited(imp, rows)


def _save_edited(imp: Import, rows: pd.DataFrame) -> None:
    path = _folder(imp) / "edited.parquet"
    current = edited_rows(imp)
    if current is not None:
        current = current[~current["_row"].isin(set(rows["_row"]))]
        rows = pd.concat([current, rows], ignore_index=True)
    tmp = path.with_suffix(".part")
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------
# The check-data grid

PAGE_SIZE = 50
FILTERS = ("all", "valid", "invalid", "duplicate", "unsure")


def _has_column(imp: Import, name: str) -> bool:
    """Whether the staged file has ``name`` (files staged before a column existed lack it)."""
    return name in pq.read_schema(Path(imp.staging_path) / "staged.parquet").names


def row_flags(imp: Import) -> pd.DataFrame:
    """``_row``, ``_valid``, ``_dup`` (repeats an earlier valid row's key) and ``_unsure``
    (a valid row whose zone is unsure: its evidence disagrees or cannot place it) for
    every row."""
    from leadapp.services.imports import DuplicateSettings, staged

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
    from leadapp.services.imports import ImportError_, mapped_fields, stage_frame, stage_options

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
