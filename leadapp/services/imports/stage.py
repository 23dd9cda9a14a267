"""Stage 2, stage: the file is read in chunks, mapped to lead fields, validated and
normalised (phones to E.164, time zones resolved) and written to ``staged.parquet``, one
row per data row with its line number, validity, reasons and match key. ``staged`` reads
it back with the wizard's edits applied (see ``edits``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from leadapp.domain import csv_io
from leadapp.domain.columns import apply_mapping
from leadapp.domain.duplicates import normalise_key, row_key
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.domain.first_phone import use_first_valid_phone
from leadapp.domain.timezones import resolve_timezones
from leadapp.domain.validation import WARNINGS, validate
from leadapp.extensions import db
from leadapp.models import Campaign, Import, Lead
from leadapp.services.imports.duplicates import CUSTOM_PREFIX, key_field
from leadapp.services.imports.edits import apply_changes
from leadapp.services.imports.errors import DISK_FULL_STAGING, DiskFull
from leadapp.services.imports.fields import _key_phone, field_definitions, first_valid_phone
from leadapp.services.imports.read import read_options
from leadapp.services.uploads import refusing_a_full_disk

STAGE_CHUNK = 50_000
STAGE_THREADS = 2


def stage(imp: Import, progress: Callable[[float, str], None] | None = None) -> dict:
    """Read, map, validate and normalise the whole file into ``staged.parquet``."""
    campaign = db.session.get(Campaign, imp.campaign_id)
    definitions = field_definitions()
    region = (imp.settings or {}).get("region") or campaign.default_region
    key_phone = _key_phone(imp.mapping)
    reader = csv_io.read_chunks(
        Path(imp.staging_path) / "source.csv",
        encoding=imp.encoding,
        delimiter=imp.delimiter,
        chunk_rows=STAGE_CHUNK,
        **read_options(imp),
    )
    target = Path(imp.staging_path) / "staged.parquet"
    tmp = target.with_suffix(".part")
    writer = None
    rows = valid = submitted = 0
    size = max(imp.file_size or 1, 1)
    options = {
        "mapping": imp.mapping,
        # Plain values: the worker threads must not touch ORM objects.
        "definitions": [
            {k: getattr(f, k) for k in ("key", "type", "required", "unique", "max_length")}
            for f in definitions
        ],
        "region": region,
        "default_zone": campaign.timezone,
        "rules": imp.timezone_rules,
        "key_phone": key_phone,
        "match": imp.duplicate_settings.get("match", ["phone1"]),
        "match_mode": imp.duplicate_settings.get("match_mode", "any"),
        "taken": taken_values(
            definitions,
            imp.duplicate_settings.get("match", ["phone1"]),
            imp.duplicate_settings.get("scope", "campaign"),
        ),
        "first_valid_phone": first_valid_phone(imp),
    }
    in_flight: deque = deque()

    def write_next() -> None:
        nonlocal writer, rows, valid
        last_line, future = in_flight.popleft()
        frame = future.result()
        rows += len(frame)
        valid += int(frame["_valid"].sum())
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            # lz4 without dictionaries: written and read back several times faster.
            writer = pq.ParquetWriter(tmp, table.schema, compression="lz4", use_dictionary=False)
        writer.write_table(table.cast(writer.schema))
        if progress:
            done = min(0.99, (last_line or 0) * 100.0 / size)
            progress(done, f"Checked {rows:,} rows.")

    # Two chunks are checked at once (Arrow and pandas release the GIL for much of the
    # work); they are written in file order.
    try:
        with refusing_a_full_disk(DiskFull(DISK_FULL_STAGING)):
            try:
                with ThreadPoolExecutor(max_workers=STAGE_THREADS) as workers:
                    for chunk in reader:
                        future = workers.submit(stage_frame, chunk, first_row=submitted, **options)
                        in_flight.append((chunk.index.max(), future))
                        submitted += len(chunk)
                        if len(in_flight) >= STAGE_THREADS:
                            write_next()
                    while in_flight:
                        write_next()
            finally:
                if writer is not None:
                    writer.close()  # the footer is written here: a full disk may show now
            tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a refused file leaves no half-staged rows behind
        raise
    report = reader.report
    imp.counts = {
        **(imp.counts or {}),
        "rows": rows,
        "valid": valid,
        "invalid": rows - valid,
        "blank_rows_skipped": report["blank_rows_skipped"],
        "ragged_rows": [line for line, _ in report["ragged_rows"]][:1000],
    }
    db.session.flush()
    return imp.counts


def stage_frame(
    chunk: pd.DataFrame,
    mapping: dict,
    definitions,
    *,
    region: str,
    default_zone: str,
    rules,
    key_phone: str,
    match: list[str],
    match_mode: str = "any",
    first_row: int = 0,
    taken: dict[str, frozenset] | None = None,
    first_valid_phone: bool = False,
) -> pd.DataFrame:
    """One chunk of the file as staged rows: lead fields, validity, reasons, match key.

    ``taken``: per unique custom field, the values other leads of the account already hold
    (normalised as match keys): such a cell is ``already_used``.
    Pure apart from its inputs; the wizard's cell edits re-run it for one row."""
    mapped = apply_mapping(chunk, {h: t for h, t in mapping.items() if h in chunk.columns})
    checked = validate(mapped, definitions, region=region)
    values = checked.values
    reasons = checked.reasons.copy()
    for col, used in (taken or {}).items():
        if col in values and col in reasons and used:
            held = normalise_key(_as_text(values[col]), CUSTOM_PREFIX + col).isin(used)
            reasons.loc[held & reasons[col].isna(), col] = "already_used"
    # Extra phones are optional: an invalid one is dropped and reported, the row stays.
    for col in reasons.columns:
        if col in PHONE_FIELDS and col != key_phone:
            bad = reasons[col].notna()
            reasons.loc[bad, col] = "warn_" + reasons.loc[bad, col]
            values.loc[bad, col] = np.nan
    if first_valid_phone:
        values, reasons, _ = use_first_valid_phone(values, reasons, key_phone)
    blocking = (
        reasons.notna()
        & ~reasons.isin(list(WARNINGS))
        & ~reasons.apply(lambda s: s.str.startswith("warn_").fillna(False))
    )
    row_valid = ~blocking.any(axis=1) if len(reasons.columns) else pd.Series(True, chunk.index)
    key_e164 = values[key_phone] if key_phone in values else pd.Series(np.nan, chunk.index)
    row_valid &= key_e164.notna()
    if key_phone not in reasons:
        reasons[key_phone] = pd.Series(np.nan, index=chunk.index, dtype="str")
    reasons.loc[key_e164.isna() & reasons[key_phone].isna(), key_phone] = "phone_empty"

    out = pd.DataFrame(index=chunk.index)
    out["_row"] = np.arange(first_row, first_row + len(chunk), dtype="int64")
    out["_line"] = chunk.index.to_numpy(dtype="int64")
    for col in values.columns:
        series = values[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.strftime("%Y-%m-%d %H:%M:%S")
        out[col] = series.astype("str")
    if key_phone != "phone1":  # the dialled phone is phone1 in the lead
        out["phone1"], out[key_phone] = out[key_phone], np.nan
        out["phone1_raw"] = out.pop(f"{key_phone}_raw")
    tz = resolve_timezones(
        out,
        tz_field="timezone" if "timezone" in out else None,
        rules=rules,
        e164=out["phone1"],
        default_zone=default_zone,
        region=region,
    )
    out["timezone"] = tz["timezone"]
    out["timezone_source"] = tz["zone_source"]
    out["timezone_note"] = tz["timezone_note"]
    out["zone_key"] = tz["zone_key"]
    # A zone in the file that is no IANA name is a cell error, not silence (issue 15).
    bad_zone = tz["reason"].notna()
    if bad_zone.any():
        if "timezone" not in reasons:
            reasons["timezone"] = pd.Series(np.nan, index=chunk.index, dtype="str")
        reasons.loc[bad_zone, "timezone"] = tz["reason"][bad_zone]
        row_valid &= ~bad_zone
    out["_valid"] = row_valid.to_numpy()
    out["_reasons"] = _reason_text(reasons)
    # The key's parts are named by their match keys (custom:<field>), as the search of
    # existing leads names them, so both normalise them alike.
    parts = pd.DataFrame({m: out.get(key_field(m)) for m in match}, index=out.index)
    complete = all(key_field(m) in out for m in match)
    if complete or match_mode == "any":
        out["_key"] = row_key(parts, match, match_mode).where(out["_valid"])
    else:
        out["_key"] = None
    out["_key"] = out["_key"].astype("str")
    return out


def _as_text(series: pd.Series) -> pd.Series:
    """A checked column as the text the lead keeps (dates as ``YYYY-MM-DD HH:MM:SS``)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series.dt.strftime("%Y-%m-%d %H:%M:%S")
    return series.astype("str")


def taken_values(
    definitions, match: list[str], scope: str = "campaign", exclude_lead: int | None = None
) -> dict[str, frozenset]:
    """For each unique custom field: the values the account's leads hold (trimmed, without
    case), which a new value may not repeat. A field that is also a duplicate match key
    (with a duplicate search) is left to the duplicate rules, which decide what a row
    naming an existing value does (discard, update, move...)."""
    out: dict[str, frozenset] = {}
    for f in definitions:
        key = f["key"] if isinstance(f, dict) else f.key
        unique = f["unique"] if isinstance(f, dict) else f.unique
        standard = f.get("is_standard") if isinstance(f, dict) else f.is_standard
        if not unique or standard or (scope != "none" and CUSTOM_PREFIX + key in match):
            continue
        value = sa.func.nullif(sa.func.trim(Lead.custom[key].as_string()), "")
        query = sa.select(value).where(value.is_not(None)).distinct()
        if exclude_lead is not None:
            query = query.where(Lead.id != exclude_lead)
        held = pd.Series(list(db.session.scalars(query)), dtype="str")
        out[key] = frozenset(normalise_key(held, CUSTOM_PREFIX + key).dropna())
    return out


def _reason_text(reasons: pd.DataFrame) -> pd.Series:
    """``field: code`` pairs joined with ``; `` (empty when the row is clean)."""
    if not len(reasons.columns):
        return pd.Series("", index=reasons.index, dtype="str")
    text = pd.Series("", index=reasons.index, dtype="str")
    for col in reasons.columns:
        has = reasons[col].notna()
        if has.any():
            part = col + ": " + reasons[col].str.removeprefix("warn_")
            text = text.where(~has, text.where(text == "", text + "; ") + part)
    return text


def staged(imp: Import, columns: list[str] | None = None) -> pd.DataFrame:
    """The staged rows with the wizard's edits and deletions applied."""

    frame = pq.read_table(Path(imp.staging_path) / "staged.parquet", columns=columns).to_pandas()
    return apply_changes(imp, frame)


def stage_options(imp: Import) -> dict:
    """The keyword arguments ``stage_frame`` needs for this import (used to re-check edits)."""
    campaign = db.session.get(Campaign, imp.campaign_id)
    return {
        "definitions": field_definitions(),
        "region": (imp.settings or {}).get("region") or campaign.default_region,
        "default_zone": campaign.timezone,
        "rules": imp.timezone_rules,
        "match": (imp.duplicate_settings or {}).get("match", ["phone1"]),
        "match_mode": (imp.duplicate_settings or {}).get("match_mode", "any"),
        "taken": taken_values(
            field_definitions(),
            (imp.duplicate_settings or {}).get("match", ["phone1"]),
            (imp.duplicate_settings or {}).get("scope", "campaign"),
        ),
        "first_valid_phone": first_valid_phone(imp),
    }


def forget_staged(imp: Import) -> None:
    """Drop the staged rows and their edits (the mapping or duplicate rules changed)."""
    if imp.staging_path:
        for name in ("staged.parquet", "edited.parquet", "deleted.json"):
            (Path(imp.staging_path) / name).unlink(missing_ok=True)
    imp.counts = {}
    imp.rows_done = 0
    db.session.flush()
