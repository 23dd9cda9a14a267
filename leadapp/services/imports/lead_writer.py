"""Writing leads in bulk: PostgreSQL ``COPY``, batched ``executemany`` elsewhere.

Everything here runs inside the caller's transaction; nothing commits."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from leadapp import write_lock
from leadapp.domain import local_times
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.models.lead import LEAD_SOURCES, LEAD_STATUSES
from leadapp.services.imports.serialise import serialise
from leadapp.services.pools import reserve_dial_orders

# Lead columns filled straight from a staged field of the same name.
DIRECT = (
    "customer_key",
    "first_name",
    "last_name",
    "email",
    "state",
    "postal_code",
    "country",
    *PHONE_FIELDS,
    *(f"{p}_raw" for p in PHONE_FIELDS),
    "timezone",
    "timezone_source",
    "timezone_note",
    "zone_key",
)
COLUMNS = (
    "account_id",
    "pool_id",
    "import_id",
    *DIRECT,
    "email_key",
    "source",
    "status",
    "completed",
    "do_not_call",
    "dial_order",
    "call_count",
    "created_at",
    "updated_at",
    "last_called_at",
    "custom",
)
NOT_CUSTOM = set(DIRECT) | {"source", "status", "created_at", "last_called_at", "timezone"}


@dataclass(frozen=True)
class Target:
    """Where a batch's leads go, as plain values: a thread that builds the rows ahead of the
    writer must not touch the session. ``zone``: the account's, for times in the file
    written without one."""

    account_id: int
    pool_id: int
    import_id: int | None
    zone: str | None = None


@dataclass
class Prepared:
    """A batch's leads ready to write: the rows (``COLUMNS``) and, where the fast path can
    take them, the bytes for ``COPY`` (PostgreSQL) or the tuples for ``executemany``
    (SQLite); ``data`` is None when the SQLAlchemy path must write them."""

    frame: pd.DataFrame
    data: bytes | list[tuple] | None


def lead_frame(imp, pool, rows: pd.DataFrame) -> pd.DataFrame:
    """Staged rows as ``leads`` table rows (column order ``COLUMNS``)."""
    # File order (seed 004): the rows' own positions when the import reserved them (a
    # batch's rows in file order), else the next free positions of the pool.
    if "_dial" not in rows:
        first = reserve_dial_orders(pool, len(rows))
        rows = rows.assign(_dial=np.arange(first, first + len(rows), dtype="int64"))
    zone = None
    if "created_at" in rows or "last_called_at" in rows:
        zone = db.session.get(Account, pool.account_id).timezone
    return build_frame(Target(imp.account_id, pool.id, imp.id, zone), rows)


def build_frame(target: Target, rows: pd.DataFrame, now=None) -> pd.DataFrame:
    """Staged rows with their dial positions (``_dial``) as ``leads`` table rows (column
    order ``COLUMNS``). Pure: no session, so it may run in the import's builder thread."""
    now = now or utcnow()
    out = pd.DataFrame(index=rows.index)
    out["account_id"] = target.account_id
    out["pool_id"] = target.pool_id
    out["import_id"] = target.import_id
    for col in DIRECT:
        out[col] = rows.get(col)
    email = rows["email"] if "email" in rows else pd.Series(np.nan, index=rows.index, dtype="str")
    out["email_key"] = email.str.strip().str.lower()
    source = rows["source"].str.strip().str.lower() if "source" in rows else None
    out["source"] = (
        source.where(source.isin(LEAD_SOURCES), "outbound") if source is not None else "outbound"
    )
    status = rows["status"].str.strip().str.lower() if "status" in rows else None
    out["status"] = (
        status.where(status.isin(LEAD_STATUSES), "open") if status is not None else "open"
    )
    out["completed"] = False
    out["do_not_call"] = False
    out["dial_order"] = rows["_dial"].astype("int64")
    out["call_count"] = 0
    # A time in the file without a zone is the account's wall-clock time (stored in UTC).
    zone = target.zone
    created = _file_time(rows, "created_at", zone)
    out["created_at"] = created.fillna(now) if created is not None else now
    out["updated_at"] = now
    out["last_called_at"] = _file_time(rows, "last_called_at", zone)
    custom_cols = [
        c
        for c in rows.columns
        if not c.startswith("_") and c not in NOT_CUSTOM and not c.endswith("_raw")
    ]
    if "source" in rows:
        custom_cols.append("source")  # the file's own word, e.g. "referral"
    out["custom"] = _custom_json(rows, custom_cols)
    return out[list(COLUMNS)]


