"""The lead pool grid: stored counters shown with filters, sorting, paging and the extra
KPI columns (the grid never scans every lead)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    Import,
    Lead,
    LeadPool,
    PoolAssignment,
    PoolBreakdown,
    Project,
)
from leadapp.models.base import utcnow
from leadapp.services import dial_hours, pool_ready
from leadapp.services.dial_candidates import zone_is
from leadapp.services.pools import PER_PAGE, int_list

# ---------------------------------------------------------------------------------------
# The grid

# key -> (label, sortable); the base columns always show, the extra KPIs come from a menu.
BASE_COLUMNS = {
    "name": "Name",
    "project": "Project",
    "campaigns": "Campaign(s)",
    "ready": "Ready to dial",
    "open": "Open",
    "closed_pct": "% closed",
    "used_pct": "% used",
    "total": "Total",
    "uploaded": "Uploaded at",
    "status": "Status",
}
EXTRA_COLUMNS = {
    "invalid": "Invalid in upload",
    "duplicates": "Duplicates found",
    "callable": "Callable now",
    "last_activity": "Last activity",
}
# "Callable now" depends on the clock and is counted for the shown page only.
UNSORTABLE = {"callable"}
STATUSES = ("all", "active", "inactive")


@dataclass
class GridFilters:
    """What the grid shows: filters, sort, extra columns, page. Saved views store it."""

    q: str = ""
    status: str = "all"
    projects: list[int] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)
    sort: str = "uploaded"
    dir: str = "desc"
    cols: list[str] = field(default_factory=list)
    page: int = 1

    def __post_init__(self):
        self.q = (self.q or "").strip()[:200]
        if self.status not in STATUSES:
            self.status = "all"
        self.projects = int_list(self.projects)
        self.campaigns = int_list(self.campaigns)
        if self.sort not in BASE_COLUMNS and self.sort not in EXTRA_COLUMNS:
            self.sort = "uploaded"
        if self.sort in UNSORTABLE:
            self.sort = "uploaded"
        if self.dir not in ("asc", "desc"):
            self.dir = "desc" if self.sort == "uploaded" else "asc"
        self.cols = [c for c in EXTRA_COLUMNS if c in set(self.cols or ())]
        try:
            self.page = max(int(self.page), 1)
        except (TypeError, ValueError):
            self.page = 1

    @classmethod
    def from_args(cls, args) -> GridFilters:
        """From a request's query string (a MultiDict)."""
        return cls(
            q=args.get("q", ""),
            status=args.get("status", "all"),
            projects=args.getlist("project"),
            campaigns=args.getlist("campaign"),
            sort=args.get("sort", "uploaded"),
            dir=args.get("dir", ""),
            cols=args.getlist("col"),
            page=args.get("page", 1),
        )

    @classmethod
    def from_dict(cls, data: dict | None) -> GridFilters:
        keys = ("q", "status", "projects", "campaigns", "sort", "dir", "cols")
        return cls(**{k: data[k] for k in keys if (data or {}).get(k) is not None})

    def to_dict(self) -> dict:
        """What a saved view stores (the page is not part of a view)."""
        out = asdict(self)
        out.pop("page")
        return out

    def query_args(self, **override) -> dict:
        """Arguments for ``url_for('pools.index', ...)``."""
        args = {
            "q": self.q or None,
            "status": self.status if self.status != "all" else None,
            "project": self.projects or None,
            "campaign": self.campaigns or None,
            "sort": self.sort,
            "dir": self.dir,
            "col": self.cols or None,
            "page": self.page if self.page > 1 else None,
        }
        args.update(override)
        return {k: v for k, v in args.items() if v is not None}


def ready_shown(today: dt.date, now: dt.datetime | None = None):
    """The grid's "Ready to dial" as a SQL expression on ``LeadPool`` (see
    ``services.pool_ready``: eligible to be called today, apart from the hour)."""
    return pool_ready.ready_shown(today, now or utcnow())


def _pct(part):
    return sa.case(
        (LeadPool.total_count > 0, part * 100.0 / LeadPool.total_count),
        else_=0.0,
    )


def _duplicates_expr():
    dup = sa.func.coalesce(Import.counts["duplicates_in_file"].as_integer(), 0) + sa.func.coalesce(
        Import.counts["duplicates_existing"].as_integer(), 0
    )
    return (
        sa.select(sa.func.coalesce(sa.func.sum(dup), 0))
        .where(Import.pool_id == LeadPool.id)
        .scalar_subquery()
    )


