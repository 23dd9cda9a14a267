"""Which leads the dial queue may hand out, and in what order: the reading half of
``services.dial_queue`` (its module docstring states the rules). Per campaign and instant:
each to-dial pool's plan (open zone keys, positions released today), the eligibility
conditions, and candidates read in queue order from the partial indexes of ``Lead`` per
(pool, zone key) — LIMIT queries, one statement for every pool. Reads only."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Account,
    Campaign,
    DialLease,
    DialSettings,
    Lead,
    LeadPool,
    PoolAssignment,
)
from leadapp.models.base import utcnow
from leadapp.services import dial_hours

CALLBACK_GRACE = dt.timedelta(minutes=5)
OPEN = sa.literal_column("'open'")


@dataclass
class PoolPlan:
    """One to-dial pool of the campaign as the queue sees it at one instant."""

    pool: LeadPool
    assignment: PoolAssignment
    # The zone keys callable now (calling hours and the pool's time range; None: leads
    # without a zone, read in the campaign's).
    zones: list[str | None]
    released: int | None  # dial-order positions released today (None: all)
    why_not: str | None = None  # why the pool gives nothing now
    candidates: list[int] = field(default_factory=list)
    all_zones: list[str | None] = field(default_factory=list)


def dialable():
    """The partial indexes' own condition, as literals so both databases match it."""
    return sa.and_(
        Lead.status == OPEN, Lead.completed == sa.false(), Lead.do_not_call == sa.false()
    )


def lease_running(now=None):
    """The lead has a lease still running on the real clock ``now`` (None: a lease not
    ended, whether or not past its end)."""
    running = [DialLease.expires_at > now] if now is not None else []
    return (
        sa.select(DialLease.id)
        .where(DialLease.lead_id == Lead.id, DialLease.ended_at.is_(None), *running)
        .exists()
    )


def ahead_of_real_clock(at) -> bool:
    """A clock ahead of the real one (``--at``, planning, a simulated day) passes the lease
    end written in ``next_call_at`` while the lease still runs: such reads also skip the
    leads leased now, or those leads, read first and refused by the lock, would cost their
    pool its turns."""
    return at > utcnow()


def zone_of(lead: Lead, campaign: Campaign) -> str:
    """The lead's zone for its local time: its own, else the campaign's."""
    for name in (lead.timezone, campaign.timezone):
        try:
            if name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


def local_time(at: dt.datetime, zone: str) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))


# Zone keys per pool, read again after ZONES_TTL seconds or when the pool seems dry:
# {(database, pool id, pool created at): (read at, keys)}.
ZONES_TTL = 60.0
_zones_seen: dict[tuple, tuple[float, list[str | None]]] = {}


def _scan_zones(pool_id: int) -> list[str | None]:
    """The zone keys (``Lead.zone_key``: possible zones, country, state) of the pool's
    dialable leads: a skip over the index, one probe per key (a loose index scan), never a
    read of every lead."""
    zones: list[str | None] = []
    last = None
    while True:
        query = sa.select(sa.func.min(Lead.zone_key)).where(Lead.pool_id == pool_id, dialable())
        if last is not None:
            query = query.where(Lead.zone_key > last)
        last = db.session.scalar(query.execution_options(all_accounts=True))
        if last is None:
            break
        zones.append(last)
    no_zone = db.session.scalar(
        sa.select(Lead.id)
        .where(Lead.pool_id == pool_id, dialable(), Lead.zone_key.is_(None))
        .limit(1)
        .execution_options(all_accounts=True)
    )
    if no_zone is not None:
        zones.append(None)
    return zones


def pool_zones(pool: LeadPool, fresh: bool = False) -> list[str | None]:
    """The pool's zone keys, kept a minute: a new key (an import in a new zone) is seen
    within ZONES_TTL, or at once when the pool has nothing left in the keys known."""
    key = (str(db.engine.url), pool.id, pool.created_at)
    seen = _zones_seen.get(key)
    if fresh or seen is None or time.monotonic() - seen[0] > ZONES_TTL:
        seen = (time.monotonic(), _scan_zones(pool.id))
        if len(_zones_seen) > 10_000:
            _zones_seen.clear()
        _zones_seen[key] = seen
    return list(seen[1])


