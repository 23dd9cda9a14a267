"""A pool's counters kept by deltas in the transaction that changes its leads.

A request that changes one lead, or a handful (a call outcome, a wrap code, a lead added,
edited, copied, moved or deleted), moves its pool's counters by what the lead adds after
the change minus what it added before (``domain.pool_counters``), in the same flush:
``UPDATE lead_pools SET open_count = open_count + :d ...`` — atomic, so concurrent writers
lose no update on PostgreSQL, and a few rows on SQLite. The lead's state before is read
from the database itself, its rows locked (``FOR UPDATE`` on PostgreSQL, the write lock on
SQLite), so two writers of one lead move the counters by the transition each really made.

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
from leadapp.models import DialSettings, Interaction, Lead, LeadPool, PoolAssignment

BEFORE = "leadapp_leads_before_flush"
MOVED = "leadapp_pools_counters_moved"
CHUNK = 500
COLUMNS = {name: getattr(Lead.__table__.c, name) for name in rules.COUNTED}
STORED = {key: f"{key}_count" for key in rules.COUNTERS}


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
    return any(state.attrs[name].history.has_changes() for name in rules.COUNTED)


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
    moved = rules.deltas(changes, attempt_limits(connection, pools))
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
    session.info.setdefault(MOVED, set()).update(moved)


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
