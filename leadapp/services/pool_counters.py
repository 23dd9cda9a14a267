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

Only changes made through the ORM are seen. A set-based UPDATE can move the counters by
the leads it changes alone (``set_deltas`` / ``counts_of``, then ``move``: ``recount``'s
grouped read restricted to those leads) — the deduplicator's batches and golden records do.
Other set-based statements (imports, bulk actions, do-not-call lists, jobs) recount their
pools in full (``pools.refresh_counts``), and ``flask pools recount`` repairs any pool."""

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
    move_stored_counters(connection, moved)
    move_breakdowns(connection, rules.breakdown_deltas(changes, limits))
    session.info.setdefault(MOVED, set()).update(moved)


def move_stored_counters(connection, moved: dict[int, dict[str, int]]) -> None:
    """Add ``moved`` (per pool, counter → delta) to the stored counters: an atomic
    ``x = x + :d`` per pool, in one order for every writer (no deadlock between them)."""
    table = LeadPool.__table__
    for pool_id in sorted(moved):
        values = {
            table.c[STORED[key]]: table.c[STORED[key]] + delta
            for key, delta in moved[pool_id].items()
            if delta
        }
        if values:
            connection.execute(table.update().where(table.c.id == pool_id).values(values))


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


def _grouped(lead, limits, where, sign=None):
    """The grouped read of ``recount``: the leads of ``lead`` (``Lead``, or an alias of a
    selection of its columns) matching ``where``, grouped by pool, status, zone, zone key
    and attempts, with how many of each group are ready (``pools.ready_clause`` below the
    pool's maximum attempts in ``limits``), reopenable and used. ``sign``: a column of
    ``lead`` each lead is counted by (1 or -1) instead of 1."""
    from leadapp.services.pools import ready_clause

    below = lead.dial_attempts < sa.func.coalesce(limits.c.max_attempts, rules.DEFAULT_MAX_ATTEMPTS)
    reopenable = sa.or_(lead.completed.is_(True), lead.status == "closed")
    one = 1 if sign is None else sign
    # The attempts too, for "ready_attempts": a handful of values per zone key.
    grouped = (lead.pool_id, lead.status, lead.timezone, lead.zone_key, lead.dial_attempts)
    return (
        sa.select(
            *grouped,
            sa.func.count(lead.id) if sign is None else sa.func.sum(sign),
            *(
                sa.func.sum(sa.case((condition, one), else_=0))
                for condition in (
                    sa.and_(ready_clause(lead), below),
                    reopenable,
                    lead.call_count > 0,
                )
            ),
        )
        .outerjoin(limits, limits.c.pool_id == lead.pool_id)
        .where(*where)
        .group_by(*grouped)
    )


def _tally(rows) -> tuple[dict[int, dict[str, int]], dict[tuple[int, str, str], int]]:
    """Per pool its counters, and per (pool, breakdown, key) its leads, from the rows of
    ``_grouped``."""
    counters: dict[int, dict[str, int]] = {}
    broken_down: dict[tuple[int, str, str], int] = {}

    def add(where: tuple[int, str, str], n: int) -> None:
        if n:
            broken_down[where] = broken_down.get(where, 0) + n

    for pool_id, status, zone, key, attempts, n, ready, reopenable, used in rows:
        n, ready, reopenable, used = (
            int(n or 0),
            int(ready or 0),
            int(reopenable or 0),
            int(used or 0),
        )
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


def recount(
    pool_ids: list[int] | None,
) -> tuple[dict[int, dict[str, int]], dict[tuple[int, str, str], int]]:
    """Per pool its counters, and per (pool, breakdown, key) its leads, counted from the
    leads of ``pool_ids`` (None: every pool) in one grouped read (what a set-based change
    pays once), grouped by status, zone, zone key and attempts with how many of each group
    are ready (``pools.ready_clause`` below the pool's maximum attempts), reopenable and
    used — the rules of ``domain.pool_counters`` in SQL."""
    limits = attempt_limits_query(pool_ids).subquery()
    where = () if pool_ids is None else (Lead.pool_id.in_(pool_ids),)
    return _tally(db.session.execute(_grouped(Lead, limits, where)))


def _leads(where, lock: bool):
    """The counted columns (and id) of the leads matching ``where``, as a CTE; ``lock``:
    their rows locked until the transaction ends (``FOR UPDATE`` on PostgreSQL; on SQLite
    the write lock is taken first), so no other writer changes them before this
    transaction's UPDATE of them."""
    table = Lead.__table__
    # account_id too: the tenancy criteria on Lead apply to the alias read from it.
    query = sa.select(table.c.id, table.c.account_id, *COLUMNS.values()).where(*where)
    if lock:
        write_lock.take(db.session.connection())
        query = query.with_for_update(of=table)
    return query.cte("counted_leads")


def _signed_tally(parts, pool_ids: Iterable[int]):
    """``_tally`` of the union of ``parts`` (selections of the counted columns, each with a
    "sign" column: how each lead counts) — one grouped read."""
    both = sa.union_all(*parts).subquery("counted_change")
    lead = sa.orm.aliased(Lead, both, adapt_on_names=True)
    limits = attempt_limits_query(sorted(set(pool_ids))).subquery()
    return _tally(db.session.execute(_grouped(lead, limits, (), sign=both.c.sign)))


def counts_of(
    where, pool_ids: Iterable[int], lock: bool = False
) -> tuple[dict[int, dict[str, int]], dict[tuple[int, str, str], int]]:
    """What the leads matching ``where`` alone add to the counters and breakdowns of their
    pools (``pool_ids``): ``recount``'s grouped read restricted to them. ``lock``: see
    ``_leads``. Before and after a set-based UPDATE of those leads: ``move(*difference(
    after, before))``."""
    now = _leads(where, lock)
    return _signed_tally([sa.select(*now.c, sa.literal(1).label("sign"))], pool_ids)


def difference(after, before):
    """``after`` minus ``before`` (each counters and breakdowns, as ``counts_of`` gives)."""
    counters: dict[int, dict[str, int]] = {}
    for sign, (part, _) in ((1, after), (-1, before)):
        for pool_id, c in part.items():
            moved = counters.setdefault(pool_id, dict.fromkeys(rules.COUNTERS, 0))
            for key, n in c.items():
                moved[key] += sign * n
    broken_down: dict[tuple[int, str, str], int] = {}
    for sign, (_, part) in ((1, after), (-1, before)):
        for where, n in part.items():
            broken_down[where] = broken_down.get(where, 0) + sign * n
    return (
        {p: c for p, c in counters.items() if any(c.values())},
        {k: n for k, n in broken_down.items() if n},
    )


def set_deltas(
    where, values: dict, pool_ids: Iterable[int]
) -> tuple[dict[int, dict[str, int]], dict[tuple[int, str, str], int]]:
    """How the counters and breakdowns of ``pool_ids`` (the pools of the leads matching
    ``where`` and those ``values`` puts them in) move when a set-based UPDATE sets
    ``values`` (constants for counted columns: ``pool_id``, ``status`` ...) on the leads
    matching ``where``: one grouped read of those leads alone (``recount``'s, over the leads
    as they are, counted -1, and as they will be, counted +1), before the UPDATE, the leads
    locked (``_leads``). Apply the result with ``move``."""
    now = _leads(where, lock=True)
    counters, broken_down = _signed_tally(
        [
            sa.select(*now.c, sa.literal(-1).label("sign")),
            sa.select(
                *(
                    sa.literal(values[c.name], c.type).label(c.name) if c.name in values else c
                    for c in now.c
                ),
                sa.literal(1).label("sign"),
            ),
        ],
        pool_ids,
    )
    return {p: c for p, c in counters.items() if any(c.values())}, broken_down


def move(counters: dict[int, dict[str, int]], broken_down: dict[tuple[int, str, str], int]) -> None:
    """Move the stored counters and breakdowns by ``set_deltas``' result: atomic
    ``x = x + :d`` per pool and an upsert per breakdown key, in one order for every
    writer; loaded pools read their counters again."""
    connection = db.session.connection()
    move_stored_counters(connection, counters)
    move_breakdowns(connection, broken_down)
    _expire_moved_pools(db.session, counters)


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
    _expire_moved_pools(session, session.info.pop(MOVED, ()))


def _expire_moved_pools(session: Session, pool_ids: Iterable[int]) -> None:
    for pool_id in pool_ids:
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
