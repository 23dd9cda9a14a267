"""The account's do-not-call list and the leads it marks.

A listed number (E.164, normalised with the account's default region) marks every lead of
the account having it in phone1..phone5 ``do_not_call`` — one set-based UPDATE; removing a
number unmarks the leads that had it and have no other listed number. Leads created by
hand, by the API or by an import are checked against the list when they are written.
Every change is audited and refreshes the counters of the pools it touched."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from leadapp.domain import csv_io, phones
from leadapp.domain.columns import normalise_header
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import Account, BackgroundJob, DoNotCallNumber, Lead, LeadPool
from leadapp.services import audit
from leadapp.services import jobs as job_rows
from leadapp.services import pools as pool_service
from leadapp.services.dedup_golden import clear_inherited_dnc
from leadapp.services.uploads import refusing_a_full_disk, save_stream

NOTE_MAX = 255
PHONE_HEADERS = {"phone", "phonenumber", "number", "telephone", "tel", "mobile", "dnc", "msisdn"}
INSERT_CHUNK = 5_000


class DncError(ValueError):
    """A number or file the list refuses; the message is one sentence for people."""


@dataclass
class UploadResult:
    rows: int = 0
    added: int = 0
    already_listed: int = 0
    invalid: int = 0
    invalid_examples: list[tuple[int, str, str]] = field(default_factory=list)
    leads_marked: int = 0
    # What was read other than the file seems to say: {"line": N, "message": "..."}.
    warnings: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.added:,} number(s) added, {self.already_listed:,} already listed, "
            f"{self.invalid:,} invalid; {self.leads_marked:,} lead(s) marked do-not-call."
        )
        return " ".join([text, *(w["message"] for w in self.warnings)])

    @classmethod
    def of(cls, job: BackgroundJob) -> UploadResult | None:
        """The result an upload job stored (None while it runs or when it failed)."""
        stored = job.result or {}
        if job.status != "completed" or "rows" not in stored:
            return None
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in stored.items() if k in names}
        values["invalid_examples"] = [tuple(e) for e in values.get("invalid_examples", [])]
        return cls(**values)


def _phone_columns():
    return [getattr(Lead, p) for p in PHONE_FIELDS]


def normalise(text: str, region: str) -> str:
    """``text`` in E.164, or DncError with the reason."""
    value = (text or "").strip()
    if not value:
        raise DncError("Type the phone number to add.")
    e164, _ext, reason = phones.normalise_phone(value, region)
    if e164 is None:
        why = phones.REASON_TEXT.get(reason or "", "It is not a phone number.")
        raise DncError(f"“{value[:40]}” is not a valid phone number for {region}: {why}")
    return e164


def is_listed(account_id: int, numbers: Iterable[str | None]) -> bool:
    """Whether any of ``numbers`` (E.164) is on the account's list."""
    wanted = sorted({n for n in numbers if n})
    if not wanted:
        return False
    return (
        db.session.scalar(
            sa.select(DoNotCallNumber.id)
            .where(DoNotCallNumber.account_id == account_id, DoNotCallNumber.phone.in_(wanted))
            .limit(1)
        )
        is not None
    )


def _mark(account_id: int, numbers: list[str] | None, pool_ids: list[int] | None) -> int:
    """Set ``do_not_call`` on the account's leads having a listed number (only ``numbers``
    when given, only in ``pool_ids`` when given); refresh their pools. Returns the count."""
    listed = sa.select(DoNotCallNumber.phone).where(DoNotCallNumber.account_id == account_id)
    if numbers is not None:
        if not numbers:
            return 0
        hit = sa.or_(*[col.in_(numbers) for col in _phone_columns()])
    else:
        hit = sa.or_(*[col.in_(listed) for col in _phone_columns()])
    where = [Lead.account_id == account_id, Lead.do_not_call.is_(False), hit]
    if pool_ids is not None:
        if not pool_ids:
            return 0
        where.append(Lead.pool_id.in_(pool_ids))
    return _set_do_not_call(where, True)


def _set_do_not_call(where: list, flag: bool) -> int:
    """Set the flag on the leads matching ``where``; their pools' counters follow. Marked
    leads are do-not-call because of their own number ("number")."""
    return _set_flag(_leads_where(where), flag, where)


def _leads_where(where: list) -> set[tuple[int, int]]:
    """(id, pool id) of the leads matching ``where``: found by reading first, so that on
    SQLite the write lock is taken only for the UPDATE by id (the search scans the leads
    of the account or of a pool, seconds for a big one)."""
    return {(i, p) for i, p in db.session.execute(sa.select(Lead.id, Lead.pool_id).where(*where))}


