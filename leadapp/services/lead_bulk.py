"""Bulk actions on the leads checked on the Leads page (issue 17 item 16, seed 003): delete,
move to another list, mark do-not-call. Set-based (one statement per action and pool, never
a loop over ORM objects), audited on each pool touched (its change log says it), the pools'
counters refreshed.

Services flush, never commit: the view commits once."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool, User
from leadapp.models.base import utcnow
from leadapp.services import audit
from leadapp.services import pools as pool_service
from leadapp.services.imports import lead_writer

MAX_IDS = 100_000  # checked by hand: more than any page; "all matching" goes by the query


class BulkError(ValueError):
    """A bulk action refused; the message is meant for the person asking."""


def chosen_ids(ids_query) -> list[int]:
    """The lead ids a bulk action acts on (``ids_query`` selects ``Lead.id``)."""
    return list(db.session.scalars(ids_query.order_by(None).order_by(Lead.id)))


def _per_pool(ids: list[int]) -> Counter:
    counts: Counter = Counter()
    for start in range(0, len(ids), 10_000):
        rows = db.session.execute(
            sa.select(Lead.pool_id, sa.func.count(Lead.id))
            .where(Lead.id.in_(ids[start : start + 10_000]))
            .group_by(Lead.pool_id)
        ).all()
        for pool_id, n in rows:
            counts[pool_id] += n
    return counts


def _pools(ids) -> list[LeadPool]:
    return list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(list(ids)))))


def _in_chunks(ids: list[int], statement) -> int:
    done = 0
    for start in range(0, len(ids), 10_000):
        result = db.session.execute(
            statement.where(Lead.id.in_(ids[start : start + 10_000])).execution_options(
                synchronize_session=False
            )
        )
        done += result.rowcount or 0
    return done


def delete_leads(ids: list[int], user: User) -> int:
    """Delete the leads and their call history (the database cascades); the system
    Inactive pool keeps its leads (the Lead Deduplicator's undo needs them)."""
    per_pool = _per_pool(ids)
    pools = _pools(per_pool)
    system = [p.name for p in pools if p.is_system]
    if system:
        raise BulkError(
            f"{system[0]} is the system pool: its leads stay for the Lead Deduplicator's "
            "history. Leave its leads out and try again."
        )
    deleted = _in_chunks(ids, sa.delete(Lead))
    for pool in pools:
        audit.record(user.account_id, user.id, "leads.deleted", pool, leads=per_pool[pool.id])
    pool_service.refresh_counts(pools)
    return deleted


def _ids_where(ids: list[int], *conditions) -> list[int]:
    """Those of ``ids`` whose lead meets ``conditions`` (in chunks: IN lists stay short)."""
    out: list[int] = []
    for start in range(0, len(ids), 10_000):
        out += db.session.scalars(
            sa.select(Lead.id).where(Lead.id.in_(ids[start : start + 10_000]), *conditions)
        ).all()
    return sorted(out)


def move_leads(ids: list[int], target: LeadPool, user: User) -> int:
    """Move the leads to the list ``target``, at the end of its dial order (in lead id
    order); never into the system pool (the Lead Deduplicator's place)."""
    if target.is_system:
        raise BulkError(
            f"{target.name} is the system pool: only the Lead Deduplicator moves leads there."
        )
    moving = _ids_where(ids, Lead.pool_id != target.id)  # the others are there already
    if not moving:
        return 0
    per_pool = _per_pool(moving)
    sources = _pools(per_pool)
    lead_writer.move_leads(moving, target.id)
    for pool in sources:
        audit.record(
            user.account_id, user.id, "leads.moved_out", pool,
            leads=per_pool[pool.id], to=target.name,
        )  # fmt: skip
    audit.record(
        user.account_id, user.id, "leads.moved_in", target,
        leads=len(moving), **{"from": ", ".join(sorted(p.name for p in sources))},
    )  # fmt: skip
    target.modified_by_id = user.id
    target.updated_at = utcnow()
    pool_service.refresh_counts([*sources, target])
    return len(moving)


def mark_do_not_call(ids: list[int], user: User) -> int:
    """Mark the leads do-not-call by hand (``dnc_reason`` "hand"); leads already
    do-not-call keep their reason. Returns how many were newly marked."""
    marking = _ids_where(ids, Lead.do_not_call.is_(False))
    if not marking:
        return 0
    per_pool = _per_pool(marking)
    marked = _in_chunks(
        marking,
        sa.update(Lead).values(do_not_call=True, dnc_reason="hand", updated_at=utcnow()),
    )
    pools = _pools(per_pool)
    for pool in pools:
        audit.record(user.account_id, user.id, "leads.do_not_call", pool, leads=per_pool[pool.id])
    pool_service.refresh_counts(pools)
    return marked
