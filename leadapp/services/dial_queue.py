"""The dial queue (VICIdial's hopper, issue 18): who does the campaign call next?

A lead is **eligible** when its pool is to dial in the campaign, active, inside its active
dates (the account's day), past its day offset, its own day (from the day count) has come
and the lead's local time is inside the pool's time range (``domain.pool_schedule``); the
lead is open, not completed, not do-not-call; not leased; inside the campaign's calling
hours in its local time; under the campaign's maximum attempts; and the recycle delay of
its last outcome has passed (``dial_settings``). A callback waits for its time, and while it
is due the agent who set it gets it first (to anyone else only ``CALLBACK_GRACE`` later).

**Order:** due callbacks (the asking agent's own first), then pool priority (higher first),
then the campaign's weights interleaved (``domain.dial_mix``), then within a pool its dial
order (or fewest attempts first, a campaign setting).

**Leases:** a lead handed out is leased for the campaign's lease length; its next callable
time becomes the lease's end, so the queue's index skips it until an outcome is recorded,
it is released or the lease expires. PostgreSQL: candidates are locked ``FOR UPDATE SKIP
LOCKED`` (callers at the same moment never wait for nor share a lead); SQLite: the choice
is one short write transaction (``write_lock.take``), so callers take turns. And at most one open
lease per lead is a unique index: the database refuses a second in any case.

Selection reads the partial indexes of ``Lead`` per (pool, zone key) with LIMIT: its cost
follows the leads handed out, not the campaign's size.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from leadapp import write_lock
from leadapp.domain import dial_mix
from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    DialLease,
    DialSettings,
    Lead,
    LeadPool,
    User,
)
from leadapp.models.base import utcnow
from leadapp.services import dial_hours
from leadapp.services.dial_candidates import (
    PoolPlan,
    candidates,
    dialable,
    due_callbacks,
    lease_running,
    local_time,
    plans,
    pool_zones,
    queue_order,
    zone_of,
)
from leadapp.services.dial_settings import settings_for

COUNT_MAX = 100
# Candidates read per pool beyond those needed: callers at the same moment skip each
# other's locked rows, so a few more than asked are read.
SLACK = 24


class DialError(ValueError):
    """A request the queue refuses; the message is one sentence for people."""


@dataclass
class Handed:
    lead: Lead
    lease: DialLease
    pool: LeadPool
    reason: str
    zone: str
    local_time: dt.datetime


def _slots(settings: DialSettings, count: int) -> list[int]:
    """``count`` turns of the campaign's weighted sequence, never the same for two callers:
    on PostgreSQL from the ``dial_mix_slots`` sequence (``nextval`` never waits; shared by
    the campaigns, so a campaign's turns are contiguous while it dials alone and spread
    evenly otherwise); on SQLite, where callers take turns, from the campaign's counter."""
    if count <= 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        return list(
            db.session.scalars(
                sa.select(sa.func.nextval("dial_mix_slots")).select_from(
                    sa.func.generate_series(1, count)
                )
            )
        )
    start = settings.mix_position or 0
    settings.mix_position = start + count
    return list(range(start, start + count))


def _lock(
    ids: list[int], at, locked_leads: dict, limit: int | None = None, order=None
) -> list[int]:
    """The first ``limit`` of the leads ``ids`` still free (in ``order``), locked for this
    transaction. PostgreSQL skips the rows another caller holds (``SKIP LOCKED``: it locks
    the next free ones instead) and re-reads the rest (a lead leased meanwhile is gone). A
    lease still running on the real clock holds its lead whatever ``at`` says. The leads
    locked are read whole into ``locked_leads`` ({id: (lead, whether it has a lease left
    open past its end)}): the lease is written from them, with no second read."""
    if not ids:
        return []
    query = sa.select(Lead, lease_running()).where(
        Lead.id.in_(ids), Lead.next_call_at <= at, dialable(), ~lease_running(utcnow())
    )
    if order is not None:
        query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Lead)
    rows = db.session.execute(query.execution_options(all_accounts=True)).all()
    locked_leads.update((lead.id, (lead, stale)) for lead, stale in rows)
    return [lead.id for lead, _stale in rows]


