"""The Lead Deduplicator: find duplicate leads in a scope, keep one golden record per group,
move every other copy to the account's system Inactive pool, and undo a run.

Counting (DESIGN.md §7): ``total`` = every lead in scope (a lead without the match key
cannot be a duplicate, but it is still a lead), ``duplicates`` = leads that would move,
``after = total - duplicates``.

Duplicates are found by one window-function query (``ROW_NUMBER() OVER (PARTITION BY
key ORDER BY keep rule)``) when every standard key must be equal; chains (A shares a number
with B, B an email with C: any phone, or any of several keys) and custom fields are found
with pandas (``dedup_groups``). A run first writes
its whole plan (one ``DedupMove`` per lead to move, golden-record changes), then carries the
moves out in batches, each one transaction; a killed run resumes from the plan, so no lead
is moved twice, and a run that fails puts back what it had moved.

Sibling modules: ``dedup_settings`` (a job's settings, ``DedupError``), ``dedup_golden``
(why a golden record was kept, what it inherits), ``dedup_results`` (undo, the report),
``dedup_schedule`` (scheduling, claiming a run); their public names are re-exported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
from flask import current_app

from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    DedupJob,
    DedupMove,
    Lead,
    LeadPool,
    PoolAssignment,
)
from leadapp.models.base import utcnow
from leadapp.services import dedup_golden, dedup_groups, pool_counters
from leadapp.services.accounts import INACTIVE_POOL_NAME
from leadapp.services.dedup_groups import (
    _in_scope,
    _key_columns,
    uses_groups,
)
from leadapp.services.dedup_results import (  # noqa: F401 (re-exported)
    moved_through,
    refresh_pools,
    report,
    restore,
    undo,
)
from leadapp.services.dedup_schedule import (  # noqa: F401 (re-exported)
    MAX_DAYS_AHEAD,
    claim_for_run,
    hand_over,
    last_schedulable_day,
    schedule,
    scheduled_job,
    unschedule,
)
from leadapp.services.dedup_settings import (  # noqa: F401 (re-exported)
    MATCH_KEYS,
    RULE_WORDS,
    DedupError,
    DedupSettings,
)
from leadapp.services.transactions import retrying

SCOPE_LIMIT = 250_000  # leads in a job's scope, unless the DEDUP_SCOPE_LIMIT setting says
Progress = Callable[[float, str], None]


# --- scope ---------------------------------------------------------------------------------


def scope_limit() -> int:
    """The most leads a job's scope may hold: the app's ``DEDUP_SCOPE_LIMIT`` when set (a
    benchmark raises it), else ``SCOPE_LIMIT``."""
    return current_app.config.get("DEDUP_SCOPE_LIMIT") or SCOPE_LIMIT


def inactive_pool() -> LeadPool:
    pool = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
    if pool is None:
        raise DedupError(
            f"The account has no system '{INACTIVE_POOL_NAME}' pool to move duplicates to; "
            "ask your administrator to recreate it."
        )
    return pool


def scope_pool_ids(settings: DedupSettings) -> list[int]:
    """The pools a job looks at; the system Inactive pool is never in scope."""
    query = sa.select(LeadPool.id).where(LeadPool.is_system.is_(False))
    targets = settings.targets
    if settings.scope == "list":
        query = query.where(LeadPool.id.in_([int(t) for t in targets]))
    elif settings.scope in ("campaign", "purpose"):
        campaigns = sa.select(Campaign.id)
        campaigns = (
            campaigns.where(Campaign.id.in_([int(t) for t in targets]))
            if settings.scope == "campaign"
            else campaigns.where(Campaign.purpose.in_([str(t) for t in targets]))
        )
        query = query.where(
            LeadPool.id.in_(
                sa.select(PoolAssignment.pool_id).where(PoolAssignment.campaign_id.in_(campaigns))
            )
        )
    return list(db.session.scalars(query))


def count_in_scope(settings: DedupSettings) -> int:
    pool_ids = scope_pool_ids(settings)
    if not pool_ids:
        return 0
    return db.session.scalar(sa.select(sa.func.count(Lead.id)).where(_in_scope(pool_ids)))


def check_limit(settings: DedupSettings) -> list[int]:
    """The scope's pool ids, or a refusal when the scope holds more than ``scope_limit()``
    leads."""
    return _checked_scope(settings)[0]


def _checked_scope(settings: DedupSettings, locked: bool = False) -> tuple[list[int], int]:
    """The scope's pool ids and its lead count (the run's total); a refusal when the scope
    holds more than ``scope_limit()`` leads. ``locked``: a saved job's, whose scope cannot be
    changed once tested — the refusal then says what can be done instead."""
    pool_ids = scope_pool_ids(settings)
    if not pool_ids:
        return pool_ids, 0
    count = db.session.scalar(sa.select(sa.func.count(Lead.id)).where(_in_scope(pool_ids)))
    limit = scope_limit()
    if count > limit:
        over = f"The lead scope now holds {count:,} leads, over the limit of {limit:,}"
        if locked:
            raise DedupError(
                f"{over}, so nothing was moved. This job's scope cannot be changed after its "
                "test run: make a new dedup job over fewer campaigns or pools, or move leads "
                "out of these pools first."
            )
        raise DedupError(f"{over}; choose fewer campaigns or pools. Nothing was moved.")
    return pool_ids, int(count)


# --- finding duplicates ----------------------------------------------------------------------


def _keep_order(rule: str) -> list:
    """The ORDER BY of the keep rule; the first row of each group is the golden record.

    Same order as ``leadapp.domain.duplicates.choose_golden``: rule, then newest created,
    then lowest id."""
    order = []
    if rule == "inbound":
        order.append(sa.case((Lead.source == "inbound", 0), else_=1))
    if rule == "latest-called":
        order.append(Lead.last_called_at.desc().nulls_last())
    return [*order, Lead.created_at.desc(), Lead.id]


def _ranked(settings: DedupSettings, pool_ids: list[int], *carried):
    """The leads in scope ranked within their duplicate group (1: the golden record), with
    the columns ``carried`` along (the plan's copy state) and what the golden record's
    choice rests on (for ``dedup_golden.ranked_reason``)."""
    keys = _key_columns(settings.match_keys)
    order = _keep_order(settings.keep_rule)
    key_text = functools.reduce(lambda a, b: a.concat(" | ").concat(b), keys)

    def first(column):
        return sa.func.first_value(column).over(partition_by=keys, order_by=order)

    return (
        sa.select(
            Lead.id.label("lead_id"),
            Lead.pool_id,
            Lead.status,
            Lead.source,
            Lead.last_called_at.label("called_at"),
            *carried,
            key_text.label("match_key"),
            sa.func.row_number().over(partition_by=keys, order_by=order).label("rn"),
            # Rank without the id: 1 for every lead tied with the golden record on the rule
            # and the creation time (the lowest id decided between them).
            sa.func.rank().over(partition_by=keys, order_by=order[:-1]).label("rk"),
            first(Lead.id).label("golden"),
            first(Lead.last_called_at).label("golden_called"),
            first(sa.case((Lead.source == "inbound", 1), else_=0)).label("golden_inbound"),
        )
        .where(_in_scope(pool_ids), *[k.is_not(None) for k in keys])
        .subquery("ranked")
    )


def _moving(ranked, settings: DedupSettings):
    cond = ranked.c.rn > 1
    if settings.retain_inbound:
        cond = sa.and_(cond, ranked.c.source != "inbound")
    return cond


def count(settings: DedupSettings, pool_ids: list[int] | None = None, locked: bool = False) -> dict:
    """The test run's figures, changing nothing: total, duplicates, after (``locked``: a
    saved job's settings, see ``_checked_scope``)."""
    settings.check()
    if pool_ids is None:
        pool_ids, total = _checked_scope(settings, locked)
    else:
        total = db.session.scalar(sa.select(sa.func.count(Lead.id)).where(_in_scope(pool_ids)))
    if not pool_ids:
        return _figures(0, 0)
    if uses_groups(settings):
        duplicates = len(dedup_groups.moves(settings, dedup_groups.groups(settings, pool_ids)))
    else:
        ranked = _ranked(settings, pool_ids)
        duplicates = db.session.scalar(
            sa.select(
                sa.func.coalesce(sa.func.sum(sa.case((_moving(ranked, settings), 1), else_=0)), 0)
            ).select_from(ranked)
        )
    return _figures(total, duplicates)


def _figures(total: int, duplicates: int) -> dict:
    return {"total": int(total), "duplicates": int(duplicates), "after": int(total - duplicates)}


# --- the run -------------------------------------------------------------------------------


def test_run(job: DedupJob) -> dict:
    """Compute the projected counts of ``job`` and store them; nothing else changes."""
    figures = count(DedupSettings.of(job), locked=True)
    job.test_results = {**figures, "completed_at": utcnow().isoformat(timespec="seconds")}
    job.tested_at = utcnow()
    db.session.flush()
    return figures


def plan(job: DedupJob) -> dict:
    """Write the run's plan: one ``DedupMove`` per lead to move (carried out later, in
    batches) and the golden records' inherited state. Returns the counts. Raises
    ``DedupError`` when the scope is over the limit (nothing written)."""
    settings = DedupSettings.of(job)
    phones = uses_groups(settings)
    pool_ids, total = _checked_scope(settings, locked=True)
    if not pool_ids:
        return _figures(0, 0)
    joiner = " | " if settings.several and settings.match_mode == "any" else " + "
    matched_on = joiner.join(settings.match_keys)[:120]
    now = utcnow()
    columns = [
        "account_id",
        "dedup_job_id",
        "lead_id",
        "golden_lead_id",
        "from_pool_id",
        "from_status",
        "from_do_not_call",
        "from_call_count",
        "from_last_called_at",
        "from_completed",
        "from_callback_at",
        "match_key",
        "matched_on",
        "reason",
        "moved_at",
    ]
    if phones:
        leads = dedup_groups.groups(settings, pool_ids)
        moves = dedup_groups.moves(settings, leads)
        figures = _figures(total, len(moves))
        if moves.empty:
            return figures
        db.session.execute(
            sa.insert(DedupMove),
            [
                dict(
                    zip(
                        columns,
                        (
                            job.account_id,
                            job.id,
                            int(r.id),
                            int(r.golden_id),
                            int(r.pool_id),
                            r.status,
                            bool(r.do_not_call),
                            int(r.call_count or 0),
                            _when(r.last_called_at),
                            bool(r.completed),
                            _when(r.callback_at),
                            r.match_key if isinstance(r.match_key, str) else None,
                            matched_on,
                            r.reason,
                            now,
                        ),
                        strict=True,
                    )
                )
                for r in moves.sort_values("id").itertuples()
            ],
        )
    else:
        # The window query runs once: the moves are written from it, and its count is the
        # number of duplicates; the total came with the scope's count.
        ranked = _ranked(
            settings,
            pool_ids,
            Lead.do_not_call,
            Lead.call_count,
            Lead.last_called_at,
            Lead.completed,
            Lead.callback_at,
        )
        reason = dedup_golden.ranked_reason(
            settings.keep_rule,
            ranked.c.called_at,
            ranked.c.source,
            ranked.c.golden_called,
            ranked.c.golden_inbound,
            ranked.c.rk,
        )
        duplicates = db.session.execute(
            sa.insert(DedupMove.__table__).from_select(
                columns,
                sa.select(
                    sa.literal(job.account_id),
                    sa.literal(job.id),
                    ranked.c.lead_id,
                    ranked.c.golden,
                    ranked.c.pool_id,
                    ranked.c.status,
                    ranked.c.do_not_call,
                    ranked.c.call_count,
                    ranked.c.last_called_at,
                    ranked.c.completed,
                    ranked.c.callback_at,
                    sa.func.substr(ranked.c.match_key, 1, 254),
                    sa.literal(matched_on),
                    reason,
                    sa.literal(now, sa.DateTime),
                )
                .where(_moving(ranked, settings))
                .order_by(ranked.c.lead_id),
            ),
            execution_options={"preserve_rowcount": True},  # SQLAlchemy 2.1 drops it otherwise
        ).rowcount
        figures = _figures(total, duplicates)
        if not duplicates:
            return figures
    dedup_golden.inherit(job)
    db.session.flush()
    return figures


def _when(value):
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def planned(job: DedupJob) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.func.count(DedupMove.id)).where(DedupMove.dedup_job_id == job.id)
        )
    )


