"""A pool's counters kept by deltas in the transaction that changes its leads.

A request that changes one lead, or a handful (a call outcome, a wrap code, a lead added,
edited, copied, moved or deleted), moves its pool's counters by what the lead adds after
the change minus what it added before (``domain.pool_counters``), in the same flush:
``UPDATE lead_pools SET open_count = open_count + :d ...`` — atomic, so concurrent writers
lose no update on PostgreSQL, and a few rows on SQLite. The lead's state before is read
from the database itself, its rows locked (``FOR UPDATE`` on PostgreSQL, the write lock on
SQLite), so two writers of one lead move the counters by the transition each really made.

The pool's breakdowns (``models.PoolBreakdown``: leads per status, time zone, ready zone
key, reopenable) move the same way, in the same flush, by an upsert per key.

Only changes made through the ORM are seen. Set-based statements (imports, the
deduplicator, bulk actions, do-not-call lists, jobs) recount their pools in full
(``pools.refresh_counts``), and ``flask pools recount`` repairs any pool."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from leadapp import write_lock
from leadapp.domain import pool_counters as rules
from leadapp.extensions import db
from leadapp.models import (
    DialSettings,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    PoolBreakdown,
)

BEFORE = "leadapp_leads_before_flush"
MOVED = "leadapp_pools_counters_moved"
CHUNK = 500
COLUMNS = {name: getattr(Lead.__table__.c, name) for name in rules.COUNTED}
STORED = {key: f"{key}_count" for key in rules.COUNTERS}
# A change to these may move a counter or a breakdown: the counted columns, and the
# country and state the zone key is made of (``models.lead._keep_zone_key`` sets it during
# the flush, after the leads to read were chosen).
WATCHED = (*rules.COUNTED, "country", "state")


def attempt_limits_query(pool_ids=None):
    """Per pool: the most attempts a campaign that dials it allows (the pool's leads are
    ready while below it in at least one of them). A pool no campaign dials is left out:
    ``rules.DEFAULT_MAX_ATTEMPTS`` applies."""
    query = (
        sa.select(
            PoolAssignment.pool_id.label("pool_id"),
            sa.func.max(
                sa.func.coalesce(DialSettings.max_attempts, rules.DEFAULT_MAX_ATTEMPTS)
            ).label("max_attempts"),
        )
        .select_from(PoolAssignment)
        .outerjoin(DialSettings, DialSettings.campaign_id == PoolAssignment.campaign_id)
        .where(PoolAssignment.to_dial.is_(True))
        .group_by(PoolAssignment.pool_id)
    )
    if pool_ids is not None:
        query = query.where(PoolAssignment.pool_id.in_(sorted(pool_ids)))
    return query


def attempt_limits(connection, pool_ids: Iterable[int]) -> dict[int, int]:
    return dict(connection.execute(attempt_limits_query(set(pool_ids))).all())


@contextlib.contextmanager
def attempt_limits_watched(pool_ids: Iterable[int]) -> Iterator[None]:
    """Around a change of what campaigns dial ``pool_ids`` or of their maximum attempts:
    the pools whose limit (``attempt_limits``) changed are counted again, the others keep
    their counters."""
    from leadapp.services import pools as pool_service

    ids = set(pool_ids)
    before = attempt_limits(db.session.connection(), ids) if ids else {}
    yield
    if not ids:
        return
    db.session.flush()
    after = attempt_limits(db.session.connection(), ids)
    default = rules.DEFAULT_MAX_ATTEMPTS
    changed = sorted(i for i in ids if before.get(i, default) != after.get(i, default))
    if changed:
        pool_service.refresh_counts(
            list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(changed))))
        )


def _lead_id(obj: Lead) -> int | None:
    identity = inspect(obj).identity
    return identity[0] if identity else None


def _counted_change(obj: Lead) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in WATCHED)


def _read_before(session: Session, _context, _instances) -> None:
    """Before the flush writes: the counted columns of the leads it will change or delete,
    as stored, their rows locked until the transaction ends."""
    ids = {
        _lead_id(obj)
        for obj in (*session.dirty, *session.deleted)
        if isinstance(obj, Lead) and (obj in session.deleted or _counted_change(obj))
    }
    # A recorded call counts an attempt on its lead in another flush listener.
    ids |= {obj.lead_id for obj in session.new if isinstance(obj, Interaction) and obj.lead_id}
    ids.discard(None)
    if not ids:
        return
    connection = session.connection()
    # SQLite: the write lock first, so the state read is the one the flush will change.
    write_lock.take(connection)
    found = session.info.setdefault(BEFORE, {})
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        query = (
            sa.select(Lead.__table__.c.id, *COLUMNS.values())
            .where(Lead.__table__.c.id.in_(ordered[start : start + CHUNK]))
            .order_by(Lead.__table__.c.id)
            .with_for_update()
        )
        for row in connection.execute(query).mappings():
            found[row["id"]] = dict(row)


def _after(obj: Lead, before: dict | None) -> dict:
    """The counted columns as the flush wrote them: what it changed, else as stored."""
    values = inspect(obj).dict
    if before is None:  # new
        return {name: values.get(name, rules.NEW_LEAD.get(name)) for name in rules.COUNTED}
    state = inspect(obj)
    return {
        name: (values.get(name) if state.attrs[name].history.has_changes() else before[name])
        for name in rules.COUNTED
    }


def _move_counters(session: Session, _context) -> None:
    """After the flush wrote the leads: move their pools' counters, in the same
    transaction."""
    before = session.info.pop(BEFORE, {})
    changes = []
    for obj in session.new:
        if isinstance(obj, Lead):
            changes.append((None, _after(obj, None)))
    for obj in session.dirty:
        if isinstance(obj, Lead) and _lead_id(obj) in before:
            was = before[_lead_id(obj)]
            changes.append((was, _after(obj, was)))
    for obj in session.deleted:
        if isinstance(obj, Lead) and _lead_id(obj) in before:
            changes.append((before[_lead_id(obj)], None))
    if not changes:
        return
    connection = session.connection()
    pools = {lead["pool_id"] for pair in changes for lead in pair if lead is not None}
    limits = attempt_limits(connection, pools)
    moved = rules.deltas(changes, limits)
    table = LeadPool.__table__
    for pool_id in sorted(moved):  # one order for every writer: no deadlock between them
        connection.execute(
            table.update()
            .where(table.c.id == pool_id)
            .values(
                {
                    table.c[STORED[key]]: table.c[STORED[key]] + delta
                    for key, delta in moved[pool_id].items()
                    if delta
                }
            )
        )
    move_breakdowns(connection, rules.breakdown_deltas(changes, limits))
    session.info.setdefault(MOVED, set()).update(moved)


def move_breakdowns(connection, moved: dict[tuple[int, str, str], int]) -> None:
    """Add ``moved`` (per (pool, breakdown, key), leads gained or lost) to the stored rows,
    creating those not there yet: one atomic upsert per key, in one order for every
    writer."""
    if not moved:
        return
    pools = LeadPool.__table__
    accounts = dict(
        connection.execute(
            sa.select(pools.c.id, pools.c.account_id).where(
                pools.c.id.in_(sorted({pool_id for pool_id, _, _ in moved}))
            )
        ).all()
    )
    table = PoolBreakdown.__table__
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for (pool_id, kind, key), delta in sorted(moved.items()):
        stmt = insert(table).values(
            account_id=accounts[pool_id], pool_id=pool_id, kind=kind, key=key, leads=delta
        )
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.pool_id, table.c.kind, table.c.key],
                set_={"leads": table.c.leads + stmt.excluded.leads},
            )
        )


def recount(
    pool_ids: list[int] | None,
) -> tuple[dict[int, dict[str, int]], dict[tuple[int, str, str], int]]:
    """Per pool its counters, and per (pool, breakdown, key) its leads, counted from the
    leads of ``pool_ids`` (None: every pool) in one grouped read (what a set-based change
    pays once), grouped by status, zone, zone key and attempts with how many of each group
    are ready (``pools.ready_clause`` below the pool's maximum attempts), reopenable and
    used — the rules of ``domain.pool_counters`` in SQL."""
    from leadapp.services.pools import ready_clause

    limits = attempt_limits_query(pool_ids).subquery()
    below = Lead.dial_attempts < sa.func.coalesce(limits.c.max_attempts, rules.DEFAULT_MAX_ATTEMPTS)
    reopenable = sa.or_(Lead.completed.is_(True), Lead.status == "closed")
    # The attempts too, for "ready_attempts": a handful of values per zone key.
    grouped = (Lead.pool_id, Lead.status, Lead.timezone, Lead.zone_key, Lead.dial_attempts)
    query = (
        sa.select(
            *grouped,
            sa.func.count(Lead.id),
            *(
                sa.func.sum(sa.case((condition, 1), else_=0))
                for condition in (sa.and_(ready_clause(), below), reopenable, Lead.call_count > 0)
            ),
        )
        .outerjoin(limits, limits.c.pool_id == Lead.pool_id)
        .group_by(*grouped)
    )
    if pool_ids is not None:
        query = query.where(Lead.pool_id.in_(pool_ids))
    counters: dict[int, dict[str, int]] = {}
    broken_down: dict[tuple[int, str, str], int] = {}

    def add(where: tuple[int, str, str], n: int) -> None:
        if n:
            broken_down[where] = broken_down.get(where, 0) + n

    rows = db.session.execute(query)
    for pool_id, status, zone, key, attempts, n, ready, reopenable, used in rows:
        ready, reopenable, used = int(ready or 0), int(reopenable or 0), int(used or 0)
        c = counters.setdefault(pool_id, dict.fromkeys(rules.COUNTERS, 0))
        c["total"] += n
        c["open"] += n if status == "open" else 0
        c["closed"] += n if status == "closed" else 0
        c["ready"] += ready
        c["used"] += used
        add((pool_id, "status", status), n)
        add((pool_id, "timezone", zone or ""), n)
        add((pool_id, "ready_zone", key or ""), ready)
        add((pool_id, "ready_attempts", rules.attempts_key(attempts or 0, key)), ready)
        add((pool_id, "reopenable", ""), reopenable)
    return counters, broken_down


def breakdown_counts(pool_ids: list[int]) -> dict[tuple[int, str, str], int]:
    """The breakdowns of ``pool_ids`` counted from their leads (``recount``)."""
    return recount(pool_ids)[1] if pool_ids else {}


def stored_breakdowns(pool_ids: list[int]) -> dict[tuple[int, str, str], int]:
    """The stored rows of ``pool_ids`` that count any lead."""
    rows = db.session.execute(
        sa.select(PoolBreakdown.pool_id, PoolBreakdown.kind, PoolBreakdown.key, PoolBreakdown.leads)
        .where(PoolBreakdown.pool_id.in_(pool_ids), PoolBreakdown.leads != 0)
        .execution_options(all_accounts=True)
    )
    return {(p, k, key): n for p, k, key, n in rows}


def breakdown(pool_id: int, kind: str) -> dict[str, int]:
    """One pool's stored breakdown ``kind``: {key: leads} for the keys that count any."""
    rows = db.session.execute(
        sa.select(PoolBreakdown.key, PoolBreakdown.leads).where(
            PoolBreakdown.pool_id == pool_id, PoolBreakdown.kind == kind, PoolBreakdown.leads != 0
        )
    )
    return {key: int(n) for key, n in rows}


def store_breakdowns(pools: list[LeadPool], counted: dict[tuple[int, str, str], int]) -> None:
    """Store ``counted`` (``recount``'s breakdowns) as the breakdowns of ``pools``."""
    ids = [p.id for p in pools]
    if not ids:
        return
    db.session.execute(
        sa.delete(PoolBreakdown)
        .where(PoolBreakdown.pool_id.in_(ids))
        .execution_options(synchronize_session=False, all_accounts=True)
    )
    accounts = {p.id: p.account_id for p in pools}
    rows = [
        {"account_id": accounts[p], "pool_id": p, "kind": k, "key": key, "leads": n}
        for (p, k, key), n in sorted(counted.items())
        if p in accounts
    ]
    if rows:
        db.session.execute(sa.insert(PoolBreakdown), rows)


def _expire_moved(session: Session, _context) -> None:
    """Loaded pools read their counters again (they were moved in the database)."""
    for pool_id in session.info.pop(MOVED, ()):
        pool = session.identity_map.get(inspect(LeadPool).identity_key_from_primary_key((pool_id,)))
        if pool is not None:
            session.expire(pool, list(STORED.values()))


def _forget(session: Session, *_args) -> None:
    session.info.pop(BEFORE, None)
    session.info.pop(MOVED, None)


event.listen(Session, "before_flush", _read_before)
event.listen(Session, "after_flush", _move_counters)
event.listen(Session, "after_flush_postexec", _expire_moved)
event.listen(Session, "after_rollback", _forget)