def _fill(
    need: Counter, by_pool, at, seen: set[int], refill, order, locked_leads
) -> dict[int, list[int]]:
    """Lock ``need[pool]`` leads of each pool, the first free of its candidates in queue
    order; when another caller holds them all, the pool's next candidates are read."""
    got: dict[int, list[int]] = {pool_id: [] for pool_id in need}
    for pool_id, n in need.items():
        plan = by_pool[pool_id]
        for _round in range(6):
            missing = n - len(got[pool_id])
            if missing <= 0:
                break
            if len(plan.candidates) < missing:
                refill(plan, missing)
            if not plan.candidates:
                break
            ids, plan.candidates = plan.candidates, []
            seen.update(ids)
            locked = _lock(ids, at, locked_leads, missing, order)
            got[pool_id] += locked
            # What was not locked stays a candidate only if it was not read past.
            held = set(locked)
            if len(locked) < missing:
                continue
            last = ids.index(locked[-1]) if locked else -1
            plan.candidates = [i for i in ids[last + 1 :] if i not in held]
            seen.difference_update(plan.candidates)
    return got


def _agent(campaign: Campaign, email: str | None) -> User | None:
    if email is None:
        return None
    agent = db.session.scalar(
        sa.select(User).where(
            User.email == email.strip().lower(), User.account_id == campaign.account_id
        )
    )
    if agent is None:
        raise DialError(f"There is no user {email.strip()[:254]} in this account.")
    return agent


