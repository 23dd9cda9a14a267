"""A pool's "Ready to dial": the leads the dial queue could hand out today apart from the
hour of day — every rule of ``dial_candidates.eligible`` but the campaign's calling hours
and the pool's time range. The grid, the pool page, its statistics, the API and
``flask pools stats`` all show this one figure.

At flat cost: the part that does not change with the clock is the pool's ready counter,
kept by deltas (``services.pool_counters``: open, not completed, not do-not-call, with a
phone, below the maximum attempts of the campaigns dialling it); the part that does —
leads leased or waiting out their recycle delay (``next_call_at`` in the future), and
callbacks not yet due — is subtracted by counts on indexes that hold only those recently
called leads (``ix_leads_pool_next_call``, ``ix_leads_callbacks``). The pool's schedule
applies: to dial in a campaign, active, inside its active dates (SQL, so the grid sorts by
it), its day offset passed; a pool with a day count counts the positions released today."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from leadapp.domain import pool_counters as rules
from leadapp.extensions import db
from leadapp.models import DialSettings, Lead, LeadPool, PoolAssignment, PoolBreakdown
from leadapp.models.lead import CALLED_SINCE
from leadapp.services import dial_hours
from leadapp.services.dial_candidates import dialable

READY_HELP = (
    "Eligible to be called today, apart from the hour: open, not completed, not on the "
    "do-not-call list, with a phone, below the campaign's maximum attempts, not leased, its "
    "recycle delay or callback time passed, in a pool dialled today (active dates, day "
    "offset, day count). Calling hours and the pool's time range decide the hour."
)


def active_today(today: dt.date):
    """The pool is switched on and inside its active dates on ``today``."""
    return sa.and_(
        LeadPool.status == "active",
        sa.or_(LeadPool.active_from.is_(None), LeadPool.active_from <= today),
        sa.or_(LeadPool.active_until.is_(None), LeadPool.active_until >= today),
    )


def to_dial_exists():
    return (
        sa.select(PoolAssignment.id)
        .where(PoolAssignment.pool_id == LeadPool.id, PoolAssignment.to_dial.is_(True))
        .exists()
    )


def _limit(pool_id=LeadPool.id):
    """The pool's maximum attempts (the most any campaign dialling it allows), in SQL."""
    most = (
        sa.select(
            sa.func.max(sa.func.coalesce(DialSettings.max_attempts, rules.DEFAULT_MAX_ATTEMPTS))
        )
        .select_from(PoolAssignment)
        .outerjoin(DialSettings, DialSettings.campaign_id == PoolAssignment.campaign_id)
        .where(PoolAssignment.pool_id == pool_id, PoolAssignment.to_dial.is_(True))
        .correlate(LeadPool)
        .scalar_subquery()
    )
    return sa.func.coalesce(most, rules.DEFAULT_MAX_ATTEMPTS)


def _counted(limit):
    """A lead the ready counter counts (``domain.pool_counters.is_ready``), in SQL."""
    return (dialable(), Lead.phone1.is_not(None), Lead.dial_attempts < limit)


def waiting(now: dt.datetime):
    """Of the pool's counted leads, those waiting for a time at ``now`` (naive UTC): leased
    or recycling, or with a callback not yet due. Two counts over the indexes of those
    leads alone (a SQL expression correlated to ``LeadPool``)."""
    limit = _limit()
    held = (
        sa.select(sa.func.count(Lead.id))
        .where(
            Lead.pool_id == LeadPool.id,
            *_counted(limit),
            sa.text(f"leads.{CALLED_SINCE}"),  # the index's own condition, as it is written
            Lead.next_call_at > now,
        )
        .correlate(LeadPool)
        .scalar_subquery()
    )
    called_back_later = (
        sa.select(sa.func.count(Lead.id))
        .where(
            Lead.pool_id == LeadPool.id,
            Lead.callback_at > now,
            Lead.next_call_at <= now,
            *_counted(limit),
        )
        .correlate(LeadPool)
        .scalar_subquery()
    )
    return held + called_back_later


def waiting_by_zone(pool_ids: list[int], now: dt.datetime) -> dict[tuple[int, str], int]:
    """Per (pool, zone key, '' for none): the counted leads waiting for a time at ``now``
    (as in ``waiting``), in one statement over the indexes of those leads alone."""
    counted = _counted(_limit())
    return _waiting_by_zone(pool_ids, counted, now, Lead.callback_at > now)


def _waiting_by_zone(pool_ids, counted, now, called_back) -> dict[tuple[int, str], int]:
    """Per (pool, zone key): the ``counted`` leads leased or recycling at ``now``, and those
    free of it but held by a callback (``called_back``), read on the indexes of those leads
    alone (``ix_leads_pool_next_call``, ``ix_leads_callbacks``)."""
    zone = sa.func.coalesce(Lead.zone_key, "")
    held = (
        sa.select(Lead.pool_id, zone.label("zone"), sa.func.count(Lead.id).label("n"))
        .join(LeadPool, LeadPool.id == Lead.pool_id)
        .where(
            Lead.pool_id.in_(pool_ids),
            *counted,
            sa.text(f"leads.{CALLED_SINCE}"),  # the index's own condition, as it is written
            Lead.next_call_at > now,
        )
        .group_by(Lead.pool_id, zone)
    )
    called_back_later = (
        sa.select(Lead.pool_id, zone.label("zone"), sa.func.count(Lead.id).label("n"))
        .join(LeadPool, LeadPool.id == Lead.pool_id)
        .where(Lead.pool_id.in_(pool_ids), called_back, Lead.next_call_at <= now, *counted)
        .group_by(Lead.pool_id, zone)
    )
    out: dict[tuple[int, str], int] = {}
    for pool_id, key, n in db.session.execute(sa.union_all(held, called_back_later)):
        out[(pool_id, key)] = out.get((pool_id, key), 0) + int(n)
    return out


