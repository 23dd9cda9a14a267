"""What a Lead Deduplicator run leaves behind: undo (``restore``) and the report of its
duplicate groups. Undo is set-based; leads changed since the run are listed, untouched."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import DedupGoldenChange, DedupJob, DedupMove, Lead, LeadPool
from leadapp.models.base import utcnow
from leadapp.services import dedup_golden
from leadapp.services import pools as pool_service
from leadapp.services.dedup_settings import DedupError


def moved_through(job: DedupJob) -> int:
    """The id of the last planned move carried out (0: none yet)."""
    return int((job.results or {}).get("moved_through") or 0)


def refresh_pools(pool_ids) -> None:
    ids = {p for p in pool_ids if p is not None}
    if ids:
        pool_service.refresh_counts(
            list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(ids))))
        )


def restore(job: DedupJob, only_moved_by_run: bool = False) -> dict:
    """Undo ``job``: every moved lead goes back to its pool and status, and golden records
    get their values back — unless the lead was changed since the run, or the pool it came
    from was deleted; those are listed, untouched. Set-based.

    ``only_moved_by_run`` is the failure path of a run: put back what it moved and forget
    the plan, so the job can be run again."""
    done = moved_through(job)
    moved = sa.and_(
        DedupMove.dedup_job_id == job.id,
        DedupMove.id <= done,
        DedupMove.undone_at.is_(None),
        Lead.id == DedupMove.lead_id,
    )
    untouched = sa.and_(
        Lead.pool_id == job.target_pool_id,
        Lead.status == "inactive",
        # A pool deleted since: its leads stay where they are, listed with the changed.
        sa.exists().where(LeadPool.id == DedupMove.from_pool_id),
    )
    if not only_moved_by_run and job.completed_at is not None:
        untouched = sa.and_(untouched, Lead.updated_at <= job.completed_at)
    changed = list(
        db.session.scalars(sa.select(Lead.id).where(moved, sa.not_(untouched)).order_by(Lead.id))
    )
    pools = set(db.session.scalars(sa.select(DedupMove.from_pool_id).where(moved).distinct()))
    now = utcnow()
    restored_ids = sa.select(Lead.id).where(moved, untouched).scalar_subquery()
    db.session.execute(
        sa.update(DedupMove)
        .where(DedupMove.dedup_job_id == job.id, DedupMove.lead_id.in_(restored_ids))
        .values(undone_at=now)
        .execution_options(synchronize_session=False)
    )
    restored = db.session.execute(
        sa.update(Lead)
        .where(
            Lead.id == DedupMove.lead_id,
            DedupMove.dedup_job_id == job.id,
            DedupMove.undone_at == now,
            untouched,
        )
        .values(pool_id=DedupMove.from_pool_id, status=DedupMove.from_status, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount

    change = DedupGoldenChange
    of_job = sa.and_(change.dedup_job_id == job.id, Lead.id == change.lead_id)
    as_left = dedup_golden.as_left(change)
    if only_moved_by_run:
        as_left = sa.true()
    golden_changed = list(
        db.session.scalars(sa.select(Lead.id).where(of_job, sa.not_(as_left)).order_by(Lead.id))
    )
    pools |= set(db.session.scalars(sa.select(Lead.pool_id).where(of_job).distinct()))
    db.session.execute(
        sa.update(Lead)
        .where(of_job, as_left)
        .values(**dedup_golden.put_back_values(change))
        .execution_options(synchronize_session=False)
    )
    if only_moved_by_run:
        db.session.execute(sa.delete(change).where(change.dedup_job_id == job.id))
        db.session.execute(sa.delete(DedupMove).where(DedupMove.dedup_job_id == job.id))
        job.results = {}
    db.session.flush()
    db.session.expire_all()
    refresh_pools([*pools, job.target_pool_id])
    return {"restored": restored, "changed_since": changed, "golden_changed_since": golden_changed}


def undo(job: DedupJob) -> dict:
    """An admin's undo of a completed run (see ``restore``)."""
    if job.status != "completed":
        raise DedupError("Only a completed run can be undone.")
    result = restore(job)
    job.status = "undone"
    job.results = {**(job.results or {}), "undo": result}
    db.session.flush()
    return result


def report(job: DedupJob) -> pd.DataFrame:
    """Every duplicate group of a run: golden record, moved leads, key and rule."""
    golden = sa.orm.aliased(Lead)
    moved = sa.orm.aliased(Lead)
    rows = db.session.execute(
        sa.select(
            DedupMove.golden_lead_id,
            golden.first_name,
            golden.last_name,
            golden.phone1,
            DedupMove.lead_id,
            moved.first_name,
            moved.last_name,
            moved.phone1,
            DedupMove.from_pool_id,
            LeadPool.name,
            DedupMove.matched_on,
            DedupMove.match_key,
            DedupMove.reason,
            DedupMove.moved_at,
            DedupMove.undone_at,
        )
        .outerjoin(moved, moved.id == DedupMove.lead_id)
        .outerjoin(golden, golden.id == DedupMove.golden_lead_id)
        .outerjoin(LeadPool, LeadPool.id == DedupMove.from_pool_id)
        .where(DedupMove.dedup_job_id == job.id)
        .order_by(DedupMove.golden_lead_id, DedupMove.lead_id)
    ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "golden_lead_id",
            "golden_first_name",
            "golden_last_name",
            "golden_phone",
            "moved_lead_id",
            "moved_first_name",
            "moved_last_name",
            "moved_phone",
            "from_pool_id",
            "from_pool",
            "matched_on",
            "match_key",
            "rule",
            "moved_at",
            "undone_at",
        ],
    )
