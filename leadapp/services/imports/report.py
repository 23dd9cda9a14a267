"""Stage 5, report: what an import did, in words and counts (``public_counts``, ``describe``)
and its downloads: invalid rows with reasons, duplicates, the log, the data."""

from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa

from leadapp.domain import phones
from leadapp.domain.csv_export import to_csv_bytes
from leadapp.domain.duplicates import first_occurrence, key_parts
from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import AuditLog, Campaign, Import, LeadPool
from leadapp.services import import_outcomes
from leadapp.services.imports.duplicates import (
    ACTION_WORDS,
    SCOPE_WORDS,
    DuplicateSettings,
    match_words,
    scope_pool_ids,
)
from leadapp.services.imports.fields import mapped_fields
from leadapp.services.imports.read import read_options
from leadapp.services.imports.stage import staged

KINDS = ("invalid", "duplicates", "log", "current")


def public_counts(imp: Import) -> dict:
    """The counts of ``leads import --json`` (DESIGN.md §7)."""
    c = imp.counts or {}
    return {
        "rows": c.get("rows", 0),
        "valid": c.get("valid", 0),
        "invalid": c.get("invalid", 0),
        "duplicates_in_file": c.get("duplicates_in_file", 0),
        "duplicates_existing": c.get("duplicates_existing", 0),
        "imported": c.get("imported", 0),
        "updated": c.get("updated", 0),
        "discarded": c.get("discarded", 0),
        "moved": c.get("moved", 0),
        "deactivated": c.get("deactivated", 0),
        "removed": c.get("removed", 0),
        "notified": c.get("notified", 0),
        "pool_id": imp.pool_id,
        "mapping": {h: t for h, t in (imp.mapping or {}).items() if t},
        "header": read_options(imp)["header"],
        "warnings": list((imp.settings or {}).get("file_warnings", [])),
    }


def phone_reason_text() -> dict[str, str]:
    return {f"phone_{k}": v for k, v in phones.REASON_TEXT.items()}


def describe(imp: Import) -> list[str]:
    """The chosen options in words, for the review step and the summary."""
    d = imp.duplicate_settings or {}
    campaign = db.session.get(Campaign, imp.campaign_id) if imp.campaign_id else None
    pool_name = (imp.settings or {}).get("pool_name")
    lines = [
        f"Pool: {pool_name}"
        + (" (existing)" if (imp.settings or {}).get("existing_pool") else " (new)"),
        f"Campaign: {campaign.name if campaign else '—'}; default time zone "
        f"{campaign.timezone if campaign else '—'}",
        f"File: {imp.file_name} ({imp.encoding}, delimiter {imp.delimiter!r})",
    ]
    if d:
        if d.get("scope") == "none":
            lines.append("Duplicates: " + SCOPE_WORDS["none"] + ".")
        else:
            extra = []
            if d.get("open_only"):
                extra.append("open leads only")
            if d.get("include_inactive"):
                extra.append("inactive leads and pools included")
            else:
                extra.append("inactive leads disregarded")
            lines.append(
                f"Duplicates {SCOPE_WORDS[d.get('scope', 'campaign')]}: "
                + match_words(d.get("match", ["phone1"]), d.get("match_mode", "any"))
                + (f" ({', '.join(extra)})" if extra else "")
                + f"; when a row matches, {ACTION_WORDS[d.get('action', 'discard-new')]}."
            )
            lines.append("Rows repeating an earlier row of the file are not imported.")
    return lines


def _fields_with_raw(imp: Import, frame: pd.DataFrame) -> pd.DataFrame:
    """Mapped fields as the file had them (phones as received) plus the line number."""
    out = pd.DataFrame({"line": frame["_line"]})
    for name in mapped_fields(imp):
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
    frame = staged(imp)
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
    settings = DuplicateSettings(**d)
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
        pool = db.session.get(LeadPool, imp.pool_id) if imp.pool_id else None
        firsts = valid.loc[~in_file, "_key"]
        matches = settings.existing_matches(firsts, scope_pool_ids(imp, pool, settings), imp.id)
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
    counts = public_counts(imp)
    lines = [("summary", line) for line in describe(imp)]
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
