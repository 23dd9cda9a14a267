"""The downloads of an import: invalid rows with reasons, duplicates, the log, the data."""

from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from leadapp.domain.csv_export import to_csv_bytes
from leadapp.domain.duplicates import first_occurrence, key_parts
from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import AuditLog, Import
from leadapp.services import import_outcomes
from leadapp.services import imports as import_service

KINDS = ("invalid", "duplicates", "log", "current")


def _fields_with_raw(imp: Import, frame: pd.DataFrame) -> pd.DataFrame:
    """Mapped fields as the file had them (phones as received) plus the line number."""
    out = pd.DataFrame({"line": frame["_line"]})
    for name in import_service.mapped_fields(imp):
        source = f"{name}_raw" if f"{name}_raw" in frame else name
        if source in frame:
            out[name] = frame[source]
    return out


def _sentences(text: pd.Series) -> pd.Series:
    def one(value: str) -> str:
        parts = []
        for part in (value or "").split("; "):
            field, _, code = part.partition(": ")
            if code:
                parts.append(f"{field}: {REASON_TEXT.get(code, code)}")
        return " ".join(parts)

    return text.fillna("").map(one)


def build(imp: Import, kind: str) -> io.BytesIO:
    """One download as CSV bytes (formula-safe)."""
    frame = import_service.staged(imp)
    if kind == "invalid":
        bad = frame[~frame["_valid"]]
        out = _fields_with_raw(imp, bad)
        out["reasons"] = _sentences(bad["_reasons"]).to_numpy()
    elif kind == "duplicates":
        out = _duplicates(imp, frame)
    elif kind == "current":
        out = _fields_with_raw(imp, frame).drop(columns=["line"])
    else:
        out = _log(imp)
    return io.BytesIO(to_csv_bytes(out))


def _duplicates(imp: Import, frame: pd.DataFrame) -> pd.DataFrame:
    valid = frame[frame["_valid"]].copy()
    d = imp.duplicate_settings or {}
    settings = import_service.DuplicateSettings(**d)
    in_file = settings.repeats_earlier(valid["_key"])
    first = first_occurrence(valid["_key"], len(settings.match), settings.match_mode)
    rows = _fields_with_raw(imp, valid)
    rows["duplicate_of"] = ""
    rows.loc[in_file, "duplicate_of"] = (
        "line " + valid.loc[first[in_file].to_numpy(), "_line"].astype("str").to_numpy()
    )
    rows["matched_lead_id"] = ""
    if settings.match_mode == "any" and len(settings.match) > 1:
        # "any of": the values the row has, e.g. "+14155550101 or ann@x.com"
        parts = key_parts(valid["_key"], len(settings.match))
        rows["match_key"] = (
            pd.concat(parts, axis=1).apply(lambda r: " or ".join(r.dropna()), axis=1).to_numpy()
        )
    else:
        rows["match_key"] = valid["_key"].str.replace("\x1f", " + ", regex=False)
    rows["what_was_done"] = ""
    rows.loc[in_file, "what_was_done"] = "not imported (repeats an earlier row)"
    if d and d.get("scope") != "none":
        pool = db.session.get(import_service.LeadPool, imp.pool_id) if imp.pool_id else None
        firsts = valid.loc[~in_file, "_key"]
        matches = settings.existing_matches(
            firsts, import_service.scope_pool_ids(imp, pool, settings), imp.id
        )
        if not matches.empty:
            ids = matches.groupby("_key")["lead_id"].apply(
                lambda s: " ".join(str(int(i)) for i in s)
            )
            hit = ~in_file & valid["_key"].isin(ids.index)
            rows.loc[hit, "matched_lead_id"] = valid.loc[hit, "_key"].map(ids)
            rows.loc[hit, "what_was_done"] = import_outcomes.row_words(
                valid.loc[hit, "_key"], matches, settings
            ).to_numpy()
    return rows[(rows["duplicate_of"] != "") | (rows["matched_lead_id"] != "")]


def _log(imp: Import) -> pd.DataFrame:
    counts = import_service.public_counts(imp)
    lines = [("summary", line) for line in import_service.describe(imp)]
    lines += [("count", f"{k}: {v}") for k, v in counts.items() if k not in ("mapping", "warnings")]
    lines += [("mapping", f"{h} -> {t}") for h, t in counts["mapping"].items()]
    lines += [("warning", w["message"]) for w in counts["warnings"]]
    for line in (imp.counts or {}).get("ragged_rows", []):
        lines.append(("warning", f"line {line}: the number of cells differs from the header"))
    if imp.error:
        lines.append(("error", imp.error))
    entries = db.session.scalars(
        sa.select(AuditLog)
        .where(AuditLog.object_type == "Import", AuditLog.object_id == imp.id)
        .order_by(AuditLog.at)
    )
    lines += [("event", f"{e.at:%Y-%m-%d %H:%M:%S} UTC {e.action} {e.details}") for e in entries]
    return pd.DataFrame(lines, columns=["kind", "entry"])