def plans(campaign: Campaign, at: dt.datetime, fresh: bool = False) -> list[PoolPlan]:
    """Every pool the campaign dials, with the zones callable at ``at`` (naive UTC) and the
    positions released today; ``why_not`` says why a pool gives nothing now."""
    account = db.session.get(Account, campaign.account_id)
    today = dial_hours.account_day(account, at)
    rows = db.session.execute(
        sa.select(PoolAssignment, LeadPool)
        .join(LeadPool, LeadPool.id == PoolAssignment.pool_id)
        .where(PoolAssignment.campaign_id == campaign.id, PoolAssignment.to_dial.is_(True))
        .order_by(LeadPool.priority.desc(), PoolAssignment.id)
    ).all()
    out = []
    hours: dict = {}  # calling hours per set of zone keys, the same for every pool
    for assignment, pool in rows:
        plan = PoolPlan(pool=pool, assignment=assignment, zones=[], released=None)
        out.append(plan)
        plan.why_not = dial_hours.pool_closed(pool, today)
        if plan.why_not:
            continue
        plan.released = dial_hours.released(pool, today)
        if plan.released == 0:
            plan.why_not = "its first day has not come"
            continue
        zones = pool_zones(pool, fresh=fresh)
        plan.zones = dial_hours.open_zones(campaign, pool, at, zones, hours)
        if not plan.zones and not fresh:
            # Nothing callable in the keys known: a lead reopened or added since may be in
            # a key not read yet, so read them again now rather than after ZONES_TTL.
            zones = pool_zones(pool, fresh=True)
            plan.zones = dial_hours.open_zones(campaign, pool, at, zones, hours)
        plan.all_zones = zones
        if not zones:
            plan.why_not = "no lead left to dial"
        elif not plan.zones:
            plan.why_not = "outside calling hours or the pool's time range everywhere"
    return out


def _conditions(pool_id, released: bool, at, grace_at, max_attempts, agent, released_value):
    conditions = [
        Lead.pool_id == pool_id,
        dialable(),
        Lead.next_call_at <= at,
        Lead.dial_attempts < max_attempts,
        Lead.phone1.is_not(None),
        sa.or_(
            Lead.callback_at.is_(None),
            sa.and_(
                Lead.callback_at <= at,
                sa.or_(
                    Lead.callback_agent_id.is_(None),
                    Lead.callback_agent_id == agent,
                    Lead.callback_at <= grace_at,
                ),
            ),
        ),
    ]
    if released:
        conditions.append(Lead.dial_order < released_value)
    return conditions


def eligible(plan: PoolPlan, settings: DialSettings, at, agent_id):
    """The lead conditions of one pool's branch (all but the zone)."""
    return _conditions(
        plan.pool.id,
        plan.released is not None,
        at,
        at - CALLBACK_GRACE,
        settings.max_attempts,
        agent_id or 0,
        plan.released,
    )


# The queue's two statements, built once per shape and kept: building one (a branch per
# pool and zone key) and its cache key cost more CPU than running it. The shape — pools,
# their zone keys, whether a day count applies, the lead order, an exclusion — is the key;
# everything else is a bound parameter ``_bound`` fills in per request:
# {shape: statement}.
_statements: dict[tuple, sa.Select | sa.CompoundSelect] = {}
_AT = sa.bindparam("at", type_=sa.DateTime())
_GRACE_AT = sa.bindparam("grace_at", type_=sa.DateTime())
_MAX_ATTEMPTS = sa.bindparam("max_attempts", type_=sa.Integer())
_AGENT = sa.bindparam("agent", type_=sa.Integer())
_SKIP = sa.bindparam("skip", expanding=True, type_=sa.Integer())
_NOW = sa.bindparam("now", type_=sa.DateTime())


def _bound_conditions(i: int, plan: PoolPlan) -> list:
    return _conditions(
        plan.pool.id,
        plan.released is not None,
        _AT,
        _GRACE_AT,
        _MAX_ATTEMPTS,
        _AGENT,
        sa.bindparam(f"released{i}", type_=sa.Integer()),
    )


def _bound(plans_: list[PoolPlan], settings: DialSettings, at, agent_id, **extra) -> dict:
    params = {
        "at": at,
        "grace_at": at - CALLBACK_GRACE,
        "max_attempts": settings.max_attempts,
        "agent": agent_id or 0,
        **extra,
    }
    for i, plan in enumerate(plans_):
        if plan.released is not None:
            params[f"released{i}"] = plan.released
    return params


def _kept(shape: tuple, build):
    statement = _statements.get(shape)
    if statement is None:
        if len(_statements) > 1000:
            _statements.clear()
        statement = _statements[shape] = build()
    return statement


def queue_order(settings: DialSettings):
    return _order(settings.lead_order)