def _set_flag(leads: set[tuple[int, int]], flag: bool, where: list) -> int:
    """Set ``do_not_call`` on ``leads`` (found by ``_leads_where``) that still match
    ``where`` (the UPDATE checks it again: what changed since the search is not
    overwritten); refresh their pools' counters. Returns how many were set."""
    if not leads:
        return 0
    ids = sorted(i for i, _ in leads)
    changed = 0
    for start in range(0, len(ids), INSERT_CHUNK):
        changed += (
            db.session.execute(
                sa.update(Lead)
                .where(Lead.id.in_(ids[start : start + INSERT_CHUNK]), *where)
                .values(do_not_call=flag, dnc_reason="number" if flag else None)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    _refresh({p for _, p in leads})
    return changed


def _pools_of(lead_ids: list[int]) -> list[int]:
    return list(db.session.scalars(sa.select(Lead.pool_id).where(Lead.id.in_(lead_ids)).distinct()))


def expire_leads() -> None:
    """Loaded leads re-read their columns after a set-based UPDATE (nothing else is
    expired: pending changes of other objects stay)."""
    db.session.flush()
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Lead):
            db.session.expire(obj)


def _refresh(pool_ids) -> None:
    expire_leads()
    pools = list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(list(pool_ids)))))
    pool_service.refresh_counts(pools)


def mark_do_not_call(pool_ids: list[int] | None) -> int:
    """After an import: mark the leads of ``pool_ids`` (None: every pool of the bound
    account) whose phone1..phone5 is listed; refresh the pools' counters. Costs one cheap
    query when the account's list is empty."""
    if pool_ids is not None and not pool_ids:
        return 0
    accounts = (
        list(
            db.session.scalars(
                sa.select(LeadPool.account_id).where(LeadPool.id.in_(pool_ids)).distinct()
            )
        )
        if pool_ids is not None
        else list(db.session.scalars(sa.select(DoNotCallNumber.account_id).distinct()))
    )
    marked = 0
    for account_id in accounts:
        has_list = db.session.scalar(
            sa.select(DoNotCallNumber.id).where(DoNotCallNumber.account_id == account_id).limit(1)
        )
        if has_list:
            marked += _mark(account_id, None, pool_ids)
    db.session.flush()
    return marked


def add_number(
    account: Account, text: str, *, user_id: int | None, note: str = ""
) -> tuple[DoNotCallNumber, bool, int]:
    """Put a number (any format) on the list: (entry, newly added, leads marked).
    A number already listed is left as it is."""
    e164 = normalise(text, account.default_region)
    entry = db.session.scalar(
        sa.select(DoNotCallNumber).where(
            DoNotCallNumber.account_id == account.id, DoNotCallNumber.phone == e164
        )
    )
    if entry is not None:
        return entry, False, 0
    entry = DoNotCallNumber(
        account_id=account.id, phone=e164, note=(note or "").strip()[:NOTE_MAX], added_by_id=user_id
    )
    db.session.add(entry)
    db.session.flush()
    marked = _mark(account.id, [e164], None)
    audit.record(
        account.id, user_id, "dnc.added", entry, phone=e164, typed=text.strip()[:64], marked=marked
    )
    db.session.flush()
    return entry, True, marked


def remove_number(entry: DoNotCallNumber, *, user_id: int | None) -> int:
    """Take a number off the list; leads that had it and no other listed number are
    unmarked (not those marked by hand), then golden records that inherited the flag from
    a copy that is now clear (``dedup_golden.clear_inherited_dnc``). Returns how many
    leads were unmarked."""
    account_id, phone = entry.account_id, entry.phone
    audit.record(account_id, user_id, "dnc.removed", entry, phone=phone, note=entry.note)
    db.session.delete(entry)
    db.session.flush()
    listed = sa.select(DoNotCallNumber.phone).where(DoNotCallNumber.account_id == account_id)
    where = [
        Lead.account_id == account_id,
        Lead.do_not_call.is_(True),
        # Marked by hand or inherited from a copy: not this number's doing.
        sa.or_(Lead.dnc_reason.is_(None), Lead.dnc_reason == "number"),
        sa.or_(*[col == phone for col in _phone_columns()]),
        *[sa.or_(col.is_(None), col.not_in(listed)) for col in _phone_columns()],
    ]
    unmarked = _set_do_not_call(where, False)
    inherited = clear_inherited_dnc(account_id)
    if inherited:
        _refresh(_pools_of(inherited))
    return unmarked + len(inherited)


def _phone_column(headers: list[str]) -> str:
    for header in headers:
        norm = normalise_header(header).replace(" ", "").replace("_", "")
        if norm in PHONE_HEADERS or "phone" in norm:
            return header
    return headers[0]


