"""Duplicate keys, duplicate groups and the golden record, set-based with pandas.

Business rules:

* A match key is a field or several fields. Phones compare by their E.164 value, emails
  trimmed and lower-cased, customer keys trimmed, other (custom) fields trimmed and
  case-folded.
* Several fields match in one of two modes (``MATCH_MODES``): ``any`` (the default, as a
  supervisor says "email OR phone") — two rows are duplicates when any one of the fields
  holds the same value in both; ``all`` — only when every field is equal. In ``all`` mode a
  row with an empty part has no key and is never a duplicate; in ``any`` mode only a row
  with every part empty has none.
* Inside one file or frame, the first occurrence of a key is kept; every later row with the
  same key is a duplicate of it (``duplicate_of`` = the first row's index label). In
  ``any`` mode a later row repeats an earlier one when any of its parts equals the same
  part of an earlier row (``repeats_earlier``).
* Across leads (the deduplicator), ``any`` mode groups chains: A shares a phone with B and
  B an email with C puts A, B and C in one group (``any_of_groups``).
* Golden record of a group (Lead Deduplicator): ``latest-created`` keeps the newest
  ``created_at``; ``latest-called`` the newest ``last_called_at`` (never called counts as
  oldest, then newest created); ``inbound`` prefers a lead whose source is ``inbound``, then the
  newest created. Remaining ties go to the lowest id, so a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "KEEP_RULES",
    "MATCH_MODES",
    "any_of_groups",
    "choose_golden",
    "find_duplicates",
    "key_parts",
    "match_key",
    "normalise_key",
    "repeats_earlier",
    "row_key",
]

KEEP_RULES = ("latest-created", "latest-called", "inbound")
MATCH_MODES = ("any", "all")
MODE_WORDS = {"any": "any of", "all": "all of"}
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


def row_key(df: pd.DataFrame, fields: Sequence[str], mode: str = "all") -> pd.Series:
    """The row's key for ``fields`` in ``mode``: every part joined by ``KEY_SEPARATOR``.

    ``all``: missing when any part is (``match_key``). ``any``: an empty part stays empty
    text, so ``key_parts`` gives it back; missing only when every part is."""
    fields = list(fields)
    if mode not in MATCH_MODES:
        raise ValueError(f"Match on any or all of the fields, not {mode!r}.")
    if mode == "all" or len(fields) == 1:
        return match_key(df, fields)
    parts = [normalise_key(df[f], f) for f in fields]
    has_one = pd.concat([p.notna() for p in parts], axis=1).any(axis=1)
    key = parts[0].fillna("")
    for part in parts[1:]:
        key = key + KEY_SEPARATOR + part.fillna("")
    return key.where(has_one).rename("match_key")


def key_parts(keys: pd.Series, count: int) -> list[pd.Series]:
    """The ``count`` parts of each key made by ``row_key`` (empty parts missing)."""
    if count == 1:
        return [keys.where(keys.notna() & (keys != ""))]
    split = keys.str.split(KEY_SEPARATOR, n=count - 1, expand=True, regex=False)
    out = []
    for i in range(count):
        part = split[i] if i in split.columns else pd.Series(pd.NA, index=keys.index)
        part = pd.Series(part.to_numpy(dtype=object), index=keys.index)
        out.append(part.where(part.notna() & (part != "")))
    return out


def repeats_earlier(keys: pd.Series, count: int, mode: str = "all") -> pd.Series:
    """True for a row whose key repeats an earlier row's: the whole key (``all``, or a
    single field), or any one part (``any``)."""
    if mode == "all" or count == 1:
        return keys.notna() & keys.duplicated(keep="first")
    out = pd.Series(False, index=keys.index)
    for part in key_parts(keys, count):
        out |= part.notna() & part.duplicated(keep="first")
    return out


def first_occurrence(keys: pd.Series, count: int, mode: str = "all") -> pd.Series:
    """For each row repeating an earlier one, the index label of the first earlier row it
    repeats (missing otherwise)."""
    parts = [keys] if mode == "all" or count == 1 else key_parts(keys, count)
    own = np.arange(len(keys))
    best = np.full(len(keys), len(keys))
    for part in parts:
        has = part.notna().to_numpy()
        if not has.any():
            continue
        first = pd.Series(own[has]).groupby(part[has].to_numpy()).transform("min").to_numpy()
        earlier = np.full(len(keys), len(keys))
        earlier[has] = np.where(first < own[has], first, len(keys))
        best = np.minimum(best, earlier)
    out = pd.Series(pd.NA, index=keys.index, dtype="object")
    hit = best < len(keys)
    out.iloc[np.flatnonzero(hit)] = keys.index.to_numpy()[best[hit]]
    return out


def any_of_groups(ids: pd.Series, parts) -> pd.Series:
    """Group number (the smallest id of the group) per row: rows sharing any one value of
    the same kind are in one group, through chains. ``parts``: kind -> value per row
    (missing when empty), or (kind, values) pairs — several columns of one kind (the five
    phones) match each other. A row without any value is alone (its own id)."""
    ids = pd.Series(ids.to_numpy(), index=ids.index)
    pairs = key_pairs(ids, parts)
    label = pd.Series(ids.to_numpy(), index=ids.to_numpy())
    # Label propagation: each row takes the smallest label among the rows it shares a
    # value with, until nothing changes (as many rounds as the longest chain).
    while not pairs.empty:
        per_value = pairs.assign(label=label.loc[pairs["id"]].to_numpy())
        per_value = per_value.groupby("value")["label"].transform("min")
        new = pd.Series(per_value.to_numpy(), index=pairs["id"].to_numpy()).groupby(level=0).min()
        new = new.reindex(label.index).fillna(label).astype(label.dtype)
        if new.equals(label):
            break
        label = new
    return pd.Series(label.loc[ids.to_numpy()].to_numpy(), index=ids.index)


def key_pairs(ids: pd.Series, parts) -> pd.DataFrame:
    """``id`` and ``value`` (kind + separator + value) for every non-empty part of every
    row."""
    items = parts.items() if isinstance(parts, dict) else parts
    frames = [
        pd.DataFrame({"id": ids.to_numpy(), "value": kind + KEY_SEPARATOR + part.astype("str")})[
            part.notna().to_numpy()
        ]
        for kind, part in items
    ]
    if not frames:
        return pd.DataFrame({"id": [], "value": []})
    return pd.concat(frames, ignore_index=True)


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