def _file_time(rows: pd.DataFrame, column: str, zone: str | None) -> pd.Series | None:
    """A time column of the file in UTC: from the text as written (``<column>_raw``, kept by
    validation), else from the staged value (a staging older than that: read as UTC)."""
    if column not in rows:
        return None
    raw = f"{column}_raw"
    if raw in rows:
        return local_times.to_utc(rows[raw], zone).reindex(rows.index)
    return pd.to_datetime(rows[column], errors="coerce", utc=True).dt.tz_localize(None)


def _custom_json(rows: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Per row ``json.dumps({col: value})`` of the non-empty cells, in ``cols`` order;
    each distinct value is dumped once (most custom columns repeat a few values)."""
    if not cols:
        return pd.Series("{}", index=rows.index)
    n = len(rows)
    parts = []
    for col in cols:
        values = rows[col]
        # As ``where(notna, None)`` did: "" and, in object columns, missing cells are left
        # out; a text column's NaN is written (as NaN).
        keep = values.astype(object).ne("")
        if values.dtype == object:
            keep &= values.notna()
        frag = np.full(n, None, dtype=object)
        if keep.any():
            codes, uniques = pd.factorize(values[keep], use_na_sentinel=False)
            key = json.dumps(col)
            texts = np.array([f"{key}: {json.dumps(u)}" for u in uniques], dtype=object)
            frag[keep.to_numpy()] = texts[codes]
        parts.append(pa.array(frag, type=pa.string()))
    # (Arrow's null_handling="skip" drops all-null rows here, so join pairwise.)
    joined = parts[0]
    for part in parts[1:]:
        joined = pc.coalesce(pc.binary_join_element_wise(joined, part, ", "), joined, part)
    joined = pc.binary_join_element_wise("{", pc.fill_null(joined, ""), "}", "")
    if len(joined) != n:
        raise AssertionError("custom JSON lost rows")
    return pd.Series(
        joined.to_numpy(zero_copy_only=False),
        index=rows.index,
        dtype="str",
    )


def insert_leads(imp, pool, rows: pd.DataFrame) -> int:
    """Insert ``rows`` as new leads of ``pool``; return how many."""
    if rows.empty:
        return 0
    frame = lead_frame(imp, pool, rows)
    return write_prepared(Prepared(frame, serialise(frame, db.session.connection().dialect.name)))


def prepare(target: Target, rows: pd.DataFrame, dialect: str) -> Prepared:
    """Build and serialise a batch's leads without the session (see ``build_frame``)."""
    frame = build_frame(target, rows)
    return Prepared(frame, serialise(frame, dialect) if len(frame) else None)


def write_prepared(prepared: Prepared) -> int:
    """Write a prepared batch in the caller's transaction; return how many leads."""
    frame = prepared.frame
    if frame.empty:
        return 0
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        if prepared.data is not None:
            _copy_csv(connection, prepared.data)
        else:
            _copy_text(connection, frame)
    elif connection.dialect.name == "sqlite" and prepared.data is not None:
        write_lock.take(connection)  # the DB-API cursor bypasses the statement hook
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO leads ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})",
                prepared.data,
            )
        finally:
            cursor.close()
    else:
        params = frame.astype(object).where(frame.notna(), None).to_dict("records")
        for p in params:
            p["custom"] = json.loads(p["custom"])
            for col in ("created_at", "updated_at", "last_called_at"):
                p[col] = _py_dt(p[col])
        connection.execute(sa.insert(Lead.__table__), params)
    return len(frame)


