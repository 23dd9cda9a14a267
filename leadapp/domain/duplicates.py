"""Duplicate keys, duplicate groups and the golden record, set-based with pandas.

Business rules:

* A match key is a field or a combination of fields. Phones compare by their E.164 value,
  emails trimmed and lower-cased, other (custom) fields trimmed and case-folded. A row with
  an empty part has no key and is never a duplicate.
* Inside one file or frame, the first occurrence of a key is kept; every later row with the
  same key is a duplicate of it (``duplicate_of`` = the first row's index label).
* Golden record of a group (Lead Deduplicator): ``latest-created`` keeps the newest
  ``created_at``; ``latest-called`` the newest ``last_called_at`` (never called counts as
  oldest, then newest created); ``inbound`` prefers a lead whose source is ``inbound``, then the
  newest created. Remaining ties go to the lowest id, so a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["KEEP_RULES", "choose_golden", "find_duplicates", "match_key", "normalise_key"]

KEEP_RULES = ("latest-created", "latest-called", "inbound")
# Joins the parts of a combined key; cannot occur in a CSV cell people type.
KEY_SEPARATOR = "\x1f"


def normalise_key(series: pd.Series, field: str) -> pd.Series:
    """One key part, trimmed: e-mails lower-cased; phones (E.164) and customer keys as
    given — a customer key is the source system's id, compared exactly, as the database
    compares the stored ones; other fields case-folded. Empty text becomes missing."""
    text = series.astype("str").str.strip()
    if field == "email":
        text = text.str.lower()
    elif not field.startswith("phone") and field != "customer_key":
        text = text.str.casefold()
    return text.where(text != "")


def match_key(df: pd.DataFrame, fields: str | Sequence[str]) -> pd.Series:
    """The match key per row for one field or a combination (missing if any part is)."""
    fields = [fields] if isinstance(fields, str) else list(fields)
    if not fields:
        raise ValueError("Choose at least one field to match duplicates on.")
    parts = [normalise_key(df[f], f) for f in fields]
    key = parts[0]
    for part in parts[1:]:
        key = key + KEY_SEPARATOR + part  # missing stays missing
    return key.rename("match_key")


def find_duplicates(df: pd.DataFrame, fields: str | Sequence[str]) -> pd.DataFrame:
    """Duplicate groups in row order: ``match_key``, ``group`` (number, -1 without key),
    ``is_duplicate``, ``duplicate_of`` (index label of the group's first row)."""
    key = match_key(df, fields)
    codes, _ = pd.factorize(key, use_na_sentinel=True)
    pos = np.arange(len(df))
    has_key = codes >= 0
    first_pos = pd.Series(pos[has_key]).groupby(codes[has_key]).transform("min").to_numpy()
    first = np.full(len(df), -1)
    first[has_key] = first_pos
    is_dup = has_key & (first != pos)
    dup_of = pd.Series(pd.NA, index=df.index, dtype="object")
    if is_dup.any():
        dup_of.iloc[np.flatnonzero(is_dup)] = df.index.to_numpy()[first[is_dup]]
    return pd.DataFrame(
        {"match_key": key, "group": codes, "is_duplicate": is_dup, "duplicate_of": dup_of},
        index=df.index,
    )


def choose_golden(
    df: pd.DataFrame,
    group: pd.Series | str,
    keep: str = "latest-created",
    *,
    id_col: str = "id",
    created: str = "created_at",
    called: str = "last_called_at",
    source: str = "source",
) -> pd.DataFrame:
    """Golden record per group: ``is_golden`` and ``golden_id`` (the kept row's id) per row.

    Rows whose group is missing or negative are alone and golden.
    """
    if keep not in KEEP_RULES:
        raise ValueError(f"Unknown keep rule {keep!r}: use one of {', '.join(KEEP_RULES)}.")
    grp = df[group] if isinstance(group, str) else group
    grp = pd.Series(grp.to_numpy(), index=df.index)
    alone = grp.isna() | (pd.to_numeric(grp, errors="coerce") < 0)
    work = pd.DataFrame(
        {
            "grp": grp.astype("object").map(str),
            "id": df[id_col].to_numpy(),
            "created": pd.to_datetime(df[created], errors="coerce", format="mixed"),
            "pos": np.arange(len(df)),
        },
        index=df.index,
    )
    work.loc[alone, "grp"] = "alone:" + work.loc[alone, "pos"].astype(str)
    by, asc = ["grp"], [True]
    if keep == "inbound":
        work["inbound"] = df[source].astype("str").str.strip().str.lower().eq("inbound")
        by, asc = [*by, "inbound"], [*asc, False]
    if keep == "latest-called":
        work["called"] = pd.to_datetime(df[called], errors="coerce", format="mixed")
        by, asc = [*by, "called"], [*asc, False]
    by, asc = [*by, "created", "id"], [*asc, False, True]
    ordered = work.sort_values(by, ascending=asc, na_position="last", kind="stable")
    best = ordered.drop_duplicates("grp")[["grp", "id"]].rename(columns={"id": "golden_id"})
    golden = work[["grp", "id"]].merge(best, on="grp", how="left")
    return pd.DataFrame(
        {
            "is_golden": (golden["id"] == golden["golden_id"]).to_numpy(),
            "golden_id": golden["golden_id"].to_numpy(),
        },
        index=df.index,
    )