def _sort_expr(key: str, today: dt.date):
    if key == "project":
        return (
            sa.select(sa.func.min(Project.name))
            .join(Campaign, Campaign.project_id == Project.id)
            .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
            .where(PoolAssignment.pool_id == LeadPool.id)
            .scalar_subquery()
        )
    if key == "campaigns":
        return (
            sa.select(sa.func.min(Campaign.name))
            .join(PoolAssignment, PoolAssignment.campaign_id == Campaign.id)
            .where(PoolAssignment.pool_id == LeadPool.id)
            .scalar_subquery()
        )
    if key == "duplicates":
        return _duplicates_expr()
    if key == "last_activity":
        return (
            sa.select(sa.func.max(Lead.last_called_at))
            .where(Lead.pool_id == LeadPool.id)
            .scalar_subquery()
        )
    return {
        "name": sa.func.lower(LeadPool.name),
        "ready": ready_shown(today),
        "open": LeadPool.open_count,
        "closed_pct": _pct(LeadPool.closed_count),
        "used_pct": _pct(LeadPool.used_count),
        "total": LeadPool.total_count,
        "uploaded": LeadPool.created_at,
        "status": LeadPool.status,
        "invalid": LeadPool.invalid_count,
    }[key]


def _filtered(query, f: GridFilters):
    if f.q:
        query = query.where(LeadPool.name.icontains(f.q, autoescape=True))  # % and _ literal
    if f.status in ("active", "inactive"):
        query = query.where(LeadPool.status == f.status)
    if f.campaigns:
        query = query.where(
            sa.select(PoolAssignment.id)
            .where(
                PoolAssignment.pool_id == LeadPool.id, PoolAssignment.campaign_id.in_(f.campaigns)
            )
            .exists()
        )
    if f.projects:
        query = query.where(
            sa.select(PoolAssignment.id)
            .join(Campaign, Campaign.id == PoolAssignment.campaign_id)
            .where(PoolAssignment.pool_id == LeadPool.id, Campaign.project_id.in_(f.projects))
            .exists()
        )
    return query


@dataclass
class GridRow:
    pool: LeadPool
    ready: int
    campaigns: list[Campaign] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class Grid:
    rows: list[GridRow]
    total: int
    page: int
    pages: int
    filters: GridFilters


def account_now(zone: str) -> dt.datetime:
    try:
        return dt.datetime.now(ZoneInfo(zone))
    except ZoneInfoNotFoundError:
        return dt.datetime.now(dt.UTC)


def grid(f: GridFilters, today: dt.date, per_page: int = PER_PAGE) -> Grid:
    """One page of the grid: a count, one query for the page's pools, one for their
    campaigns, and one each for the extra KPI columns asked for. No lead is scanned
    unless "callable now" or "last activity" is shown (and then only the page's pools)."""
    total = db.session.scalar(_filtered(sa.select(sa.func.count(LeadPool.id)), f)) or 0
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(f.page, pages)
    expr = _sort_expr(f.sort, today)
    # Empty values (no campaign, never called) go last either way, on every database.
    order = [sa.case((expr.is_(None), 1), else_=0), expr.desc() if f.dir == "desc" else expr]
    query = _filtered(sa.select(LeadPool), f)
    query = query.order_by(*order, LeadPool.id.desc() if f.dir == "desc" else LeadPool.id)
    query = query.limit(per_page).offset((page - 1) * per_page)
    rows = [GridRow(pool=p, ready=0) for p in db.session.scalars(query)]
    # The figure with the day offset and day count too (what the pool page shows).
    shown = pool_ready.ready_now([row.pool for row in rows], today, utcnow())
    for row in rows:
        row.ready = shown[row.pool.id]
    by_id = {row.pool.id: row for row in rows}
    ids = list(by_id)
    if ids:
        to_dial: dict[int, list[Campaign]] = defaultdict(list)
        assigned = db.session.execute(
            sa.select(PoolAssignment.pool_id, PoolAssignment.to_dial, Campaign, Project.name)
            .join(Campaign, Campaign.id == PoolAssignment.campaign_id)
            .join(Project, Project.id == Campaign.project_id)
            .where(PoolAssignment.pool_id.in_(ids))
            .order_by(Campaign.name)
        )
        for pool_id, dial, campaign, project in assigned:
            row = by_id[pool_id]
            row.campaigns.append(campaign)
            if project not in row.projects:
                row.projects.append(project)
            if dial:
                to_dial[pool_id].append(campaign)
        if "duplicates" in f.cols:
            for pool_id, found in duplicates_found(ids).items():
                by_id[pool_id].extra["duplicates"] = found
        if "callable" in f.cols:
            _add_callable(by_id, to_dial, today)
        if "last_activity" in f.cols:
            for pool_id, at in last_activity(ids).items():
                by_id[pool_id].extra["last_activity"] = at
    return Grid(rows=rows, total=total, page=page, pages=pages, filters=f)


