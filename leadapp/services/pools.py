"""Lead pools: the counters the pool grid shows without scanning every lead."""

from __future__ import annotations

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.models.base import utcnow


def pool_counts(pool_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Per pool: total, open, ready to dial (open, not completed, not do-not-call, with a
    valid phone),
    closed and used (called at least once) — one grouped query."""
    query = sa.select(
        Lead.pool_id,
        sa.func.count(Lead.id),
        sa.func.sum(sa.case((Lead.status == "open", 1), else_=0)),
        sa.func.sum(
            sa.case(
                (
                    sa.and_(
                        Lead.status == "open",
                        Lead.completed.is_(False),
                        Lead.do_not_call.is_(False),
                        Lead.phone1.is_not(None),
                    ),
                    1,
                ),
                else_=0,
            )
        ),
        sa.func.sum(sa.case((Lead.status == "closed", 1), else_=0)),
        sa.func.sum(sa.case((Lead.call_count > 0, 1), else_=0)),
    ).group_by(Lead.pool_id)
    if pool_ids is not None:
        query = query.where(Lead.pool_id.in_(pool_ids))
    return {
        pool_id: {
            "total": total,
            "open": int(open_ or 0),
            "ready": int(ready or 0),
            "closed": int(closed or 0),
            "used": int(used or 0),
        }
        for pool_id, total, open_, ready, closed, used in db.session.execute(query)
    }


def refresh_counts(pools: list[LeadPool]) -> None:
    """Store fresh counters on ``pools`` (pools with no leads get zeros)."""
    counts = pool_counts([p.id for p in pools])
    now = utcnow()
    for pool in pools:
        c = counts.get(pool.id, {"total": 0, "open": 0, "ready": 0, "closed": 0, "used": 0})
        pool.total_count = c["total"]
        pool.open_count = c["open"]
        pool.ready_count = c["ready"]
        pool.closed_count = c["closed"]
        pool.used_count = c["used"]
        pool.counts_refreshed_at = now
    db.session.flush()


def list_pools(include_system: bool = True) -> list[LeadPool]:
    query = sa.select(LeadPool).order_by(LeadPool.is_system, LeadPool.created_at.desc())
    if not include_system:
        query = query.where(LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def pool_stats() -> list[dict]:
    """The rows of ``flask pools stats --json`` (from the stored counters)."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "status": p.status,
            "total": p.total_count,
            "open": p.open_count,
            "ready_to_dial": p.ready_count,
            "closed_pct": p.closed_pct,
            "used_pct": p.used_pct,
            "invalid_in_upload": p.invalid_count,
            "is_system": p.is_system,
        }
        for p in list_pools()
    ]