def next_leads(
    campaign: Campaign,
    count: int,
    *,
    agent_email: str | None = None,
    at: dt.datetime | None = None,
    settings: DialSettings | None = None,
) -> list[Handed]:
    """Lease the campaign's next ``count`` leads (see the module's rule). ``at`` (naive UTC,
    default now) is the clock for hours, callbacks and recycling; the leases are real: they
    last the lease length from now (or from ``at`` when it is later). ``settings``: the
    campaign's dial settings when the caller read them already."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= COUNT_MAX:
        raise DialError(f"Ask for 1 to {COUNT_MAX} leads at a time.")
    agent = _agent(campaign, agent_email)
    agent_id = agent.id if agent else None
    # SQLite: the whole choice is one short write transaction (callers take turns and each
    # reads what the one before it leased); PostgreSQL: row locks below.
    write_lock.take(db.session.connection())
    now = utcnow()
    at = at or now
    if settings is None or settings.campaign_id != campaign.id:
        settings = settings_for(campaign)
    fresh = False
    plans_ = plans(campaign, at, fresh)
    chosen: list[tuple[int, PoolPlan, str]] = []
    taken: set[int] = set()
    by_pool = {p.pool.id: p for p in plans_}
    locked_leads: dict[int, tuple[Lead, bool]] = {}

    callbacks = due_callbacks(plans_, settings, at, agent_id, count)
    if callbacks:
        free = set(_lock(callbacks, at, locked_leads))
        for lead_id in callbacks:
            if lead_id in free:
                chosen.append((lead_id, by_pool[locked_leads[lead_id][0].pool_id], "callback"))
                taken.add(lead_id)

    want = count - len(chosen)
    live = [p for p in plans_ if p.zones]
    weights = {
        p.pool.id: (p.pool.priority, p.assignment.weight if campaign.weighting else 1) for p in live
    }
    seen = set(taken)

    def refill(plan: PoolPlan, n: int) -> None:
        found = candidates([plan], settings, at, agent_id, {plan.pool.id: n * 2 + SLACK}, seen)
        plan.candidates = [i for i in found[plan.pool.id] if i not in seen]

    limit = want * 2 + SLACK
    found = candidates(live, settings, at, agent_id, {p.pool.id: limit for p in live}, seen)
    for plan in live:
        plan.candidates = found[plan.pool.id]
        if len(plan.candidates) < limit and not fresh:
            # Short: perhaps leads in a zone key not seen yet. Look once more.
            plan.zones = dial_hours.open_zones(campaign, plan.pool, at, pool_zones(plan.pool, True))
            refill(plan, want)
    # The weighted turns first; a second pass shares what a pool could not give (its
    # leads all taken by callers at the same moment) among the others.
    for _pass in range(2):
        available = {p.pool.id: len(p.candidates) for p in live}
        if want <= 0 or not any(available.values()):
            break
        order = []
        for slot in _slots(settings, want):
            turn = dial_mix.choose(weights, slot, 1, available)
            if not turn:
                break
            order.append(turn[0])
            available[turn[0]] -= 1
        got = _fill(Counter(order), by_pool, at, seen, refill, queue_order(settings), locked_leads)
        turns = {pool_id: iter(ids) for pool_id, ids in got.items()}
        for pool_id in order:
            lead_id = next(turns[pool_id], None)
            if lead_id is not None:
                chosen.append((lead_id, by_pool[pool_id], "weighted"))
        want = count - len(chosen)
    handed = _lease(campaign, settings, chosen, agent_id, at, now, locked_leads)
    return handed


def _lease(campaign, settings, chosen, agent_id, at, now, locked_leads) -> list[Handed]:
    if not chosen:
        return []
    ids = [lead_id for lead_id, _p, _r in chosen]
    leads = {lead_id: locked_leads[lead_id][0] for lead_id in ids}
    expires = now + dt.timedelta(minutes=settings.lease_minutes)
    # A lease left open past its end (nobody released it) ends now: the lead is free again.
    # (The clock is read again: any lease the lock found over is over here too.) Only a
    # lead the lock saw with one: its row is locked, so no lease is opened on it meanwhile.
    stale = [lead_id for lead_id in ids if locked_leads[lead_id][1]]
    if stale:
        db.session.execute(
            sa.update(DialLease)
            .where(
                DialLease.lead_id.in_(stale),
                DialLease.ended_at.is_(None),
                DialLease.expires_at <= utcnow(),
            )
            .values(ended_at=now, end_reason="expired")
            .execution_options(synchronize_session=False)
        )
    try:
        with db.session.begin_nested():
            return _add_leases(campaign, chosen, leads, agent_id, at, now, expires)
    except sa.exc.IntegrityError:
        # Another caller leased one of these leads at the same instant (possible only when
        # ``at`` runs ahead of the real clock): the unique open-lease index refused it.
        return []


def _add_leases(campaign, chosen, leads, agent_id, at, now, expires):
    """The leases (one INSERT … RETURNING, the leases as the session's objects) and the
    leads' next callable time (one UPDATE): statements, not a flush of the unit of work,
    which cost more CPU than both. No counter reads ``next_call_at`` (the pools' counters
    move with other columns, ``services.pool_counters``)."""
    rows = [
        {
            "account_id": campaign.account_id,
            "lead_id": lead_id,
            "campaign_id": campaign.id,
            "pool_id": plan.pool.id,
            "agent_id": agent_id,
            "reason": reason,
            "leased_at": now,
            "expires_at": expires,
            "previous_next_call_at": leads[lead_id].next_call_at,
        }
        for lead_id, plan, reason in chosen
    ]
    connection = db.session.connection()
    table = DialLease.__table__
    ids = connection.execute(
        table.insert().returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    leases = []
    for row, lease_id in zip(rows, ids, strict=True):
        lease = DialLease(id=lease_id, ended_at=None, end_reason=None, **row)
        make_transient_to_detached(lease)
        db.session.add(lease)  # the session's, as written
        leases.append(lease)
    connection.execute(
        Lead.__table__.update()
        .where(Lead.__table__.c.id.in_([row["lead_id"] for row in rows]))
        # Blocked until the lease's end on the real clock, whatever ``at`` says: asks ahead
        # of the real clock skip leads whose lease runs (``lease_running``), so a planner's
        # ask a day ahead does not keep the lead from real dialers for that day.
        .values(next_call_at=expires, updated_at=now)
    )
    for row in rows:
        set_committed_value(leads[row["lead_id"]], "next_call_at", expires)
        set_committed_value(leads[row["lead_id"]], "updated_at", now)
    out = []
    for (lead_id, plan, reason), lease in zip(chosen, leases, strict=True):
        lead = leads[lead_id]
        zone = zone_of(lead, campaign)
        out.append(Handed(lead, lease, plan.pool, reason, zone, local_time(at, zone)))
    return out


def release(lease: DialLease) -> bool:
    """Give a leased lead back to the queue at once; False when the lease had ended — by
    an outcome, a release, or by running out (a lease past its end that nobody closed is
    closed now as expired: the lead was free again already)."""
    write_lock.take(db.session.connection())
    db.session.refresh(lease)
    if lease.ended_at is not None:
        return False
    now = utcnow()
    if lease.expires_at <= now:
        lease.ended_at = now
        lease.end_reason = "expired"
        db.session.flush()
        return False
    lease.ended_at = now
    lease.end_reason = "released"
    lead = db.session.get(Lead, lease.lead_id)
    if lead is not None and lead.next_call_at >= lease.expires_at:
        lead.next_call_at = lease.previous_next_call_at or now
    db.session.flush()
    return True