def _py_dt(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _copy_csv(connection, data: bytes) -> None:
    """PostgreSQL COPY from an in-memory CSV: the fastest way in, still in our transaction."""
    raw = connection.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(f"COPY leads ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        view = memoryview(data)
        for start in range(0, len(data), 1 << 20):  # Postgres works while we send
            copy.write(view[start : start + (1 << 20)])


def _copy_text(connection, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d %H:%M:%S")
    raw = connection.connection.driver_connection
    with (
        raw.cursor() as cur,
        cur.copy(
            f"COPY leads ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy,
    ):
        copy.write(buffer.getvalue())


def set_status(lead_ids: list[int], status: str) -> int:
    if not lead_ids:
        return 0
    result = db.session.execute(
        sa.update(Lead).where(Lead.id.in_(lead_ids)).values(status=status, updated_at=utcnow())
    )
    return result.rowcount


def move_leads(lead_ids: list[int], pool_id: int, dial_orders: dict[int, int] | None = None) -> int:
    """Move leads into pool ``pool_id``; with ``dial_orders`` (lead id -> position) each
    takes the place in the dial order of the file row that matched it, the others take the
    pool's next positions (in lead id order). One ``executemany``."""
    ids = sorted({int(i) for i in lead_ids or ()})
    if not ids:
        return 0
    orders = dict(dial_orders or {})
    rest = [i for i in ids if i not in orders]
    if rest:
        first = reserve_dial_orders(db.session.get(LeadPool, pool_id), len(rest))
        orders.update({lead_id: first + n for n, lead_id in enumerate(rest)})
    table = Lead.__table__
    stmt = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("lead_pk"))
        .values(pool_id=pool_id, updated_at=utcnow(), dial_order=sa.bindparam("position"))
    )
    db.session.connection().execute(stmt, [{"lead_pk": i, "position": int(orders[i])} for i in ids])
    return len(ids)


UPDATABLE = (
    "first_name",
    "last_name",
    "email",
    "state",
    "postal_code",
    "country",
    *PHONE_FIELDS[1:],
    "timezone",
    "timezone_source",
    "customer_key",
)


def update_leads(rows: pd.DataFrame, matches: pd.DataFrame, fill_blanks: bool) -> int:
    """Copy the new values onto the matched existing leads, one ``executemany`` per batch.

    Overwrite: a non-empty new value replaces the old one. Fill blanks: only empty fields
    of the existing lead are filled. Empty new values never erase anything."""
    if rows.empty or matches.empty:
        return 0
    joined = matches.merge(rows, on="_key", how="inner")
    cols = [c for c in UPDATABLE if c in joined]
    if "email" in joined:
        joined["email_key"] = joined["email"].str.strip().str.lower()
        cols.append("email_key")
    table = Lead.__table__
    values = {}
    for col in cols:
        new = sa.func.nullif(sa.bindparam(f"new_{col}", type_=sa.String), "")
        if fill_blanks:
            values[col] = sa.func.coalesce(sa.func.nullif(table.c[col], ""), new)
        else:
            values[col] = sa.func.coalesce(new, table.c[col])
    # The zone's note and key go with the zone, as one: set where the zone is (the old
    # row's values are what a SET reads), so a note never outlives its zone.
    zone_cols = [c for c in ("timezone_note", "zone_key") if "timezone" in cols and c in joined]
    if zone_cols:
        new_zone = sa.func.nullif(sa.bindparam("new_timezone", type_=sa.String), "")
        takes = (
            sa.func.nullif(table.c.timezone, "").is_(None) if fill_blanks else new_zone.is_not(None)
        )
        for col in zone_cols:
            new = sa.func.nullif(sa.bindparam(f"new_{col}", type_=sa.String), "")
            values[col] = sa.case((takes, new), else_=table.c[col])
        cols += zone_cols
    values["updated_at"] = sa.bindparam("now", type_=sa.DateTime)
    stmt = sa.update(table).where(table.c.id == sa.bindparam("lead_pk")).values(values)
    now = utcnow()
    params = [
        {
            "lead_pk": int(rec["lead_id"]),
            "now": now,
            **{f"new_{c}": (rec[c] if isinstance(rec[c], str) else None) for c in cols},
        }
        for rec in joined[["lead_id", *cols]].to_dict("records")
    ]
    db.session.connection().execute(stmt, params)
    return len(params)