def _order(lead_order: str):
    if lead_order == "fewest_attempts":
        return (Lead.dial_attempts, Lead.dial_order, Lead.id)
    return (Lead.dial_order, Lead.id)


def zone_is(key: str | None):
    return Lead.zone_key.is_(None) if key is None else Lead.zone_key == key


def candidates(
    plans_: list[PoolPlan],
    settings: DialSettings,
    at,
    agent_id,
    limits: dict[int, int],
    exclude: set[int] | None = None,
) -> dict[int, list[int]]:
    """Per pool, up to ``limits[pool]`` eligible leads in queue order, but ``exclude``: one
    statement of LIMIT branches, one per (pool, callable zone key), each on the queue's
    index; merged here. PostgreSQL reads the same branches through LATERAL over arrays
    (``_candidates_pg``)."""
    out: dict[int, list[int]] = {p.pool.id: [] for p in plans_}
    asked = [p for p in plans_ if limits.get(p.pool.id, 0) > 0 and p.zones]
    if not asked:
        return out
    ahead = ahead_of_real_clock(at)
    if db.session.get_bind().dialect.name == "postgresql":
        return _candidates_pg(asked, settings, at, agent_id, limits, exclude, ahead, out)
    shape = (
        "candidates",
        tuple((p.pool.id, tuple(p.zones), p.released is not None) for p in asked),
        settings.lead_order,
        bool(exclude),
        ahead,
    )

    def build():
        order = queue_order(settings)
        skip = [Lead.id.not_in(_SKIP)] if exclude else []
        if ahead:
            skip.append(~lease_running(_NOW))
        columns = (
            Lead.pool_id.label("p"),
            Lead.id.label("id"),
            *[c.label(f"k{i}") for i, c in enumerate(order)],
        )
        pools = []
        for i, plan in enumerate(asked):
            conditions = (*_bound_conditions(i, plan), *skip)
            limit = sa.bindparam(f"limit{i}", type_=sa.Integer())
            branches = [
                sa.select(*columns)
                .where(*conditions, zone_is(zone))
                .order_by(*order)
                .limit(limit)
                .subquery()
                .select()
                for zone in plan.zones
            ]
            if len(branches) > 1:
                # The pool's first ``limit`` over its zone keys, merged by the database:
                # the answer is the leads asked for, not ``limit`` per zone key.
                merged = sa.union_all(*branches).subquery()
                keys = [merged.c[f"k{k}"] for k in range(len(order))]
                branches = [sa.select(merged).order_by(*keys).limit(limit).subquery().select()]
            pools += branches
        return sa.union_all(*pools) if len(pools) > 1 else pools[0]

    extra = {f"limit{i}": limits[p.pool.id] for i, p in enumerate(asked)}
    if exclude:
        extra["skip"] = sorted(exclude)
    if ahead:
        extra["now"] = utcnow()
    rows = db.session.execute(
        _kept(shape, build),
        _bound(asked, settings, at, agent_id, **extra),
        execution_options={"all_accounts": True},
    )
    return _first(rows, limits, out)


def _first(rows, limits: dict[int, int], out: dict[int, list[int]]) -> dict[int, list[int]]:
    """Rows (pool, lead, order keys…) as each pool's first ``limits[pool]`` leads."""
    for row in sorted(rows, key=lambda r: r[2:]):
        if len(out[row[0]]) < limits[row[0]]:
            out[row[0]].append(row[1])
    return out


# PostgreSQL's form: one short statement for every campaign, its (pool, zone key) pairs
# bound as arrays and read by a LATERAL branch each (a LIMIT on the queue's index), each
# pool's first N kept by the database. The union's text (a branch per pair, 23,000
# characters at 3 pools and 9 keys) was parsed again by psycopg on every request: it
# caches statements of 4,096 characters and 50 parameters at most.
_ARRAYS = {"p": sa.Integer, "z": sa.String, "rel": sa.Integer, "lim": sa.Integer}
# A pool without a day count: every position is released.
_ALL_RELEASED = 2**31 - 1


def _unnest(prefix: str, names: tuple[str, ...]):
    arrays = [sa.bindparam(f"{prefix}{n}", type_=sa.ARRAY(_ARRAYS[n]())) for n in names]
    return sa.func.unnest(*arrays).table_valued(*names).render_derived(name=prefix)


