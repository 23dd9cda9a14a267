"""One pool's figures, charts and CSV downloads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa

from leadapp.domain.csv_export import rows_to_csv_bytes, to_csv_bytes
from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    Import,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    Project,
)
from leadapp.models.base import utcnow
from leadapp.services import pool_counters, pool_log, pool_ready
from leadapp.services.pool_grid import duplicates_found

# ---------------------------------------------------------------------------------------
# Details: figures, charts, downloads


def pool_campaigns(pool: LeadPool) -> list[tuple[PoolAssignment, Campaign, Project]]:
    return list(
        db.session.execute(
            sa.select(PoolAssignment, Campaign, Project)
            .join(Campaign, Campaign.id == PoolAssignment.campaign_id)
            .join(Project, Project.id == Campaign.project_id)
            .where(PoolAssignment.pool_id == pool.id)
            .order_by(Campaign.name)
        ).all()
    )


def pool_imports(pool: LeadPool) -> list[Import]:
    return list(
        db.session.scalars(
            sa.select(Import).where(Import.pool_id == pool.id).order_by(Import.created_at)
        )
    )


def leads_by_status(pool: LeadPool) -> dict[str, int]:
    """Leads per status, from the pool's stored breakdown (kept by deltas)."""
    return dict(sorted(pool_counters.breakdown(pool.id, "status").items()))


def leads_by_timezone(pool: LeadPool, top: int = 12) -> dict[str, int]:
    """Leads per time zone, the biggest ``top`` and the rest as "Other" (the pool's stored
    breakdown, kept by deltas)."""
    rows = sorted(pool_counters.breakdown(pool.id, "timezone").items(), key=lambda r: (-r[1], r[0]))
    out = {(zone or "Unknown"): n for zone, n in rows[:top]}
    rest = sum(n for _, n in rows[top:])
    if rest:
        out["Other"] = out.get("Other", 0) + rest
    return out


def calls_per_day(pool: LeadPool) -> dict[str, int]:
    """Calls (interactions) on the pool's leads, per UTC day."""
    day = sa.func.date(Interaction.at)
    rows = db.session.execute(
        sa.select(day, sa.func.count(Interaction.id))
        .join(Lead, Lead.id == Interaction.lead_id)
        .where(Lead.pool_id == pool.id)
        .group_by(day)
        .order_by(day)
    )
    return {str(d): int(n) for d, n in rows}


def chart_data(pool: LeadPool) -> dict:
    return {
        "status": leads_by_status(pool),
        "timezone": leads_by_timezone(pool),
        "calls": calls_per_day(pool),
    }


def statistics(pool: LeadPool, today: dt.date) -> list[tuple[str, object]]:
    """The pool's figures as (metric, value) rows: the statistics download."""
    ready = pool_ready.ready_one(pool, today, utcnow())
    rows: list[tuple[str, object]] = [
        ("pool id", pool.id),
        ("name", pool.name),
        ("status", pool.status),
        ("total leads", pool.total_count),
        ("open", pool.open_count),
        ("ready to dial", ready),  # eligible today, apart from the hour
        ("ready to dial when active and assigned", pool.ready_count),
        ("closed", pool.closed_count),
        ("% closed", pool.closed_pct),
        ("used (called at least once)", pool.used_count),
        ("% used", pool.used_pct),
        ("valid in upload", pool.valid_count),
        ("invalid in upload", pool.invalid_count),
        ("duplicates found", duplicates_found([pool.id]).get(pool.id, 0)),
        (
            "counted at (UTC)",
            pool.counts_refreshed_at.isoformat() if pool.counts_refreshed_at else "",
        ),
    ]
    rows += [(f"status: {k}", v) for k, v in leads_by_status(pool).items()]
    rows += [(f"time zone: {k}", v) for k, v in leads_by_timezone(pool, top=1000).items()]
    rows += [(f"calls on {k}", v) for k, v in calls_per_day(pool).items()]
    return rows


def statistics_csv(pool: LeadPool, today: dt.date) -> bytes:
    frame = pd.DataFrame(statistics(pool, today), columns=["metric", "value"])
    return to_csv_bytes(frame.astype({"value": "str"}))


def log_csv(pool: LeadPool) -> bytes:
    """Every audit entry on the pool, oldest first, with who made it and what it changed
    in a sentence (``pool_log.sentence``)."""
    frame = pd.DataFrame(
        [(f"{c.at:%Y-%m-%d %H:%M:%S}", c.action, c.by_email, c.sentence)
         for c in pool_log.changes(pool, newest_first=False)],
        columns=["at (UTC)", "action", "by", "change"],
    )  # fmt: skip
    return to_csv_bytes(frame)


LEAD_EXPORT_COLUMNS = (
    "id", "customer_key", "first_name", "last_name", "email",
    "phone1", "phone2", "phone3", "phone4", "phone5", "timezone", "state", "postal_code",
    "country", "source", "status", "completed", "do_not_call", "dial_order", "call_count",
    "last_called_at", "last_outcome", "wrap_code", "created_at",
)  # fmt: skip


FIRST_CHUNK = 100


def leads_csv_chunks(pool: LeadPool, chunk: int = 5000) -> Iterator[bytes]:
    """The pool's leads as CSV, ``chunk`` leads at a time (keyset paging on the id), so a
    big pool never sits in memory, written row by row (``rows_to_csv_bytes``: the bytes a
    data frame would give, at a fraction of its cost). The first chunk carries the BOM and
    the header, and only ``FIRST_CHUNK`` leads: the download starts at once whatever the
    pool's size."""
    columns = [getattr(Lead, c) for c in LEAD_EXPORT_COLUMNS]
    last_id, first = 0, True
    while True:
        size = min(chunk, FIRST_CHUNK) if first else chunk
        rows = db.session.execute(
            sa.select(*columns)
            .where(Lead.pool_id == pool.id, Lead.id > last_id)
            .order_by(Lead.id)
            .limit(size)
        ).all()
        if not rows and not first:
            return
        yield rows_to_csv_bytes(LEAD_EXPORT_COLUMNS, rows, first=first)
        first = False
        if len(rows) < size:
            return
        last_id = rows[-1][0]