def ready_shown(today: dt.date, now: dt.datetime):
    """The figure as a SQL expression on ``LeadPool`` (the grid sorts by it): the ready
    counter less the leads waiting at ``now`` while the pool is dialled, active and inside
    its active dates on ``today``, else 0. ``ready_now`` adds the day offset and day
    count."""
    return sa.case(
        (
            sa.and_(active_today(today), to_dial_exists()),
            LeadPool.ready_count - waiting(now),
        ),
        else_=0,
    )


def released_count(pool: LeadPool, released: int, now: dt.datetime, *also) -> int:
    """A pool with a day count: its counted leads among the positions released today that
    nothing holds at ``now`` (and that meet ``also``: "Callable now" adds the calling
    hours)."""
    limit = _limit(pool.id)
    query = sa.select(sa.func.count(Lead.id)).where(
        Lead.pool_id == pool.id,
        *_counted(limit),
        Lead.dial_order < released,
        Lead.next_call_at <= now,
        sa.or_(Lead.callback_at.is_(None), Lead.callback_at <= now),
        *also,
    )
    return int(db.session.scalar(query.execution_options(all_accounts=True)) or 0)


def ready_now(pools: list[LeadPool], today: dt.date, now: dt.datetime) -> dict[int, int]:
    """Per pool: ready to dial on ``today`` apart from the hour, at ``now`` (naive UTC) —
    what the queue could hand out today were every hour open."""
    if not pools:
        return {}
    shown = dict(
        db.session.execute(
            sa.select(LeadPool.id, ready_shown(today, now))
            .where(LeadPool.id.in_([p.id for p in pools]))
            .execution_options(all_accounts=True)
        ).all()
    )
    out = {}
    for pool in pools:
        figure = max(int(shown.get(pool.id) or 0), 0)
        if figure and dial_hours.pool_closed(pool, today):
            figure = 0  # its day offset holds it (the rest is in ``ready_shown``)
        if figure:
            released = dial_hours.released(pool, today)
            if released is not None:
                figure = released_count(pool, released, now)
        out[pool.id] = figure
    return out


def ready_one(pool: LeadPool, today: dt.date, now: dt.datetime) -> int:
    return ready_now([pool], today, now)[pool.id]


def eligible_by_zone(
    pool_ids: list[int], max_attempts: int, at: dt.datetime, grace_at: dt.datetime
) -> dict[tuple[int, str], int] | None:
    """Per (pool, zone key, '' for none): the leads ``dial_candidates.eligible`` lets any
    agent have at ``at`` (naive UTC) under a campaign's ``max_attempts`` — the pools'
    schedules and day counts apart — at a cost that does not grow with the pools: the
    stored "ready_attempts" breakdowns below ``max_attempts``, less the counted leads that
    wait (leased or recycling; a callback not yet due; another agent's callback due since
    ``grace_at``), read on the indexes that hold only those (``ix_leads_pool_next_call``,
    ``ix_leads_callbacks``: leads called recently or given a callback, not the pool).
    None when a pool's counters use a lower limit than ``max_attempts`` (they do not count
    the leads between): the caller counts."""
    if not pool_ids:
        return {}
    from leadapp.services.pool_counters import attempt_limits

    limits = attempt_limits(db.session.connection(), pool_ids)
    if any(limits.get(p, rules.DEFAULT_MAX_ATTEMPTS) < max_attempts for p in pool_ids):
        return None
    out: dict[tuple[int, str], int] = {}
    stored = db.session.execute(
        sa.select(PoolBreakdown.pool_id, PoolBreakdown.key, PoolBreakdown.leads)
        .where(PoolBreakdown.pool_id.in_(pool_ids), PoolBreakdown.kind == "ready_attempts")
        .execution_options(all_accounts=True)
    )
    for pool_id, key, n in stored:
        attempts, zone = rules.parse_attempts_key(key)
        if attempts < max_attempts:
            out[(pool_id, zone)] = out.get((pool_id, zone), 0) + int(n)
    counted = (dialable(), Lead.phone1.is_not(None), Lead.dial_attempts < max_attempts)
    # Free of a lease and recycle delay, but held by a callback: not due yet, or another
    # agent's due within the grace period (``dial_candidates.eligible``, for no agent).
    called_back = sa.and_(
        Lead.callback_at > grace_at,
        sa.or_(Lead.callback_at > at, Lead.callback_agent_id.is_not(None)),
    )
    for where, n in _waiting_by_zone(pool_ids, counted, at, called_back).items():
        out[where] = out.get(where, 0) - n
    return out