def move_next_batch(job: DedupJob, target: LeadPool, size: int, from_pools: list[int]) -> int:
    """Carry out the next ``size`` planned moves: the leads go to ``target`` as inactive,
    the job remembers how far it got, and the counters and breakdowns of ``target`` and
    ``from_pools`` (the plan's pools) move by what the batch's leads took out of their pools
    and bring to ``target`` (``pool_counters.set_deltas``: a read of the batch's leads
    alone, not of the pools). Returns how many; the caller commits (one transaction per
    batch: the moves, their checkpoint and the counters together)."""
    done = moved_through(job)
    next_ids = (
        sa.select(DedupMove.id)
        .where(DedupMove.dedup_job_id == job.id, DedupMove.id > done)
        .order_by(DedupMove.id)
        .limit(size)
        .subquery()
    )
    count, last = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(next_ids.c.id)).select_from(next_ids)
    ).one()
    if not count:
        return 0
    batch = sa.and_(DedupMove.dedup_job_id == job.id, DedupMove.id > done, DedupMove.id <= last)
    moved = {"pool_id": target.id, "status": "inactive"}
    shift = pool_counters.set_deltas(
        (Lead.__table__.c.id == DedupMove.lead_id, batch), moved, [target.id, *from_pools]
    )
    db.session.execute(
        # A join, not IN (subquery): a plan names each lead once, so there is nothing to
        # make unique first.
        sa.update(Lead)
        .where(Lead.id == DedupMove.lead_id, batch)
        .values(**moved, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    job.results = {**(job.results or {}), "moved_through": last}
    pool_counters.move(*shift)
    return count


def run(job: DedupJob, progress: Progress | None = None) -> dict:
    """Run ``job`` now: plan (unless a killed run left a plan), then move in batches, each
    committed. On an error, what was moved is put back before the error propagates."""
    progress = progress or (lambda *_: None)
    target = inactive_pool()
    if planned(job):
        figures = dict((job.results or {}).get("planned") or {})
    else:
        progress(5, "Finding duplicates")
        figures = plan(job)
        job.target_pool_id = target.id
        job.results = {"planned": figures, "moved_through": 0}
        db.session.commit()
    todo = figures.get("duplicates", 0)
    size = current_app.config.get("DEDUP_BATCH_LEADS", 20_000)
    from_pools = list(
        db.session.scalars(
            sa.select(DedupMove.from_pool_id).where(DedupMove.dedup_job_id == job.id).distinct()
        )
    )
    moved = _moved_count(job)  # more than 0 when a killed run is resumed

    def one_batch() -> int:
        count = move_next_batch(job, target, size, from_pools)
        db.session.commit()  # the moves and their checkpoint, together
        return count

    try:
        while count := retrying(one_batch):
            moved += count
            progress(10 + 85 * moved / max(todo, 1), f"Moved {moved:,} of {todo:,} duplicates")
    except Exception:
        db.session.rollback()
        restore(job, only_moved_by_run=True)
        db.session.commit()
        raise
    # One full recount of the run's pools at its end (each batch moved their counters by
    # deltas): it also puts right counters that were off before the run.
    refresh_pools([target.id, *from_pools, *dedup_golden.golden_pool_ids(job)])
    result = {**figures, "moved": _moved_count(job), "job_id": job.id}
    job.results = {**(job.results or {}), **result}
    job.status = "completed"
    job.completed_at = utcnow()
    job.error = None
    db.session.flush()
    return result


def _moved_count(job: DedupJob) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(DedupMove.id)).where(
            DedupMove.dedup_job_id == job.id,
            DedupMove.id <= moved_through(job),
            DedupMove.undone_at.is_(None),
        )
    )
