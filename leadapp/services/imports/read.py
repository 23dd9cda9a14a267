"""Stage 1, read: an import is created, its file saved in the import's staging folder and
its format detected (encoding, delimiter, header row, stray quotes); ``forget_file``
starts again with another file."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from leadapp.domain import csv_io
from leadapp.domain.names import clean_name
from leadapp.extensions import db
from leadapp.models import Campaign, Import, LeadPool, PoolAssignment
from leadapp.services.imports.errors import DISK_FULL_UPLOAD, DiskFull, ImportError_
from leadapp.services.uploads import refusing_a_full_disk, save_stream


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
