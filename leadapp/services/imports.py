"""The import engine: one engine behind the wizard, ``flask leads import`` and the API.

An import goes through three steps, each resumable:

1. **stage** — the CSV is read in chunks, mapped to lead fields, validated and normalised
   (phones to E.164, time zones resolved), and written to ``staged.parquet`` in the import's
   staging folder, one row per data row of the file with its line number, validity,
   reasons and match key. Edits and deletions made in the wizard live beside it in small
   tables (see ``staging``), so the staged file is never rewritten.
2. **analyse** — duplicates in the file (pandas over the staged keys) and duplicates of
   existing leads in scope (set-based SQL against the indexed keys, a chunk of keys per
   query), giving the counts shown on the review step.
3. **execute** — leads are written in batches, each batch in one transaction together with
   its checkpoint (``Import.rows_done``); a run that is killed resumes after the last
   committed batch and never writes a row twice.

Counting rules (DESIGN.md §7): ``valid + invalid = rows``; a row is invalid when its
duplicate-key phone (the first phone field, the number that is dialled) holds no valid
number, or a field fails its definition — invalid extra phones are dropped from the lead
and reported as a warning; ``duplicates_in_file`` are valid rows repeating the key of an
earlier valid row; ``duplicates_existing`` are the remaining valid rows that match a lead
in scope. Scope ``none`` searches nothing and imports every valid row.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import shutil
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from leadapp.domain import csv_io, phones
from leadapp.domain.columns import FULL_NAME, apply_mapping, suggest_mapping
from leadapp.domain.duplicates import (
    KEY_SEPARATOR,
    MATCH_MODES,
    key_parts,
    match_key,
    normalise_key,
    repeats_earlier,
    row_key,
)
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.domain.first_phone import use_first_valid_phone
from leadapp.domain.names import clean_name
from leadapp.domain.timezones import check_rules, resolve_timezones
from leadapp.domain.validation import WARNINGS, validate
from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    FieldDefinition,
    Import,
    Lead,
    LeadPool,
    MappingTemplate,
    PoolAssignment,
)
from leadapp.models.base import utcnow
from leadapp.services import audit, dnc, import_outcomes, lead_writer
from leadapp.services import pools as pool_service
from leadapp.services.transactions import retrying
from leadapp.services.uploads import refusing_a_full_disk, save_stream

SCOPES = ("none", "pool", "campaign", "project", "account")
ACTIONS = (
    "notify",
    "discard-new",
    "deactivate-existing",
    "remove-existing",
    "update-existing",
    "move-existing",
)
MULTIPLE = ("update-all", "update-newest", "create-new")
MATCH_FIELDS = ("phone1", "email", "customer_key")  # and custom:<field key>
CUSTOM_PREFIX = "custom:"
SUGGEST_SAMPLE_ROWS = 1000  # rows read to rank the phone columns at the mapping step
MAX_MATCHES_TO_ACT = import_outcomes.MAX_MATCHES_TO_ACT  # more matches: notify only
STAGE_CHUNK = 50_000
STAGE_THREADS = 2
WRITE_BATCH = 20_000
KEY_CHUNK = 5_000


class ImportError_(ValueError):  # noqa: N801 (``ImportError`` is Python's)
    """An import the rules refuse; the message is one sentence for the supervisor."""


class ImportTakenOver(ImportError_):
    """Another process wrote the batch this one was writing (two resumes, a job delivered
    twice): this process's batch was rolled back and it stops; the import, which the other
    process is finishing, is left as it is."""


# A full disk (or a user's quota) while the file is saved or staged: the write is undone
# and the supervisor is told what to do; nothing else about the import changes.
DISK_FULL_UPLOAD = (
    "The server ran out of disk space while saving your file; nothing was imported — "
    "ask your administrator to free space, then upload it again."
)
DISK_FULL_STAGING = (
    "The server ran out of disk space while checking your file; nothing was imported — "
    "ask your administrator to free space, then try again."
)


class DiskFull(ImportError_):
    """The disk had no room for the file or its staged rows (the server's fault, not the
    file's: the wizard answers 507)."""


@dataclass
class DuplicateSettings:
    match: list[str] = field(default_factory=lambda: ["phone1"])
    # Several keys: "any" = a lead is a duplicate when any one of them is equal (email OR
    # phone), "all" = only when every one is.
    match_mode: str = "any"
    scope: str = "campaign"
    open_only: bool = False
    include_inactive: bool = False
    action: str = "discard-new"
    update_mode: str = "overwrite"  # or "fill-blanks"
    multiple: str = "update-all"

    def check(self) -> DuplicateSettings:
        if self.scope not in SCOPES:
            raise ImportError_(f"The duplicate scope must be one of: {', '.join(SCOPES)}.")
        if self.action not in ACTIONS:
            raise ImportError_(f"The duplicate action must be one of: {', '.join(ACTIONS)}.")
        if self.multiple not in MULTIPLE:
            raise ImportError_(f"When several leads match, choose one of: {', '.join(MULTIPLE)}.")
        if self.update_mode not in ("overwrite", "fill-blanks"):
            raise ImportError_("Updating existing leads is either overwrite or fill-blanks.")
        if self.match_mode not in MATCH_MODES:
            raise ImportError_("Several match keys match on any of them or on all of them.")
        unknown = [m for m in self.match if m not in MATCH_FIELDS and not is_custom_key(m)]
        if not self.match or unknown:
            raise ImportError_(
                f"Match duplicates on {', '.join(MATCH_FIELDS)} or custom:<field> (or "
                "several of them)" + (f", not {', '.join(unknown)}." if unknown else ".")
            )
        if len(set(self.match)) != len(self.match):
            raise ImportError_("Each match key can be chosen once.")
        return self

    def repeats_earlier(self, keys: pd.Series) -> pd.Series:
        """Rows (staged ``_key``) repeating an earlier row of the file under these keys."""
        return repeats_earlier(keys, len(self.match), self.match_mode)

    def existing_matches(
        self, keys: pd.Series, pool_ids: list[int], exclude_import: int
    ) -> pd.DataFrame:
        """``existing_matches`` for these settings."""
        return existing_matches(
            keys,
            self.match,
            pool_ids,
            self.open_only,
            exclude_import,
            self.match_mode,
            include_inactive=self.include_inactive,
        )


def is_custom_key(key: str) -> bool:
    """``custom:<field>``: a custom lead field used as a match key."""
    return isinstance(key, str) and key.startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX)