def upload(
    account: Account, source: str | Path | bytes, *, user_id: int | None, note: str = ""
) -> UploadResult:
    """Add the numbers of a CSV (a column named like "phone", else the first column; a
    file of bare numbers works too): counts of added, already listed and invalid rows.

    Numbers never hold quotes or line breaks, so a quote that would swallow the lines
    after it is read as plain text (every number is added), and the result's warnings
    name that line, as they name lines read as Windows-1252 in a UTF-8 file."""
    try:
        info = csv_io.sniff(source)
    except csv_io.CsvError as exc:
        if exc.code != "header_only":
            raise DncError(str(exc)) from exc
        info = None
    result = UploadResult()
    region = account.default_region
    values: list[pd.Series] = []
    if info is not None:
        if info.has_header:
            column = _phone_column(info.headers)
        else:  # no names: the first column whose first rows hold numbers
            column = next(
                (
                    h
                    for i, h in enumerate(info.headers)
                    if any(phones.normalise_phone(r[i], region)[0] for r in info.preview)
                ),
                info.headers[0],
            )
        try:
            check = csv_io.check_file(
                source, info.encoding, info.delimiter, info.has_header, repair=True
            )
            result.warnings = check.warnings
            for chunk in csv_io.read_chunks(
                source,
                encoding=info.encoding,
                delimiter=info.delimiter,
                header=info.has_header,
                literal_quote_lines=check.literal_quote_lines,
            ):
                values.append(chunk[column].astype("str"))
        except csv_io.CsvError as exc:
            raise DncError(str(exc)) from exc
    else:  # one line only: a single number without a header
        text = (
            source.decode("utf-8", "replace")
            if isinstance(source, bytes)
            else (Path(source).read_text("utf-8", "replace"))
        )
        values.append(pd.Series([text.strip().strip('"')], index=[1], dtype="str"))
    column_values = pd.concat(values) if values else pd.Series([], dtype="str")
    result.rows = len(column_values)
    norm = phones.normalise_phones(column_values, region)
    bad = norm["e164"].isna()
    result.invalid = int(bad.sum())
    for line, raw, reason in zip(
        column_values.index[bad][:20],
        column_values[bad][:20],
        norm["reason"][bad][:20],
        strict=True,
    ):
        result.invalid_examples.append(
            (int(line), str(raw), phones.REASON_TEXT.get(str(reason), str(reason)))
        )
    numbers = norm.loc[~bad, "e164"]
    distinct = list(dict.fromkeys(numbers.tolist()))
    existing: set[str] = set()
    for start in range(0, len(distinct), INSERT_CHUNK):
        part = distinct[start : start + INSERT_CHUNK]
        existing |= set(
            db.session.scalars(
                sa.select(DoNotCallNumber.phone).where(
                    DoNotCallNumber.account_id == account.id, DoNotCallNumber.phone.in_(part)
                )
            )
        )
    new = [n for n in distinct if n not in existing]
    # Read before writing (SQLite's write lock comes with the first write): the leads
    # having one of the new numbers, or one listed before and not yet marked.
    unmarked = [Lead.account_id == account.id, Lead.do_not_call.is_(False)]
    listed = sa.select(DoNotCallNumber.phone).where(DoNotCallNumber.account_id == account.id)
    hits = [sa.or_(*[col.in_(listed) for col in _phone_columns()])]
    for start in range(0, len(new), INSERT_CHUNK):
        part = new[start : start + INSERT_CHUNK]
        hits.append(sa.or_(*[col.in_(part) for col in _phone_columns()]))
    marking: set[tuple[int, int]] = set()
    if new:
        for hit in hits:
            marking |= _leads_where([*unmarked, hit])
    result.added = len(new)
    result.already_listed = len(numbers) - len(new)
    note = (note or "").strip()[:NOTE_MAX]
    for start in range(0, len(new), INSERT_CHUNK):
        db.session.execute(
            sa.insert(DoNotCallNumber),
            [
                {"account_id": account.id, "phone": n, "note": note, "added_by_id": user_id}
                for n in new[start : start + INSERT_CHUNK]
            ],
        )
    if new:  # the UPDATE checks again that each lead has a listed number
        in_list = sa.or_(*[col.in_(listed) for col in _phone_columns()])
        result.leads_marked = _set_flag(marking, True, [*unmarked, in_list])
    audit.record(
        account.id,
        user_id,
        "dnc.uploaded",
        account,
        rows=result.rows,
        added=result.added,
        already_listed=result.already_listed,
        invalid=result.invalid,
        marked=result.leads_marked,
    )
    db.session.flush()
    return result


UPLOAD_KIND = "dnc_upload"
DISK_FULL_UPLOAD = (
    "The server ran out of disk space while saving your file; nothing was added to the "
    "list — ask your administrator to free space, then upload it again."
)


def receive_upload(
    account: Account, stream: BinaryIO, *, user_id: int | None
) -> tuple[BackgroundJob, Path]:
    """Keep an uploaded list for the job that adds it (``upload`` in the background: a
    national list has millions of numbers). Refuses at once, keeping nothing, what is not
    a CSV or does not fit on the disk. Returns the queued job row and the saved file; the
    caller commits, then dispatches."""
    folder = Path(current_app.config["STAGING_DIR"]) / "dnc-uploads"
    path = folder / f"{account.id}-{uuid.uuid4().hex}.csv"
    try:
        with refusing_a_full_disk(DncError(DISK_FULL_UPLOAD)):
            save_stream(stream, path)
        try:
            csv_io.sniff(str(path))
        except csv_io.CsvError as exc:
            if exc.code != "header_only":  # one line: a single number, read by the job
                raise DncError(str(exc)) from exc
    except BaseException:
        path.unlink(missing_ok=True)  # nothing kept of a refused or broken upload
        raise
    job = job_rows.create_job(
        account.id, UPLOAD_KIND, "Upload to the do-not-call list", "default", user_id
    )
    return job, path
