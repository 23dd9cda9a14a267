"""Lead pools: the counters the grid shows without scanning every lead, bulk actions on
checked pools, and one pool's edit, toggle and reset.

Services flush, never commit: the view (or task, or CLI command) commits once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

from leadapp.domain import pool_counters as counter_rules
from leadapp.domain.names import clean_name
from leadapp.domain.pool_schedule import Distribution
from leadapp.extensions import db
from leadapp.models import (
    Account,
    Lead,
    LeadPool,
    User,
)
from leadapp.models.base import is_id, utcnow
from leadapp.services import audit, dial_hours, pool_counters, pool_ready

PER_PAGE = 25
NAME_MAX = 160
DESCRIPTION_MAX = 2000


def int_list(values: Iterable) -> list[int]:
    """The ids among ``values`` (form or query text): what is not a number, or is no id any
    object can have (0, negative, past the INTEGER column's 2**31 - 1), is left out."""
    out = []
    for v in values or ():
        try:
            number = int(v)
        except (TypeError, ValueError):
            continue
        if is_id(number):
            out.append(number)
    return sorted(set(out))


class PoolError(ValueError):
    """A request the pool rules refuse; the message is meant for the person asking."""


class NotYours(PermissionError):
    """Someone tried to change a saved view another user owns."""


# ---------------------------------------------------------------------------------------
# Counters


def ready_clause(lead=Lead):
    """A lead that can be dialled as far as the lead itself goes: open, not completed, not
    on the do-not-call list, with a valid phone (phones are stored only when valid).
    ``lead``: ``Lead`` or an alias of it."""
    return sa.and_(
        lead.status == "open",
        lead.completed.is_(False),
        lead.do_not_call.is_(False),
        lead.phone1.is_not(None),
    )


def pool_counts(pool_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Per pool: total, open, ready to dial apart from the time (``ready_clause`` and
    below the maximum attempts of the campaigns dialling it: ``domain.pool_counters``),
    closed and used (called at least once) — a full recount (``pool_counters.recount``)."""
    return pool_counters.recount(pool_ids)[0]


def refresh_counts(pools: list[LeadPool]) -> None:
    """Store fresh counters and breakdowns on ``pools`` (pools with no leads get zeros):
    one grouped read of their leads."""
    counts, broken_down = pool_counters.recount([p.id for p in pools])
    now = utcnow()
    for pool in pools:
        c = counts.get(pool.id, dict.fromkeys(counter_rules.COUNTERS, 0))
        pool.total_count = c["total"]
        pool.open_count = c["open"]
        pool.ready_count = c["ready"]
        pool.closed_count = c["closed"]
        pool.used_count = c["used"]
        pool.counts_refreshed_at = now
    db.session.flush()
    pool_counters.store_breakdowns(pools, broken_down)


def recount_all() -> list[dict]:
    """Count every pool again from its leads (the repair ``flask pools recount`` runs; the
    counters otherwise move by each change, ``services.pool_counters``). Returns the pools
    whose stored counters or breakdowns were off: name, what they said, what the leads say
    (``breakdowns``: "kind:key" -> [stored, counted] for each breakdown key that was off)."""
    pools = list_pools()
    ids = [p.id for p in pools]
    was = {p.id: {k: getattr(p, f"{k}_count") for k in counter_rules.COUNTERS} for p in pools}
    was_broken_down = pool_counters.stored_breakdowns(ids)
    refresh_counts(pools)
    broken_down = pool_counters.stored_breakdowns(ids)
    wrong: dict[int, dict[str, list[int]]] = {}
    for pool_id, kind, key in sorted(set(was_broken_down) | set(broken_down)):
        stored = was_broken_down.get((pool_id, kind, key), 0)
        counted = broken_down.get((pool_id, kind, key), 0)
        if stored != counted:
            wrong.setdefault(pool_id, {})[f"{kind}:{key}"] = [stored, counted]
    off = []
    for pool in pools:
        now = {k: getattr(pool, f"{k}_count") for k in counter_rules.COUNTERS}
        if now != was[pool.id] or pool.id in wrong:
            off.append(
                {
                    "id": pool.id,
                    "name": pool.name,
                    "stored": was[pool.id],
                    "counted": now,
                    "breakdowns": wrong.get(pool.id, {}),
                }
            )
    return off


def list_pools(include_system: bool = True) -> list[LeadPool]:
    query = sa.select(LeadPool).order_by(LeadPool.is_system, LeadPool.created_at.desc())
    if not include_system:
        query = query.where(LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def pool_stats(today: dt.date | None = None) -> list[dict]:
    """The rows of ``flask pools stats --json``: the stored counters, and ready to dial as
    the grid shows it (``services.pool_ready``) on ``today`` (default: the account's)."""

    pools = list_pools()
    now = utcnow()
    if today is None and pools:
        account = db.session.get(Account, pools[0].account_id)
        today = dial_hours.account_day(account, now)
    ready = pool_ready.ready_now(pools, today, now) if pools else {}
    return [
        {
            "id": p.id,
            "name": p.name,
            "status": p.status,
            "total": p.total_count,
            "open": p.open_count,
            "ready_to_dial": ready[p.id],
            "closed_pct": p.closed_pct,
            "used_pct": p.used_pct,
            "invalid_in_upload": p.invalid_count,
            "is_system": p.is_system,
        }
        for p in pools
    ]


# ---------------------------------------------------------------------------------------
# Bulk actions on checked pools


def pools_by_ids(ids: Iterable) -> list[LeadPool]:
    ids = int_list(ids)
    if not ids:
        return []
    return list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(ids))))