def _lateral_statement(order_name: str, exclude: bool, ahead: bool, keyed: bool, unkeyed: bool):
    order = _order(order_name)
    skip = [Lead.id != sa.all_(sa.bindparam("skip", type_=sa.ARRAY(sa.Integer())))]
    skip = skip if exclude else []
    if ahead:
        skip.append(~lease_running(_NOW))
    keys = [c.label(f"k{i}") for i, c in enumerate(order)]
    branches = []
    for prefix, names in (("kz", ("p", "z", "rel", "lim")), ("nz", ("p", "rel", "lim"))):
        if not (keyed if prefix == "kz" else unkeyed):
            continue
        pairs = _unnest(prefix, names)
        zone = Lead.zone_key == pairs.c.z if prefix == "kz" else Lead.zone_key.is_(None)
        conditions = _conditions(
            pairs.c.p, True, _AT, _GRACE_AT, _MAX_ATTEMPTS, _AGENT, pairs.c.rel
        )
        leads = (
            sa.select(Lead.id.label("id"), *keys)
            .where(*conditions, zone, *skip)
            .order_by(*order)
            .limit(pairs.c.lim)
            .lateral(f"{prefix}_leads")
        )
        branches.append(
            sa.select(pairs.c.p.label("p"), pairs.c.lim.label("lim"), leads)
            .select_from(pairs)
            .join(leads, sa.true())
        )
    merged = (sa.union_all(*branches) if len(branches) > 1 else branches[0]).subquery()
    ranks = [merged.c[f"k{i}"] for i in range(len(order))]
    rank = sa.func.row_number().over(partition_by=merged.c.p, order_by=ranks)
    ranked = sa.select(merged, rank.label("rank")).subquery()
    return sa.select(
        ranked.c.p, ranked.c.id, *[ranked.c[f"k{i}"] for i in range(len(order))]
    ).where(ranked.c.rank <= ranked.c.lim)


def _candidates_pg(asked, settings, at, agent_id, limits, exclude, ahead, out):
    extra: dict = {n: [] for n in ("kzp", "kzz", "kzrel", "kzlim", "nzp", "nzrel", "nzlim")}
    for plan in asked:
        released = _ALL_RELEASED if plan.released is None else plan.released
        for zone in plan.zones:
            prefix = "nz" if zone is None else "kz"
            extra[f"{prefix}p"].append(plan.pool.id)
            extra[f"{prefix}rel"].append(released)
            extra[f"{prefix}lim"].append(limits[plan.pool.id])
            if zone is not None:
                extra["kzz"].append(zone)
    if exclude:
        extra["skip"] = sorted(exclude)
    if ahead:
        extra["now"] = utcnow()
    keyed, unkeyed = bool(extra["kzp"]), bool(extra["nzp"])
    shape = ("lateral", settings.lead_order, bool(exclude), ahead, keyed, unkeyed)
    statement = _kept(shape, lambda: _lateral_statement(*shape[1:]))
    rows = db.session.execute(
        statement,
        _bound([], settings, at, agent_id, **extra),
        execution_options={"all_accounts": True},
    )
    return _first(rows, limits, out)


def due_callbacks(plans_: list[PoolPlan], settings, at, agent_id, limit) -> list[int]:
    """Callbacks due at ``at`` in the campaign's open pools: the agent's own first, then the
    longest due (one statement; each pool's branch reads its callbacks index)."""
    asked = [p for p in plans_ if p.zones]
    if not asked:
        return []
    ahead = ahead_of_real_clock(at)
    shape = ("callbacks", tuple((p.pool.id, tuple(p.zones)) for p in asked), ahead)

    def build():
        mine = sa.case((Lead.callback_agent_id == _AGENT, 0), else_=1)
        free = [~lease_running(_NOW)] if ahead else []
        branches = []
        for plan in asked:
            # Without the day count's condition: a callback was released when first called.
            conditions = _conditions(
                plan.pool.id, False, _AT, _GRACE_AT, _MAX_ATTEMPTS, _AGENT, None
            )
            branches.append(
                sa.select(Lead.id.label("id"), mine.label("mine"), Lead.callback_at.label("due"))
                .where(
                    *conditions,
                    Lead.callback_at.is_not(None),
                    sa.or_(*(zone_is(z) for z in plan.zones)),
                    *free,
                )
                .order_by(mine, Lead.callback_at)
                .limit(sa.bindparam("limit", type_=sa.Integer()))
                .subquery()
                .select()
            )
        return sa.union_all(*branches) if len(branches) > 1 else branches[0]

    params = _bound([], settings, at, agent_id, limit=limit)
    if ahead:
        params["now"] = utcnow()
    rows = sorted(
        db.session.execute(_kept(shape, build), params, execution_options={"all_accounts": True}),
        key=lambda r: r[1:],
    )
    return [row[0] for row in rows[:limit]]
