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
from leadapp.models import Account, Campaign, DialSettings, Lead, LeadPool, PoolAssignment
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
        plan.zones = dial_hours.open_zones(campaign, pool, at, zones)
        if not plan.zones and not fresh:
            # Nothing callable in the keys known: a lead reopened or added since may be in
            # a key not read yet, so read them again now rather than after ZONES_TTL.
            zones = pool_zones(pool, fresh=True)
            plan.zones = dial_hours.open_zones(campaign, pool, at, zones)
        plan.all_zones = zones
        if not zones:
            plan.why_not = "no lead left to dial"
        elif not plan.zones:
            plan.why_not = "outside calling hours or the pool's time range everywhere"
    return out


def eligible(plan: PoolPlan, settings: DialSettings, at, agent_id):
    """The lead conditions of one pool's branch (all but the zone)."""
    conditions = [
        Lead.pool_id == plan.pool.id,
        dialable(),
        Lead.next_call_at <= at,
        Lead.dial_attempts < settings.max_attempts,
        Lead.phone1.is_not(None),
        sa.or_(
            Lead.callback_at.is_(None),
            sa.and_(
                Lead.callback_at <= at,
                sa.or_(
                    Lead.callback_agent_id.is_(None),
                    Lead.callback_agent_id == (agent_id or 0),
                    Lead.callback_at <= at - CALLBACK_GRACE,
                ),
            ),
        ),
    ]
    if plan.released is not None:
        conditions.append(Lead.dial_order < plan.released)
    return conditions


def queue_order(settings: DialSettings):
    if settings.lead_order == "fewest_attempts":
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
    index; merged here."""
    order = queue_order(settings)
    skip = [Lead.id.not_in(sorted(exclude))] if exclude else []
    branches = []
    columns = (
        Lead.pool_id.label("p"),
        Lead.id.label("id"),
        *[c.label(f"k{i}") for i, c in enumerate(order)],
    )
    for plan in plans_:
        limit = limits.get(plan.pool.id, 0)
        conditions = (*eligible(plan, settings, at, agent_id), *skip) if limit > 0 else ()
        for zone in plan.zones if limit > 0 else ():
            branches.append(
                sa.select(*columns)
                .where(*conditions, zone_is(zone))
                .order_by(*order)
                .limit(limit)
                .subquery()
                .select()
            )
    out: dict[int, list[int]] = {p.pool.id: [] for p in plans_}
    if not branches:
        return out
    query = sa.union_all(*branches) if len(branches) > 1 else branches[0]
    rows = sorted(
        db.session.execute(query.execution_options(all_accounts=True)), key=lambda r: r[2:]
    )
    for row in rows:
        if len(out[row[0]]) < limits[row[0]]:
            out[row[0]].append(row[1])
    return out


def due_callbacks(plans_: list[PoolPlan], settings, at, agent_id, limit) -> list[int]:
    """Callbacks due at ``at`` in the campaign's open pools: the agent's own first, then the
    longest due (one statement; each pool's branch reads its callbacks index)."""
    mine = sa.case((Lead.callback_agent_id == (agent_id or 0), 0), else_=1)
    branches = []
    for plan in plans_:
        if not plan.zones:
            continue
        conditions = eligible(plan, settings, at, agent_id)
        if plan.released is not None:
            conditions = conditions[:-1]  # a callback was released when first called
        branches.append(
            sa.select(Lead.id.label("id"), mine.label("mine"), Lead.callback_at.label("due"))
            .where(
                *conditions,
                Lead.callback_at.is_not(None),
                sa.or_(*(zone_is(z) for z in plan.zones)),
            )
            .order_by(mine, Lead.callback_at)
            .limit(limit)
            .subquery()
            .select()
        )
    if not branches:
        return []
    query = sa.union_all(*branches) if len(branches) > 1 else branches[0]
    rows = sorted(
        db.session.execute(query.execution_options(all_accounts=True)), key=lambda r: r[1:]
    )
    return [row[0] for row in rows[:limit]]
