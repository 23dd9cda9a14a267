"""Changes made to a staged import in the check-data step, kept apart from the staged file.

``deleted.json`` lists deleted row numbers; ``edited.parquet`` holds re-validated copies of
edited rows (same columns as ``staged.parquet``). The staged file itself is never rewritten,
so an edit is cheap and an interrupted import resumes from the same data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadapp.models import Import


def _folder(imp: Import) -> Path:
    return Path(imp.staging_path)


def deleted_rows(imp: Import) -> set[int]:
    path = _folder(imp) / "deleted.json"
    return set(json.loads(path.read_text())) if path.exists() else set()


def edited_rows(imp: Import) -> pd.DataFrame | None:
    path = _folder(imp) / "edited.parquet"
    return pq.read_table(path).to_pandas() if path.exists() else None


def apply_changes(imp: Import, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (staged rows, possibly a column subset) with edits and deletions applied."""
    deleted = deleted_rows(imp)
    if deleted:
        frame = frame[~frame["_row"].isin(deleted)]
    edited = edited_rows(imp)
    if edited is not None and not edited.empty:
        edited = edited[~edited["_row"].isin(deleted)]
        cols = [c for c in frame.columns if c in edited.columns]
        replaced = frame["_row"].isin(set(edited["_row"]))
        frame = pd.concat([frame[~replaced], edited[cols]], ignore_index=True)
        frame = frame.sort_values("_row", kind="stable").reset_index(drop=True)
    return frame


def delete_rows(imp: Import, rows: list[int]) -> None:
    path = _folder(imp) / "deleted.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(sorted(deleted_rows(imp) | {int(r) for r in rows})))
    tmp.replace(path)  # never a half-written list


def save_edited(imp: Import, rows: pd.DataFrame) -> None:
    """Keep re-validated rows, replacing earlier edits of the same rows."""
    path = _folder(imp) / "edited.parquet"
    current = edited_rows(imp)
    if current is not None:
        current = current[~current["_row"].isin(set(rows["_row"]))]
        rows = pd.concat([current, rows], ignore_index=True)
    tmp = path.with_suffix(".part")
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp)
    tmp.replace(path)
