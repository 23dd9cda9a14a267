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