def _touch(pool: LeadPool, user: User) -> None:
    pool.modified_by_id = user.id
    pool.updated_at = utcnow()


def set_status(pools: list[LeadPool], status: str, user: User) -> tuple[int, list[str]]:
    """Activate or deactivate; the system Inactive pool stays inactive. Returns how many
    pools changed and the names of those skipped."""
    if status not in ("active", "inactive"):
        raise PoolError("A pool is either active or inactive.")
    changed, skipped = 0, []
    for pool in pools:
        if pool.status == status:
            continue
        if pool.is_system:
            skipped.append(pool.name)
            continue
        action = "pool.activated" if status == "active" else "pool.deactivated"
        audit.record(user.account_id, user.id, action, pool, before=pool.status, after=status)
        pool.status = status
        _touch(pool, user)
        changed += 1
    db.session.flush()
    return changed, skipped


def reserve_dial_orders(pool: LeadPool, count: int) -> int:
    """Reserve ``count`` dial-order positions at the end of ``pool``'s dial order; returns
    the first. One atomic UPDATE, so two writers never take the same positions: leads
    arriving later are dialled after the earlier ones (file order, seed 004)."""
    if count <= 0:
        return int(pool.dial_order_next or 0)
    after = db.session.execute(
        sa.update(LeadPool)
        .where(LeadPool.id == pool.id)
        .values(dial_order_next=LeadPool.dial_order_next + count)
        .returning(LeadPool.dial_order_next)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    pool.dial_order_next = after
    db.session.flush()
    return after - count


def shuffle(pools: list[LeadPool], user: User) -> int:
    """Give the leads of each of ``pools`` a random dial order: a random permutation of the
    positions 0 .. n-1 (one UPDATE over a window function, no Python per row). Until a
    pool is shuffled its leads are dialled in file order."""
    if not pools:
        return 0
    ids = [p.id for p in pools]
    ranked = (
        sa.select(
            Lead.id.label("lead_id"),
            (
                sa.func.row_number().over(partition_by=Lead.pool_id, order_by=sa.func.random()) - 1
            ).label("position"),
        )
        .where(Lead.pool_id.in_(ids))
        .subquery()
    )
    result = db.session.execute(
        sa.update(Lead)
        .where(Lead.id == ranked.c.lead_id)
        .values(dial_order=ranked.c.position)
        .execution_options(synchronize_session=False)
    )
    sizes = dict(
        db.session.execute(
            sa.select(Lead.pool_id, sa.func.count(Lead.id))
            .where(Lead.pool_id.in_(ids))
            .group_by(Lead.pool_id)
        ).all()
    )
    for pool in pools:
        pool.dial_order_next = int(sizes.get(pool.id, 0))
        audit.record(user.account_id, user.id, "pool.shuffled", pool)
        _touch(pool, user)
    refresh_counts(pools)
    return result.rowcount or 0


def _unprocessed(ids: list[int]):
    return sa.and_(Lead.pool_id.in_(ids), Lead.call_count == 0)


def unprocessed_count(pools: list[LeadPool]) -> int:
    """Never-called leads in ``pools`` (what "delete unprocessed leads" would delete)."""
    ids = [p.id for p in pools if not p.is_system]
    if not ids:
        return 0
    return db.session.scalar(sa.select(sa.func.count(Lead.id)).where(_unprocessed(ids))) or 0


def delete_unprocessed(pools: list[LeadPool], user: User) -> int:
    """Delete the never-called leads of ``pools`` (one DELETE); refuses the system pool."""
    system = [p.name for p in pools if p.is_system]
    if system:
        raise PoolError(
            f"The system pool {system[0]} keeps its leads: the Lead Deduplicator's history "
            "depends on them. Uncheck it and try again."
        )
    if not pools:
        return 0
    per_pool = dict(
        db.session.execute(
            sa.select(Lead.pool_id, sa.func.count(Lead.id))
            .where(_unprocessed([p.id for p in pools]))
            .group_by(Lead.pool_id)
        ).all()
    )
    result = db.session.execute(
        sa.delete(Lead)
        .where(_unprocessed([p.id for p in pools]))
        .execution_options(synchronize_session=False)
    )
    for pool in pools:
        audit.record(
            user.account_id, user.id, "pool.unprocessed_deleted", pool,
            leads=int(per_pool.get(pool.id, 0)),
        )  # fmt: skip
        _touch(pool, user)
    refresh_counts(pools)
    return result.rowcount or 0


# ---------------------------------------------------------------------------------------
# One pool: edit, toggle, reset


def update_details(
    pool: LeadPool,
    user: User,
    name: str,
    description: str,
    active_from: dt.date | None,
    active_until: dt.date | None,
    distribution: Distribution | None = None,
) -> dict:
    """Change name, description, active dates and (when given) the distribution — day
    offset, day count, time range; returns what changed (also audited)."""
    name = clean_name(name)  # as it will be stored
    description = (description or "").strip()
    if not name:
        raise PoolError("Give the pool a name.")
    if len(name) > NAME_MAX:
        raise PoolError(f"A pool name can have at most {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise PoolError(f"The description can have at most {DESCRIPTION_MAX} characters.")
    if active_from and active_until and active_until < active_from:
        raise PoolError("The pool cannot stop being active before it starts.")
    if distribution is not None:
        check_distribution(distribution)
    if pool.is_system and name != pool.name:
        raise PoolError("The system pool keeps its name.")
    taken = db.session.scalar(
        sa.select(LeadPool.id).where(
            sa.func.lower(LeadPool.name) == name.lower(), LeadPool.id != pool.id
        )
    )
    if taken:
        raise PoolError(f"Another pool is already called {name}; choose another name.")
    new = {
        "name": name,
        "description": description,
        "active_from": active_from,
        "active_until": active_until,
    }
    if distribution is not None:
        new.update(
            day_offset=distribution.day_offset or 0,
            day_count=distribution.day_count,
            time_from=distribution.time_from,
            time_until=distribution.time_until,
        )
    changes = {}
    for key, value in new.items():
        old = getattr(pool, key)
        if old != value:
            changes[key] = [_jsonable(old), _jsonable(value)]
            setattr(pool, key, value)
    if changes:
        _touch(pool, user)
        audit.record(user.account_id, user.id, "pool.edited", pool, changes=changes)
    db.session.flush()
    return changes


def _jsonable(value):
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value.isoformat() if isinstance(value, dt.date) else value


DAYS_MAX = 365


def check_distribution(d: Distribution) -> None:
    """The limits of the wizard's advanced settings: offset 0-365 days, count 1-365 days;
    a time range with the same start and end would never let a lead be called."""
    if d.day_offset is not None and not 0 <= d.day_offset <= DAYS_MAX:
        raise PoolError(f"The day offset is a number of days from 0 to {DAYS_MAX}.")
    if d.day_count is not None and not 1 <= d.day_count <= DAYS_MAX:
        raise PoolError(f"The day count is a number of days from 1 to {DAYS_MAX}.")
    if d.time_from and d.time_until and d.time_from == d.time_until:
        raise PoolError("The time range starts and ends at the same time; leave both empty "
                        "to call at any time the campaign allows.")  # fmt: skip


def toggle(pool: LeadPool, user: User) -> str:
    """Enable or disable one pool; returns the new status."""
    if pool.is_system:
        raise PoolError("The system Inactive pool stays inactive.")
    set_status([pool], "inactive" if pool.status == "active" else "active", user)
    return pool.status


def reopenable_count(pool: LeadPool) -> int:
    """Completed or closed leads (what "Reset" reopens): the pool's stored breakdown."""
    return pool_counters.breakdown(pool.id, "reopenable").get("", 0)


def reset_pool(pool: LeadPool, user: User) -> int:
    """Re-open the pool's completed leads: completed off, closed back to open (one UPDATE)."""
    result = db.session.execute(
        sa.update(Lead)
        .where(Lead.pool_id == pool.id, sa.or_(Lead.completed.is_(True), Lead.status == "closed"))
        .values(
            completed=False,
            status=sa.case((Lead.status == "closed", "open"), else_=Lead.status),
        )
        .execution_options(synchronize_session=False)
    )
    reopened = result.rowcount or 0
    audit.record(user.account_id, user.id, "pool.reset", pool, leads=reopened)
    _touch(pool, user)
    refresh_counts([pool])
    return reopened
