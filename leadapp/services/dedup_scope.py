"""The lead scope's options on the schedule page, each with its lead count.

A pool's leads in scope (leads already inactive are out of scope, as in ``services.dedup``)
are its stored total less its stored inactive leads (``LeadPool.total_count`` and the
status breakdown, both kept by deltas): no lead is counted per request. Campaign and
purpose counts add up their distinct pools through ``PoolAssignment``. Options over
``dedup_service.scope_limit()`` are shown but cannot be chosen, and neither can a choice of
several whose pools hold more than that together."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Campaign, LeadPool, PoolAssignment, PoolBreakdown
from leadapp.models.base import is_id
from leadapp.services import dedup as dedup_service


@dataclasses.dataclass(frozen=True)
class Option:
    value: int | str
    label: str
    count: int

    @property
    def over(self) -> bool:
        return self.count > dedup_service.scope_limit()


@dataclasses.dataclass
class ScopeOptions:
    account: int
    campaigns: list[Option]
    pools: list[Option]
    purposes: list[Option]

    def for_scope(self, scope: str) -> list[Option]:
        return {"campaign": self.campaigns, "list": self.pools, "purpose": self.purposes}.get(
            scope, []
        )

    def label(self, scope: str, value) -> str:
        for option in self.for_scope(scope):
            if str(option.value) == str(value):
                return option.label
        return str(value)


def in_scope_per_pool(pool_ids: list[int] | None = None) -> dict[int, int]:
    """Per pool: its leads that are not inactive, from the stored counters."""
    inactive = (
        sa.select(PoolBreakdown.leads)
        .where(
            PoolBreakdown.pool_id == LeadPool.id,
            PoolBreakdown.kind == "status",
            PoolBreakdown.key == "inactive",
        )
        .scalar_subquery()
    )
    query = sa.select(LeadPool.id, LeadPool.total_count - sa.func.coalesce(inactive, 0))
    if pool_ids is not None:
        query = query.where(LeadPool.id.in_(pool_ids))
    return {pool_id: int(n) for pool_id, n in db.session.execute(query)}


def scope_options() -> ScopeOptions:
    per_pool = in_scope_per_pool()
    pools = db.session.execute(
        sa.select(LeadPool.id, LeadPool.name)
        .where(LeadPool.is_system.is_(False))
        .order_by(LeadPool.name)
    ).all()
    pool_ids = {p.id for p in pools}
    campaigns = db.session.execute(
        sa.select(Campaign.id, Campaign.name, Campaign.purpose).order_by(Campaign.name)
    ).all()
    assigned: dict[int, set[int]] = {}
    for campaign_id, pool_id in db.session.execute(
        sa.select(PoolAssignment.campaign_id, PoolAssignment.pool_id)
    ):
        if pool_id in pool_ids:
            assigned.setdefault(campaign_id, set()).add(pool_id)
    by_purpose: dict[str, set[int]] = {}
    for c in campaigns:
        by_purpose.setdefault(c.purpose, set()).update(assigned.get(c.id, set()))

    def total(ids) -> int:
        return sum(per_pool.get(i, 0) for i in ids)

    return ScopeOptions(
        account=total(pool_ids),
        campaigns=[Option(c.id, c.name, total(assigned.get(c.id, ()))) for c in campaigns],
        pools=[Option(p.id, p.name, per_pool.get(p.id, 0)) for p in pools],
        purposes=[Option(name, name, total(ids)) for name, ids in sorted(by_purpose.items())],
    )


def selected_total(scope: str, targets: list) -> int:
    """The leads in the chosen scope (a pool shared by two chosen campaigns counts once):
    what the test run's total will be if nothing changes meanwhile."""
    if scope in ("campaign", "list"):
        # Ids only, within the INTEGER column: anything else names no pool.
        targets = [t for t in targets if is_id(t)]
    if scope != "account" and not targets:
        return 0
    settings = dedup_service.DedupSettings(scope=scope, targets=list(targets))
    pool_ids = dedup_service.scope_pool_ids(settings)
    return sum(in_scope_per_pool(pool_ids).values()) if pool_ids else 0


def over_limit(total: int) -> str | None:
    """The refusal of a chosen scope over the limit, or None."""
    limit = dedup_service.scope_limit()
    if total <= limit:
        return None
    return (
        f"The chosen scope holds {total:,} leads together, over the limit of {limit:,}; "
        "choose fewer campaigns or pools."
    )