def _add_callable(by_id: dict[int, GridRow], to_dial: dict[int, list[Campaign]], today) -> None:
    """ "Callable now" of the shown pools: part of their "Ready to dial" (0 when that is 0:
    the pool's schedule holds it today), never more."""
    now = utcnow()
    dialing = {pid: cs for pid, cs in to_dial.items() if by_id[pid].ready}
    released = {pid: dial_hours.released(by_id[pid].pool, today) for pid in dialing}
    counted = callable_now({p: cs for p, cs in dialing.items() if released[p] is None}, now)
    for pool_id, dialled in dialing.items():
        if released[pool_id] is not None:
            counted[pool_id] = _callable_released(
                by_id[pool_id].pool, dialled, released[pool_id], now
            )
        by_id[pool_id].extra["callable"] = min(counted[pool_id], by_id[pool_id].ready)


def duplicates_found(pool_ids: list[int]) -> dict[int, int]:
    """Per pool: duplicates its imports found (in the file plus already existing)."""
    out: dict[int, int] = defaultdict(int)
    rows = db.session.execute(
        sa.select(Import.pool_id, Import.counts).where(Import.pool_id.in_(pool_ids))
    )
    for pool_id, counts in rows:
        c = counts or {}
        out[pool_id] += int(c.get("duplicates_in_file", 0) or 0)
        out[pool_id] += int(c.get("duplicates_existing", 0) or 0)
    return dict(out)


def _naive_utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at


def _ready_zones(pool_ids: list[int]) -> dict[int, dict[str | None, int]]:
    """Per pool: its ready leads per zone key (None: no key), as stored (kept by deltas)."""
    out: dict[int, dict[str | None, int]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(PoolBreakdown.pool_id, PoolBreakdown.key, PoolBreakdown.leads).where(
            PoolBreakdown.pool_id.in_(pool_ids),
            PoolBreakdown.kind == "ready_zone",
            PoolBreakdown.leads > 0,
        )
    )
    for pool_id, key, n in rows:
        out[pool_id][key or None] = int(n)
    return out


def _open_keys(pool: LeadPool, dialled: list[Campaign], keys, now_utc) -> set[str | None]:
    """The pool's zone keys (None: no key) the dial queue may call at ``now_utc`` for any
    of ``dialled``: inside its calling hours and the pool's time range
    (``dial_hours.open_zones``, the queue's own rule)."""
    return {key for c in dialled for key in dial_hours.open_zones(c, pool, now_utc, list(keys))}


def callable_now(to_dial: dict[int, list[Campaign]], now_utc: dt.datetime) -> dict[int, int]:
    """Per pool: its ready leads (the ready counter's rule) that wait for no time now and
    that the dial queue may call now for a campaign the pool dials for (its calling hours,
    services/calling_hours: every zone the lead may be in, state hours, holidays; and the
    pool's time range). From the pool's ready leads per zone key (stored, kept by deltas)
    less those waiting (leased, recycling, callback not due:
    ``pool_ready.waiting_by_zone``): no lead is read but the waiting ones. The pool's
    schedule (dates, day offset, day count) is the caller's (``grid``)."""
    if not to_dial:
        return {}
    pool_ids = list(to_dial)
    zones = _ready_zones(pool_ids)
    waiting = pool_ready.waiting_by_zone(pool_ids, _naive_utc(now_utc))
    pools = {pool_id: db.session.get(LeadPool, pool_id) for pool_id in pool_ids}  # loaded
    out: dict[int, int] = {}
    for pool_id, dialled in to_dial.items():
        by_key = zones.get(pool_id, {})
        inside = _open_keys(pools[pool_id], dialled, by_key, now_utc)
        out[pool_id] = sum(
            max(n - waiting.get((pool_id, key or ""), 0), 0)
            for key, n in by_key.items()
            if key in inside
        )
    return out


def _callable_released(pool: LeadPool, dialled: list[Campaign], released: int, now) -> int:
    """A pool with a day count: "Callable now" among the positions released today (counted,
    as its "Ready to dial" is)."""
    keys = _open_keys(pool, dialled, _ready_zones([pool.id]).get(pool.id, {}), now)
    if not keys:
        return 0
    inside = sa.or_(*(zone_is(key) for key in keys))
    return pool_ready.released_count(pool, released, _naive_utc(now), inside)


def last_activity(pool_ids: list[int]) -> dict[int, dt.datetime]:
    """Per pool: its latest call, one step down ``ix_leads_pool_last_called`` per pool."""
    rows = db.session.execute(
        sa.select(LeadPool.id, _sort_expr("last_activity", dt.date.today())).where(
            LeadPool.id.in_(pool_ids)
        )
    )
    return {pool_id: at for pool_id, at in rows if at is not None}


def filter_choices() -> tuple[list[Project], list[Campaign]]:
    projects = db.session.scalars(sa.select(Project).order_by(Project.name)).all()
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.name)).all()
    return list(projects), list(campaigns)