def match_keys_named(names) -> list[str]:
    """Match keys as people write them: a custom field's key alone (``policy``) means
    ``custom:policy``; blanks are dropped."""
    custom = {f.key for f in field_definitions() if not f.is_standard}
    out = []
    for name in names or []:
        name = str(name).strip()
        if name:
            out.append(CUSTOM_PREFIX + name if name in custom else name)
    return out


def key_field(key: str) -> str:
    """The lead field a match key reads: ``custom:policy`` -> ``policy``."""
    return key[len(CUSTOM_PREFIX) :] if is_custom_key(key) else key


# ---------------------------------------------------------------------------------------
# Creating an import and staging its file


def staging_dir(imp: Import) -> Path:
    """The import's own folder; a random part keeps a reused id from seeing old files."""
    if imp.staging_path:
        return Path(imp.staging_path)
    return Path(current_app.config["STAGING_DIR"]) / f"{imp.id}-{uuid.uuid4().hex[:12]}"


def create_import(
    account,
    user,
    campaign: Campaign,
    *,
    pool_name: str | None = None,
    pool: LeadPool | None = None,
    description: str = "",
    settings: dict | None = None,
) -> Import:
    """A draft import into a new pool named ``pool_name`` (or into ``pool``)."""
    if campaign.account_id != account.id:
        raise ImportError_("That campaign does not exist in your account.")
    if pool is None:
        _check_pool_name_free((pool_name or "").strip(), allow_empty=True)
    elif pool.is_system:
        raise ImportError_("Leads cannot be imported into the system Inactive pool.")
    else:
        check_pool_fits_campaign(pool, campaign)
    imp = Import(
        account_id=account.id,
        user_id=user.id if user else None,
        campaign_id=campaign.id,
        pool_id=pool.id if pool else None,
        step="file",
        status="draft",
        settings={
            "existing_pool": pool is not None,
            "pool_name": pool.name if pool else (pool_name or "").strip(),
            "description": description,
            **(settings or {}),
        },
    )
    db.session.add(imp)
    db.session.flush()
    return imp


def check_pool_fits_campaign(pool: LeadPool, campaign: Campaign) -> None:
    """An existing pool takes an import only for a campaign it feeds (or, feeding none yet,
    for any): the rows are checked against the campaign's phone region and duplicates are
    searched in its pools, so another campaign's pool would be checked wrongly."""
    fed = db.session.scalars(
        sa.select(Campaign)
        .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
        .where(PoolAssignment.pool_id == pool.id)
        .order_by(Campaign.name)
    ).all()
    if fed and campaign.id not in {c.id for c in fed}:
        names = [c.name for c in fed]
        which = "campaign" if len(names) == 1 else "campaigns"
        quoted = ", ".join(f"'{n}'" for n in names)
        raise ImportError_(
            f"The pool '{pool.name}' feeds the {which} {quoted}, not '{campaign.name}': "
            f"choose one of {campaign.name}'s pools, or the {which} {' or '.join(names)}."
        )


def _check_pool_name_free(name: str, allow_empty: bool = False) -> None:
    name = clean_name(name)  # as it will be stored
    if not name:
        if allow_empty:
            return  # the file name becomes the pool name
        raise ImportError_("Give the new lead pool a name.")
    taken = db.session.scalar(sa.select(LeadPool.id).where(LeadPool.name == name))
    if taken:
        raise ImportError_(
            f"A lead pool named '{name}' already exists; choose another name "
            "or import into the existing pool."
        )


def attach_upload(
    imp: Import,
    stream: BinaryIO,
    file_name: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> csv_io.Sniff:
    """Save an uploaded file (a binary stream) in the staging folder and attach it.

    The bytes are written once, to a temporary file beside the import folders, and moved
    into place only when the whole file is there and is a lead CSV; on a refusal or a full
    disk (``DiskFull``) the temporary file is removed."""
    root = Path(current_app.config["STAGING_DIR"])
    part = root / f".upload-{uuid.uuid4().hex}.part"
    try:
        with refusing_a_full_disk(DiskFull(DISK_FULL_UPLOAD)):
            save_stream(stream, part)
        return attach_file(imp, part, file_name, encoding, delimiter, header=header, move=True)
    finally:
        part.unlink(missing_ok=True)


def attach_file(
    imp: Import,
    source: str | Path,
    file_name: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    *,
    header: bool | None = None,
    literal_quotes: bool = False,
    move: bool = False,
) -> csv_io.Sniff:
    """Copy (or, with ``move``, rename) the file into the import's staging folder and
    detect its format: encoding, delimiter, whether the first row holds column names
    (``header``, None: detect) and what would be read other than the file seems to say
    (``file_warnings`` in the settings: stray quotes, lines in another encoding). With
    ``literal_quotes`` the quotes of the lines where a stray quote opens are read as plain
    text (``literal_quote_lines``), which gives the rows it swallowed back.

    Refuses (``CsvError``) what is not a lead CSV, and (``DiskFull``) a file the disk has
    no room for; nothing is kept then."""
    info = csv_io.sniff(str(source), encoding=encoding, delimiter=delimiter, header=header)
    if not imp.pool_id and not (imp.settings or {}).get("pool_name"):
        name = Path(file_name).stem.strip()[:160] or "Imported leads"
        _check_pool_name_free(name)
        imp.settings = {**(imp.settings or {}), "pool_name": name}
    folder = staging_dir(imp)
    target = folder / "source.csv"
    rereading = Path(source) == target  # "Read again" with another encoding or delimiter
    try:
        with refusing_a_full_disk(DiskFull(DISK_FULL_UPLOAD)):
            if folder.exists():  # a new file replaces everything staged from the old one
                if rereading:
                    for entry in folder.iterdir():
                        if entry != target:
                            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                else:
                    shutil.rmtree(folder)
            folder.mkdir(parents=True, exist_ok=True)
            if move:
                os.replace(source, target)
            elif not rereading:
                shutil.copyfile(source, target)
    except BaseException:
        if not rereading:  # no half-copied file stays behind
            shutil.rmtree(folder, ignore_errors=True)
        raise
    check = csv_io.check_file(
        target, info.encoding, info.delimiter, info.has_header, repair=literal_quotes
    )
    imp.settings = {
        **(imp.settings or {}),
        "header": info.has_header,
        "literal_quote_lines": check.literal_quote_lines,
        "stray_quotes": [list(s) for s in check.stray_quotes],
        "file_warnings": check.warnings[:MAX_FILE_WARNINGS],
    }
    imp.file_name = file_name
    imp.file_size = target.stat().st_size
    imp.file_sha256 = _sha256(target)
    imp.staging_path = str(folder)
    imp.encoding = info.encoding
    imp.delimiter = info.delimiter
    imp.step = "mapping"
    db.session.flush()
    return info


MAX_FILE_WARNINGS = 100  # kept on the import; a file with more needs a person, not a list


def read_options(imp: Import) -> dict:
    """How the import's file is read, as chosen at the file step (an import attached before
    the choice existed had a header row)."""
    settings = imp.settings or {}
    return {
        "header": settings.get("header", True),
        "literal_quote_lines": settings.get("literal_quote_lines", []),
    }


def sniff_staged(imp: Import, preview_rows: int = csv_io.PREVIEW_ROWS) -> csv_io.Sniff:
    """The staged file's format, headers and first rows, read as chosen at the file step."""
    return csv_io.sniff(
        str(Path(imp.staging_path) / "source.csv"),
        imp.encoding,
        imp.delimiter,
        preview_rows=preview_rows,
        header=read_options(imp)["header"],
    )


def same_file_imported_before(imp: Import) -> Import | None:
    """An earlier, finished or running import of the very same bytes into this account."""
    return db.session.scalar(
        sa.select(Import)
        .where(
            Import.file_sha256 == imp.file_sha256,
            Import.id != imp.id,
            Import.status.in_(("queued", "running", "completed")),
        )
        .order_by(Import.created_at.desc())
        .limit(1)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def field_definitions() -> list[FieldDefinition]:
    return list(db.session.scalars(sa.select(FieldDefinition).order_by(FieldDefinition.position)))


def suggest(imp: Import, info: csv_io.Sniff) -> dict[str, str | None]:
    """Mapping suggestions: the account's earlier mappings first, then names and values."""
    history: dict[str, str] = {}
    earlier = db.session.scalars(
        sa.select(Import.mapping)
        .where(Import.id != imp.id, Import.status == "completed")
        .order_by(Import.created_at.desc())
        .limit(20)
    )
    from leadapp.domain.columns import normalise_header

    # "Column 1" of one file without names says nothing about "Column 1" of another.
    for mapping in earlier if info.has_header else ():
        for header, target in (mapping or {}).items():
            if target and isinstance(target, str):
                history.setdefault(normalise_header(header), target)
    # Phone 1 goes to the column with the most valid numbers: count them on more rows
    # than the page previews.
    sample = sniff_staged(imp, preview_rows=SUGGEST_SAMPLE_ROWS) if imp.staging_path else info
    return dict(
        suggest_mapping(
            info.headers,
            sample.preview,
            field_definitions(),
            history=history,
            region=import_region(imp),
        )
    )


def import_region(imp: Import) -> str:
    """The phone region the import's numbers are read in: the CLI's --region, else the
    campaign's."""
    campaign = db.session.get(Campaign, imp.campaign_id)
    return (imp.settings or {}).get("region") or campaign.default_region


def check_mapping(
    imp: Import, mapping: dict, headers: list[str], timezone_rules: list | None = None
) -> None:
    """Refuse a mapping without a phone, naming a column the file lacks or an unknown field,
    or with a time-zone rule whose zone does not exist."""
    missing = [h for h, target in mapping.items() if target and h not in headers]
    if missing:
        raise ImportError_(
            f"The mapping names column(s) {', '.join(repr(m) for m in missing)} "
            "that this file does not have; pick the columns again."
        )
    targets = _targets(mapping)
    known = {f.key for f in field_definitions()}
    unknown = sorted(set(targets) - known)
    if unknown:
        raise ImportError_(f"There is no lead field {', '.join(unknown)}; add it under Admin.")
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        labels = {f.key: f.label for f in field_definitions()}
        names = " and ".join(labels.get(t, t) for t in doubled)
        full = (
            " (a full name fills the first and last name)" if FULL_NAME in mapping.values() else ""
        )
        raise ImportError_(f"Two columns are mapped to {names}{full}; keep one of them.")
    if "phone1" not in targets:
        raise ImportError_(
            "Map a column to the phone field Phone 1: it is the number that is "
            "dialled and checked for duplicates."
        )
    try:
        check_rules(timezone_rules or [])
    except ValueError as exc:
        raise ImportError_(str(exc)) from exc


def set_mapping(
    imp: Import,
    mapping: dict[str, str | list[str] | None],
    headers: list[str],
    timezone_rules: list | None = None,
    duplicates: DuplicateSettings | None = None,
) -> None:
    """Keep a checked mapping and duplicate settings; the match keys must be mapped."""
    check_mapping(imp, mapping, headers, timezone_rules)
    targets = _targets(mapping)
    duplicates = (duplicates or DuplicateSettings()).check()
    labels = {f.key: f.label for f in field_definitions()}
    for key in duplicates.match:
        name = key_field(key)
        if name not in labels and key != "phone1":
            raise ImportError_(f"There is no lead field {name} to match duplicates on.")
        if duplicates.scope != "none" and name not in targets and key != "phone1":
            raise ImportError_(
                f"Duplicates are matched on {labels[name]}, so map a column to {labels[name]}."
            )
    imp.mapping = mapping
    imp.timezone_rules = [list(r) for r in (timezone_rules or [])]
    imp.duplicate_settings = asdict(duplicates)
    imp.step = "check"
    db.session.flush()


def _targets(mapping) -> list[str]:
    """The lead fields a mapping fills (a full name fills the first and last name)."""
    out: list[str] = []
    for target in mapping.values():
        if not target:
            continue
        out.extend([target] if isinstance(target, str) else list(target))
    return [f for t in out for f in (("first_name", "last_name") if t == FULL_NAME else (t,))]


def _key_phone(mapping) -> str:
    """The phone that is dialled and matched: phone1 or the first mapped phone field."""
    phones_mapped = [t for t in _targets(mapping) if t in PHONE_FIELDS]
    return "phone1" if "phone1" in phones_mapped else sorted(phones_mapped)[0]


# ---------------------------------------------------------------------------------------
# Stage


def fail(imp: Import, message: str) -> None:
    """Mark the import failed with a sentence for the supervisor (caller commits)."""
    imp.status = "failed"
    imp.error = message
    db.session.flush()


def run(
    imp: Import,
    progress: Callable[[float, str], None] | None = None,
    with_the_results: Callable[[dict], None] | None = None,
) -> dict:
    """Stage (unless already staged), analyse and execute: what the job and the CLI run.

    Progress: staging is the first 30 %, writing the rest. ``with_the_results``: see
    ``execute``."""

    def part(lo: float, hi: float):
        if progress is None:
            return None
        return lambda pct, msg: progress(lo + (hi - lo) * pct / 100.0, msg)

    if not (Path(imp.staging_path) / "staged.parquet").exists():
        stage(imp, part(0, 30))
        db.session.commit()  # the staged counts: analyse reads without SQLite's write lock
        analyse(imp)
    elif "duplicates_in_file" not in (imp.counts or {}):
        analyse(imp)
    return execute(imp, part(30, 100), with_the_results)


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
    from leadapp.services import staging

    frame = pq.read_table(Path(imp.staging_path) / "staged.parquet", columns=columns).to_pandas()
    return staging.apply_changes(imp, frame)


# ---------------------------------------------------------------------------------------
# Analyse


def scope_pool_ids(imp: Import, pool: LeadPool | None, settings: DuplicateSettings) -> list[int]:
    """The pools whose leads count as "existing" for duplicate search."""
    query = sa.select(LeadPool.id)
    if settings.scope == "pool":
        if pool is None:
            return []
        query = query.where(LeadPool.id == pool.id)
    elif settings.scope in ("campaign", "project"):
        campaign_ids = [imp.campaign_id]
        if settings.scope == "project":
            campaign = db.session.get(Campaign, imp.campaign_id)
            campaign_ids = list(
                db.session.scalars(
                    sa.select(Campaign.id).where(Campaign.project_id == campaign.project_id)
                )
            )
        assigned = sa.select(PoolAssignment.pool_id).where(
            PoolAssignment.campaign_id.in_(campaign_ids)
        )
        query = query.where(LeadPool.id.in_(assigned))
    if not settings.include_inactive:
        query = query.where(LeadPool.status == "active", LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def _no_matches() -> pd.DataFrame:
    return pd.DataFrame({"_key": [], "lead_id": [], "created_at": []})


def _key_column(key: str):
    """The lead column (or custom value, as text) a match key compares."""
    standard = {"phone1": Lead.phone1, "email": Lead.email_key, "customer_key": Lead.customer_key}
    if key in standard:
        return standard[key]
    return sa.func.nullif(sa.func.trim(Lead.custom[key_field(key)].as_string()), "")


def existing_matches(
    keys: pd.Series,
    match: list[str],
    pool_ids: list[int],
    open_only: bool,
    exclude_import: int,
    mode: str = "all",
    include_inactive: bool = True,
) -> pd.DataFrame:
    """Existing leads whose match key is one of ``keys``: columns ``_key``, ``lead_id``,
    ``created_at`` — one query per chunk of keys, on the indexed first key part.

    Inactive leads (deactivated, e.g. by an earlier import's "deactivate the existing
    lead") are disregarded unless ``include_inactive`` (seed 004); the duplicate settings
    leave them out by default.

    ``mode == "any"`` with several keys: each key is searched on its own and a lead matches
    a row when any one of them is equal (a lead matched twice by one row counts once)."""
    wanted = pd.Series(keys.dropna().unique(), dtype="str")
    if wanted.empty or not pool_ids:
        return _no_matches()
    if mode == "any" and len(match) > 1:
        found = []
        for key, part in zip(match, key_parts(wanted, len(match)), strict=True):
            has = part.notna()
            if not has.any():
                continue
            hits = existing_matches(
                part[has],
                [key],
                pool_ids,
                open_only,
                exclude_import,
                include_inactive=include_inactive,
            )
            if hits.empty:
                continue
            rows = pd.DataFrame({"_part": part[has].to_numpy(), "_key": wanted[has].to_numpy()})
            hits = hits.rename(columns={"_key": "_part"}).merge(rows, on="_part")
            found.append(hits[["_key", "lead_id", "created_at"]])
        if not found:
            return _no_matches()
        both = pd.concat(found, ignore_index=True).drop_duplicates(["_key", "lead_id"])
        return both.reset_index(drop=True)
    # The first key with an index narrows the search; custom fields have none (a key of
    # custom fields only reads every lead in scope that has a value).
    position = next((i for i, m in enumerate(match) if not is_custom_key(m)), None)
    searched = [None] if position is None else _first_parts(wanted, match, position)
    found = []
    for part in searched:
        conditions = [
            Lead.pool_id.in_(pool_ids),
            sa.or_(Lead.import_id.is_(None), Lead.import_id != exclude_import),
        ]
        if part is None:
            conditions += [_key_column(m).is_not(None) for m in match]
        else:
            first = _key_column(match[position])
            # Implied by the match, spelled out so both databases see that the partial
            # index (leads that have the key) answers it.
            conditions += [part, first.is_not(None)]
        if open_only:
            conditions.append(Lead.status == "open")
        elif not include_inactive:
            conditions.append(Lead.status != "inactive")
        query = sa.select(
            Lead.id.label("lead_id"),
            Lead.created_at,
            *[_key_column(m).label(f"k{i}") for i, m in enumerate(match)],
        ).where(*conditions)
        found.append(pd.DataFrame(db.session.execute(query).mappings().all()))
    rows = pd.concat(found, ignore_index=True) if found else pd.DataFrame()
    if rows.empty:
        return _no_matches()
    parts = pd.DataFrame({m: rows[f"k{i}"].astype("str") for i, m in enumerate(match)})
    rows["_key"] = match_key(parts, match)
    return rows[rows["_key"].isin(set(wanted))][["_key", "lead_id", "created_at"]]


def _first_parts(wanted: pd.Series, match: list[str], position: int) -> list:
    """Conditions on the key part at ``position`` (a standard, indexed column), one per
    chunk of its values."""
    values = key_parts(wanted, len(match))[position].dropna().drop_duplicates()
    column = _key_column(match[position])
    # PostgreSQL takes the keys as one parameter: thousands of separate bind parameters
    # cost more to render and parse than the index lookups themselves. One text split on
    # the server (by the key separator, which no key part holds) is five times cheaper for
    # the driver to send than an array parameter.
    as_array = db.session.get_bind().dialect.name == "postgresql"
    chunk = KEY_CHUNK * 20 if as_array else KEY_CHUNK
    out = []
    for start in range(0, len(values), max(chunk, 1)):
        part = values.iloc[start : start + chunk].tolist()
        if not as_array:
            out.append(column.in_(part))
        elif any(KEY_SEPARATOR in value for value in part):
            out.append(column == sa.any_(sa.bindparam("keys", part, type_=ARRAY(sa.String))))
        else:
            joined = sa.bindparam("keys", KEY_SEPARATOR.join(part), type_=sa.Text)
            out.append(
                column
                == sa.any_(sa.func.string_to_array(joined, sa.literal(KEY_SEPARATOR, sa.Text)))
            )
    return out


def analyse(imp: Import) -> dict:
    """Count duplicates in the file and of existing leads; store the counts."""
    settings = DuplicateSettings(**imp.duplicate_settings).check()
    frame = staged(imp, ["_row", "_valid", "_key"])
    counts = dict(imp.counts or {})
    from leadapp.services import staging

    counts["deleted"] = len(staging.deleted_rows(imp))
    counts["valid"] = int(frame["_valid"].sum())
    counts["invalid"] = len(frame) - counts["valid"]
    counts["rows"] = len(frame)
    counts["zone_unsure"] = staging.zone_unsure_count(imp)
    if settings.scope == "none":
        counts.update(duplicates_in_file=0, duplicates_existing=0, existing_leads_matched=0)
        counts["predicted"] = import_outcomes.forecast(
            frame.loc[frame["_valid"], "_key"], _NO_MATCHES, settings, 0
        )
    else:
        valid = frame[frame["_valid"]]
        in_file = settings.repeats_earlier(valid["_key"])
        firsts = valid.loc[~in_file, "_key"]
        pool = db.session.get(LeadPool, imp.pool_id) if imp.pool_id else None
        matches = settings.existing_matches(firsts, scope_pool_ids(imp, pool, settings), imp.id)
        counts["duplicates_in_file"] = int(in_file.sum())
        counts["duplicates_existing"] = int(firsts.isin(set(matches["_key"])).sum())
        counts["existing_leads_matched"] = int(matches["lead_id"].nunique())
        counts["predicted"] = import_outcomes.forecast(
            firsts, matches, settings, counts["duplicates_in_file"]
        )
    imp.counts = counts
    imp.step = "review"
    db.session.flush()
    return counts


# ---------------------------------------------------------------------------------------
# Execute


def ensure_pool(imp: Import, user_id: int | None) -> LeadPool:
    """The import's pool: created (and assigned to the campaign) on first execution."""
    if imp.pool_id:
        pool = db.session.get(LeadPool, imp.pool_id)
        _assign(pool, imp.campaign_id)
        return pool
    settings = imp.settings or {}
    dup = imp.duplicate_settings or {}
    pool = LeadPool(
        account_id=imp.account_id,
        name=settings["pool_name"],
        description=settings.get("description", ""),
        owner_id=settings.get("owner_id") or user_id,
        priority=settings.get("priority", 5),
        # The wizard's advanced settings (seed 004): when the pool's leads may be used.
        active_from=_date(settings.get("active_from")),
        active_until=_date(settings.get("active_until")),
        day_offset=int(settings.get("day_offset") or 0),
        day_count=int(settings["day_count"]) if settings.get("day_count") else None,
        time_from=_time(settings.get("time_from")),
        time_until=_time(settings.get("time_until")),
        source_file_name=imp.file_name,
        duplicate_check_field=_check_field(dup)[:60],
        duplicate_processing=dup.get("action"),
        created_by_id=user_id,
        modified_by_id=user_id,
    )
    db.session.add(pool)
    db.session.flush()
    _assign(pool, imp.campaign_id)
    imp.pool_id = pool.id
    db.session.flush()
    return pool


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _time(text: str | None) -> dt.time | None:
    return dt.time.fromisoformat(text) if text else None


def _check_field(dup: dict) -> str:
    """The pool's duplicate-check field: ``phone1``, ``phone1|email`` (any of) or
    ``phone1+email`` (all of)."""
    match = dup.get("match", ["phone1"])
    return ("|" if dup.get("match_mode", "any") == "any" else "+").join(match)


def _assign(pool: LeadPool, campaign_id: int) -> None:
    """An imported pool feeds the import's campaign (and so counts in its duplicate scope)."""
    exists = db.session.scalar(
        sa.select(PoolAssignment.id).where(
            PoolAssignment.pool_id == pool.id, PoolAssignment.campaign_id == campaign_id
        )
    )
    if not exists:
        db.session.add(
            PoolAssignment(account_id=pool.account_id, pool_id=pool.id, campaign_id=campaign_id)
        )
        db.session.flush()


def execute(
    imp: Import,
    progress: Callable[[float, str], None] | None = None,
    with_the_results: Callable[[dict], None] | None = None,
) -> dict:
    """Write the staged valid rows as leads, in batches, each committed with its checkpoint.

    Commits: this is the one service that must (a batch is the unit of work). Re-running
    after a crash continues after ``rows_done`` and yields exactly the leads of an
    uninterrupted run. ``with_the_results`` is called with the final counts just before
    the final commit: what it adds (the summary email's delivery) is committed with them."""
    # Reading the import begins a transaction that waits for the write lock: tried again
    # like a batch when the wait runs out.
    settings = retrying(lambda: DuplicateSettings(**imp.duplicate_settings).check())
    state: dict = {}

    def prepare() -> None:
        # The new pool is committed with the first batch: a failed first batch leaves no
        # pool, and a first batch rolled back (database busy) creates it again.
        state["pool"] = ensure_pool(imp, imp.user_id)
        imp.status, imp.step = "running", "import"
        scoped = settings.scope != "none"
        state["scope_ids"] = scope_pool_ids(imp, state["pool"], settings) if scoped else []

    # Read before writing: SQLite's write lock comes with the first write and stays to the
    # first batch's commit, so the staged rows and the duplicate search (seconds for a big
    # file) are read first. What the caller staged and analysed is committed; prepare()
    # runs once for the pools in scope and is undone, then again for the first batch. The
    # pool it creates holds only this import's leads, which never match: not searched.
    db.session.commit()
    had_pool = imp.pool_id is not None
    retrying(prepare)
    scope_ids = [i for i in state["scope_ids"] if had_pool or i != state["pool"].id]
    db.session.rollback()
    frame = staged(imp)
    frame = frame[frame["_valid"]].copy()
    if settings.scope != "none":
        frame = frame[~settings.repeats_earlier(frame["_key"])]
    totals = dict(imp.counts or {})
    for name in ("imported", "updated", "discarded", "notified", "deactivated", "removed", "moved"):
        totals.setdefault(name, 0)
    checkpoint = imp.rows_done  # this run's own: each batch must continue from it
    pending = frame[frame["_row"] >= checkpoint]
    total_rows = max(len(frame), 1)
    done_before = len(frame) - len(pending)
    step = int(current_app.config.get("IMPORT_BATCH_ROWS", WRITE_BATCH))
    found = _matches_per_batch(imp, pending, settings, scope_ids, step)
    retrying(prepare)
    for start in range(0, len(pending), step):
        batch = pending.iloc[start : start + step]
        matches = found.get(start // step, _NO_MATCHES)
        write = functools.partial(
            _commit_batch, imp, state, batch, settings, matches, totals, checkpoint
        )
        totals = retrying(write, again=prepare)
        checkpoint = int(batch["_row"].max()) + 1
        if progress:
            progress(
                100.0 * (done_before + start + len(batch)) / total_rows,
                f"Imported {totals['imported']:,} leads.",
            )
    totals["discarded"] = totals.get("duplicates_in_file", 0) + totals.get("discarded_existing", 0)
    _finish(imp, state["pool"], totals)
    counts = public_counts(imp)
    if with_the_results is not None:
        with_the_results(counts)
    db.session.commit()
    return counts


_NO_MATCHES = _no_matches()


def _matches_per_batch(imp, pending, settings, scope_ids, step) -> dict[int, pd.DataFrame]:
    """The existing leads matched by the pending rows, searched once before anything is
    written and split by batch number. Equal to searching batch by batch: this import's
    own leads never match, and an existing lead has one key, so no batch's action changes
    what another batch matches. Searching the leads table while it grows cost more than
    the writes (the planner's statistics still describe the table before the import)."""
    if settings.scope == "none" or not scope_ids or pending.empty:
        return {}
    matches = settings.existing_matches(pending["_key"], scope_ids, imp.id)
    if matches.empty:
        return {}
    # Keys are unique among pending rows (in-file duplicates are dropped with a scope).
    batch_of = pd.Series(np.arange(len(pending)) // step, index=pending["_key"].to_numpy())
    number = matches["_key"].map(batch_of[~batch_of.index.duplicated()])
    return {int(b): part for b, part in matches.groupby(number.to_numpy(), sort=False)}


def _commit_batch(imp, state, batch, settings, matches, totals, checkpoint: int) -> dict:
    """Write one batch and its checkpoint in one transaction; the new running totals.

    The checkpoint moves by compare-and-set from ``checkpoint``, the one this run continued
    from: if another process wrote these rows first, this batch is rolled back whole and
    ``ImportTakenOver`` raised, so no row is ever written twice."""
    outcome = _write_batch(imp, state["pool"], batch, settings, state["scope_ids"], matches)
    after = dict(totals)
    for name, value in outcome.items():
        after[name] = after.get(name, 0) + value
    done = int(batch["_row"].max()) + 1
    moved = db.session.execute(
        sa.update(Import)
        .where(Import.id == imp.id, Import.rows_done == checkpoint)
        .values(rows_done=done)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise ImportTakenOver(
            "Another process is writing this import's leads; this one stopped without "
            "writing anything twice — follow the import on its page."
        )
    imp.rows_done = done
    imp.counts = dict(after)
    db.session.commit()  # the batch and its checkpoint, together
    return after


def _write_batch(
    imp, pool, batch: pd.DataFrame, settings, scope_ids, matches: pd.DataFrame | None = None
) -> dict:
    """Write one batch; ``matches``: its existing matches when already searched."""
    out = {"imported": 0, "updated": 0, "discarded_existing": 0}
    # Dial order is file order: the batch's rows take the pool's next positions in the
    # order of their lines (a moved lead takes the position of the row that matched it).
    first = pool_service.reserve_dial_orders(pool, len(batch))
    line_rank = batch["_row"].rank(method="first").astype("int64").to_numpy() - 1
    batch = batch.assign(_dial=first + line_rank)
    to_insert = batch
    if settings.scope != "none" and scope_ids:
        if matches is None:
            matches = settings.existing_matches(batch["_key"], scope_ids, imp.id)
        if not matches.empty:
            to_insert, acted = _apply_duplicate_action(imp, pool, batch, matches, settings)
            out["discarded_existing"] += acted.pop("discarded")
            for name, value in acted.items():
                out[name] = out.get(name, 0) + value
    out["imported"] = lead_writer.insert_leads(imp, pool, to_insert)
    return out


def _apply_duplicate_action(imp, pool, batch, matches, settings) -> tuple[pd.DataFrame, dict]:
    """Act on the existing leads matched by ``batch`` as ``import_outcomes.plan`` says;
    return the rows still to insert and what was done (``updated``, ``moved``,
    ``deactivated``, ``removed``, ``discarded``, ``notified``)."""
    dup_rows = batch["_key"].isin(set(matches["_key"]))
    planned = import_outcomes.plan(matches, settings)
    actionable = planned.acting
    acted = {
        "updated": 0,
        "discarded": 0,
        "moved": 0,
        "deactivated": 0,
        "removed": 0,
        "notified": int(batch["_key"].isin(planned.reported).sum()),
    }
    action = settings.action
    lead_ids = [int(i) for i in actionable["lead_id"]]
    if action == "notify":
        return batch, acted
    if action == "discard-new":
        keep = ~dup_rows
        acted["discarded"] = int(dup_rows.sum())
        return batch[keep], acted
    if action in ("deactivate-existing", "remove-existing"):
        status = "inactive" if action == "deactivate-existing" else "removed"
        done = lead_writer.set_status(sorted(set(lead_ids)), status)
        acted["deactivated" if status == "inactive" else "removed"] = done
        return batch, acted
    # update-existing and move-existing replace the new lead by the existing one
    handled = batch["_key"].isin(set(actionable["_key"]))
    if action == "update-existing":
        acted["updated"] = lead_writer.update_leads(
            batch[handled], actionable, fill_blanks=settings.update_mode == "fill-blanks"
        )
    else:
        position = {}
        if "_dial" in batch:  # the import's rows; a lead added by hand has none
            position = dict(zip(batch["_key"], batch["_dial"], strict=True))
        dial_orders = {
            int(lead): int(position[key])
            for lead, key in zip(actionable["lead_id"], actionable["_key"], strict=True)
            if key in position
        }
        acted["moved"] = lead_writer.move_leads(lead_ids, pool.id, dial_orders)
    return batch[~handled], acted


def _finish(imp: Import, pool: LeadPool, totals: dict) -> None:
    # Read before writing (SQLite's write lock comes with the first write): the listed
    # leads are searched and every pool recounted (seconds for a big pool) before the
    # import's own changes, so the lock is taken for the UPDATEs only.
    # Listed numbers: every lead written, or (updates reach other pools) the whole account.
    dnc.mark_do_not_call(
        None if (imp.duplicate_settings or {}).get("action") == "update-existing" else [pool.id]
    )
    pool_service.refresh_counts(list(db.session.scalars(sa.select(LeadPool))))
    totals.pop("discarded_existing", None)
    imp.counts = totals
    imp.status = "completed"
    imp.step = "done"
    imp.finished_at = utcnow()
    pool.valid_count = (pool.valid_count or 0) + totals.get("valid", 0)
    pool.invalid_count = (pool.invalid_count or 0) + totals.get("invalid", 0)
    pool.source_file_name = pool.source_file_name or imp.file_name
    pool.modified_by_id = imp.user_id
    pool.updated_at = utcnow()
    audit.record(
        imp.account_id,
        imp.user_id,
        "import.completed",
        pool,
        import_id=imp.id,
        file=imp.file_name,
        **public_counts(imp),
    )
    db.session.flush()


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


# ---------------------------------------------------------------------------------------
# Wizard helpers (check data, review)


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


def first_valid_phone(imp: Import) -> bool:
    """The import's "use the first valid phone as Phone 1" setting (chosen at the mapping
    step; imports begun before it existed keep it off)."""
    return bool((imp.settings or {}).get("first_valid_phone", False))


def mapped_fields(imp: Import) -> list[str]:
    """The lead fields this import fills, in the account's field order."""
    targets = set(_targets(imp.mapping or {}))
    return [f.key for f in field_definitions() if f.key in targets]


def forget_staged(imp: Import) -> None:
    """Drop the staged rows and their edits (the mapping or duplicate rules changed)."""
    if imp.staging_path:
        for name in ("staged.parquet", "edited.parquet", "deleted.json"):
            (Path(imp.staging_path) / name).unlink(missing_ok=True)
    imp.counts = {}
    imp.rows_done = 0
    db.session.flush()


def forget_file(imp: Import) -> None:
    """ "Start with a new file": keep the settings, drop the file and all that followed."""
    if imp.staging_path and Path(imp.staging_path).exists():
        shutil.rmtree(imp.staging_path)
    imp.staging_path = imp.file_name = imp.file_sha256 = imp.encoding = imp.delimiter = None
    imp.file_size = None
    imp.mapping, imp.counts, imp.rows_done, imp.step = {}, {}, 0, "file"
    file_keys = ("header", "literal_quote_lines", "stray_quotes", "file_warnings")
    imp.settings = {k: v for k, v in (imp.settings or {}).items() if k not in file_keys}
    if not imp.pool_id:
        imp.settings = {**imp.settings, "pool_name": ""}
    db.session.flush()


def save_template(name: str, mapping: dict, rules: list, user_id: int | None) -> MappingTemplate:
    """Save (or update) the named mapping template of the account."""
    name = name.strip()[:120]
    if not name:
        raise ImportError_("Give the template a name.")
    template = db.session.scalar(sa.select(MappingTemplate).where(MappingTemplate.name == name))
    if template is None:
        template = MappingTemplate(name=name, created_by_id=user_id)
        db.session.add(template)
    template.mapping = {h: t for h, t in mapping.items() if t}
    template.timezone_rules = rules
    db.session.flush()
    return template


ACTION_WORDS = {
    "notify": "import the new lead and report the match",
    "discard-new": "discard the new lead",
    "deactivate-existing": "deactivate the existing lead and import the new one",
    "remove-existing": "set the existing lead to removed and import the new one",
    "update-existing": "update the existing lead instead of importing the new one",
    "move-existing": "move the existing lead into this pool instead of importing the new one",
}
SCOPE_WORDS = {
    "none": "no duplicate search: every valid row is imported",
    "pool": "in this pool",
    "campaign": "in this campaign",
    "project": "in this project",
    "account": "in the whole account",
}


def key_labels() -> dict[str, str]:
    """Match key -> the words a supervisor reads (``custom:policy`` -> its label)."""
    labels = {"phone1": "Phone", "email": "Email", "customer_key": "Customer key"}
    for f in field_definitions():
        if not f.is_standard:
            labels[CUSTOM_PREFIX + f.key] = f.label
    return labels


def match_words(match: list[str], mode: str = "any") -> str:
    """``A lead is a duplicate when any of: Phone, Email`` (``all of``; one key: ``when its
    Phone is equal``)."""
    labels = key_labels()
    names = [labels.get(m, key_field(m)) for m in match]
    if len(names) == 1:
        return f"a lead is a duplicate when its {names[0]} is equal"
    return f"a lead is a duplicate when {'any' if mode == 'any' else 'all'} of: {', '.join(names)}"


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
