"""Lead pools: the grid (stored counters, filters, sorting, paging), saved views, bulk
actions, pool details and the counters the grid shows without scanning every lead.

Services flush, never commit: the view (or task, or CLI command) commits once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import sqlalchemy as sa

from leadapp.domain.csv_export import to_csv_bytes
from leadapp.extensions import db
from leadapp.models import (
    AuditLog,
    Campaign,
    Import,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    Project,
    SavedView,
    User,
)
from leadapp.models.base import utcnow
from leadapp.services import audit

PER_PAGE = 25
NAME_MAX = 160
DESCRIPTION_MAX = 2000
VIEW_NAME_MAX = 120


class PoolError(ValueError):
    """A request the pool rules refuse; the message is meant for the person asking."""


class NotYours(PermissionError):
    """Someone tried to change a saved view another user owns."""


# ---------------------------------------------------------------------------------------
# Counters


def ready_clause():
    """A lead that can be dialled as far as the lead itself goes: open, not completed, not
    on the do-not-call list, with a valid phone (phones are stored only when valid)."""
    return sa.and_(
        Lead.status == "open",
        Lead.completed.is_(False),
        Lead.do_not_call.is_(False),
        Lead.phone1.is_not(None),
    )


def pool_counts(pool_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Per pool: total, open, ready to dial (see ``ready_clause``), closed and used (called
    at least once) — one grouped query, a full recount."""
    query = sa.select(
        Lead.pool_id,
        sa.func.count(Lead.id),
        sa.func.sum(sa.case((Lead.status == "open", 1), else_=0)),
        sa.func.sum(sa.case((ready_clause(), 1), else_=0)),
        sa.func.sum(sa.case((Lead.status == "closed", 1), else_=0)),
        sa.func.sum(sa.case((Lead.call_count > 0, 1), else_=0)),
    ).group_by(Lead.pool_id)
    if pool_ids is not None:
        query = query.where(Lead.pool_id.in_(pool_ids))
    return {
        pool_id: {
            "total": total,
            "open": int(open_ or 0),
            "ready": int(ready or 0),
            "closed": int(closed or 0),
            "used": int(used or 0),
        }
        for pool_id, total, open_, ready, closed, used in db.session.execute(query)
    }


def refresh_counts(pools: list[LeadPool]) -> None:
    """Store fresh counters on ``pools`` (pools with no leads get zeros)."""
    counts = pool_counts([p.id for p in pools])
    now = utcnow()
    for pool in pools:
        c = counts.get(pool.id, {"total": 0, "open": 0, "ready": 0, "closed": 0, "used": 0})
        pool.total_count = c["total"]
        pool.open_count = c["open"]
        pool.ready_count = c["ready"]
        pool.closed_count = c["closed"]
        pool.used_count = c["used"]
        pool.counts_refreshed_at = now
    db.session.flush()


def list_pools(include_system: bool = True) -> list[LeadPool]:
    query = sa.select(LeadPool).order_by(LeadPool.is_system, LeadPool.created_at.desc())
    if not include_system:
        query = query.where(LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def pool_stats() -> list[dict]:
    """The rows of ``flask pools stats --json`` (from the stored counters)."""
    return [
        {
            "id": p.id,
            "name": p.name,
            "status": p.status,
            "total": p.total_count,
            "open": p.open_count,
            "ready_to_dial": p.ready_count,
            "closed_pct": p.closed_pct,
            "used_pct": p.used_pct,
            "invalid_in_upload": p.invalid_count,
            "is_system": p.is_system,
        }
        for p in list_pools()
    ]


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


def _int_list(values: Iterable) -> list[int]:
    out = []
    for v in values or ():
        try:
            out.append(int(v))
        except (TypeError, ValueError):
            continue
    return sorted(set(out))


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
        self.projects = _int_list(self.projects)
        self.campaigns = _int_list(self.campaigns)
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


def _today_clauses(today: dt.date):
    return sa.and_(
        LeadPool.status == "active",
        sa.or_(LeadPool.active_from.is_(None), LeadPool.active_from <= today),
        sa.or_(LeadPool.active_until.is_(None), LeadPool.active_until >= today),
    )


def _to_dial_exists():
    return (
        sa.select(PoolAssignment.id)
        .where(PoolAssignment.pool_id == LeadPool.id, PoolAssignment.to_dial.is_(True))
        .exists()
    )


def ready_shown(today: dt.date):
    """The grid's "ready to dial": the stored count when the pool is active today and
    assigned to a campaign marked to dial, else 0 (a SQL expression on ``LeadPool``)."""
    return sa.case(
        (sa.and_(_today_clauses(today), _to_dial_exists()), LeadPool.ready_count), else_=0
    )


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
    query = _filtered(sa.select(LeadPool, ready_shown(today).label("ready")), f)
    query = query.order_by(*order, LeadPool.id.desc() if f.dir == "desc" else LeadPool.id)
    query = query.limit(per_page).offset((page - 1) * per_page)
    rows = [GridRow(pool=p, ready=int(r or 0)) for p, r in db.session.execute(query)]
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
            dialing = {pid: cs for pid, cs in to_dial.items() if by_id[pid].ready}
            for pool_id, n in callable_now(dialing, utcnow()).items():
                by_id[pool_id].extra["callable"] = n
        if "last_activity" in f.cols:
            last = db.session.execute(
                sa.select(Lead.pool_id, sa.func.max(Lead.last_called_at))
                .where(Lead.pool_id.in_(ids))
                .group_by(Lead.pool_id)
            )
            for pool_id, at in last:
                by_id[pool_id].extra["last_activity"] = at
    return Grid(rows=rows, total=total, page=page, pages=pages, filters=f)


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


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _in_window(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # a window across midnight


def callable_now(to_dial: dict[int, list[Campaign]], now_utc: dt.datetime) -> dict[int, int]:
    """Per pool: ready leads whose local time now lies in the calling window of a campaign
    the pool dials for. One grouped query (pool, time zone) -> count; the clock check runs
    once per zone, not per lead. A lead without a zone uses the campaign's zone."""
    if not to_dial:
        return {}
    rows = db.session.execute(
        sa.select(Lead.pool_id, Lead.timezone, sa.func.count(Lead.id))
        .where(Lead.pool_id.in_(list(to_dial)), ready_clause())
        .group_by(Lead.pool_id, Lead.timezone)
    )
    now = now_utc.replace(tzinfo=dt.UTC) if now_utc.tzinfo is None else now_utc
    local_cache: dict[str, dt.time | None] = {}

    def local(zone_name: str | None) -> dt.time | None:
        if zone_name not in local_cache:
            zone = _zone(zone_name)
            local_cache[zone_name] = now.astimezone(zone).time() if zone else None
        return local_cache[zone_name]

    out: dict[int, int] = {pid: 0 for pid in to_dial}
    for pool_id, zone_name, n in rows:
        for campaign in to_dial[pool_id]:
            t = local(zone_name or campaign.timezone)
            if t is not None and _in_window(t, campaign.window_start, campaign.window_end):
                out[pool_id] += n
                break
    return out


def filter_choices() -> tuple[list[Project], list[Campaign]]:
    projects = db.session.scalars(sa.select(Project).order_by(Project.name)).all()
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.name)).all()
    return list(projects), list(campaigns)


# ---------------------------------------------------------------------------------------
# Saved views


def _check_view_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise PoolError("Give the view a name.")
    if len(name) > VIEW_NAME_MAX:
        raise PoolError(f"A view name can have at most {VIEW_NAME_MAX} characters.")
    return name


def visible_views(user: User) -> tuple[list[SavedView], list[SavedView]]:
    """The user's own views, and the views others of the account share."""
    views = db.session.scalars(
        sa.select(SavedView)
        .where(sa.or_(SavedView.user_id == user.id, SavedView.shared.is_(True)))
        .order_by(sa.func.lower(SavedView.name), SavedView.id)
    ).all()
    return [v for v in views if v.user_id == user.id], [v for v in views if v.user_id != user.id]


def users_by_ids(ids: Iterable[int]) -> list[User]:
    ids = list(ids)
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []


def can_see(user: User, view: SavedView) -> bool:
    return view.user_id == user.id or view.shared


def _own(user: User, view: SavedView) -> None:
    if view.user_id != user.id:
        raise NotYours("Only the person who saved this view can change it; copy it instead.")


def default_view(user: User) -> SavedView | None:
    return db.session.scalar(
        sa.select(SavedView).where(SavedView.user_id == user.id, SavedView.starred.is_(True))
    )


def save_view(user: User, name: str, filters: GridFilters) -> SavedView:
    view = SavedView(
        account_id=user.account_id,
        user_id=user.id,
        name=_check_view_name(name),
        filters=filters.to_dict(),
    )
    db.session.add(view)
    db.session.flush()
    audit.record(user.account_id, user.id, "view.saved", view, name=view.name)
    return view


def copy_view(user: User, view: SavedView) -> SavedView:
    if not can_see(user, view):
        raise NotYours("This view is not shared with you.")
    name = f"Copy of {view.name}"[:VIEW_NAME_MAX]
    copy = SavedView(
        account_id=user.account_id, user_id=user.id, name=name, filters=dict(view.filters or {})
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(user.account_id, user.id, "view.copied", copy, source=view.id)
    return copy


def set_shared(user: User, view: SavedView, shared: bool) -> None:
    _own(user, view)
    view.shared = shared
    audit.record(user.account_id, user.id, "view.shared" if shared else "view.unshared", view)
    db.session.flush()


def set_starred(user: User, view: SavedView, starred: bool) -> None:
    """Star one of the user's own views as their default (unstars the others)."""
    _own(user, view)
    if starred:
        db.session.execute(
            sa.update(SavedView)
            .where(SavedView.user_id == user.id, SavedView.id != view.id)
            .values(starred=False)
            .execution_options(synchronize_session="fetch")
        )
    view.starred = starred
    audit.record(user.account_id, user.id, "view.starred" if starred else "view.unstarred", view)
    db.session.flush()


def delete_view(user: User, view: SavedView) -> None:
    _own(user, view)
    audit.record(user.account_id, user.id, "view.deleted", view, name=view.name)
    db.session.delete(view)
    db.session.flush()


# ---------------------------------------------------------------------------------------
# Bulk actions on checked pools


def pools_by_ids(ids: Iterable) -> list[LeadPool]:
    ids = _int_list(ids)
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


def _random_int():
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.floor(sa.func.random() * 2147483647), sa.Integer)
    return sa.func.abs(sa.func.random()) % 2147483647  # SQLite: random() is a 64-bit int


def shuffle(pools: list[LeadPool], user: User) -> int:
    """Give every lead of ``pools`` a random dial order: one UPDATE, no Python per row."""
    if not pools:
        return 0
    ids = [p.id for p in pools]
    result = db.session.execute(
        sa.update(Lead)
        .where(Lead.pool_id.in_(ids))
        .values(dial_order=_random_int())
        .execution_options(synchronize_session=False)
    )
    for pool in pools:
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
) -> dict:
    """Change name, description and active dates; returns what changed (also audited)."""
    name = (name or "").strip()
    description = (description or "").strip()
    if not name:
        raise PoolError("Give the pool a name.")
    if len(name) > NAME_MAX:
        raise PoolError(f"A pool name can have at most {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise PoolError(f"The description can have at most {DESCRIPTION_MAX} characters.")
    if active_from and active_until and active_until < active_from:
        raise PoolError("The pool cannot stop being active before it starts.")
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
    return value.isoformat() if isinstance(value, dt.date) else value


def toggle(pool: LeadPool, user: User) -> str:
    """Enable or disable one pool; returns the new status."""
    if pool.is_system:
        raise PoolError("The system Inactive pool stays inactive.")
    set_status([pool], "inactive" if pool.status == "active" else "active", user)
    return pool.status


def reopenable_count(pool: LeadPool) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(
                Lead.pool_id == pool.id, sa.or_(Lead.completed.is_(True), Lead.status == "closed")
            )
        )
        or 0
    )


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


# ---------------------------------------------------------------------------------------
# Details: figures, charts, downloads


def pool_campaigns(pool: LeadPool) -> list[tuple[PoolAssignment, Campaign, Project]]:
    return list(
        db.session.execute(
            sa.select(PoolAssignment, Campaign, Project)
            .join(Campaign, Campaign.id == PoolAssignment.campaign_id)
            .join(Project, Project.id == Campaign.project_id)
            .where(PoolAssignment.pool_id == pool.id)
            .order_by(Campaign.name)
        ).all()
    )


def pool_imports(pool: LeadPool) -> list[Import]:
    return list(
        db.session.scalars(
            sa.select(Import).where(Import.pool_id == pool.id).order_by(Import.created_at)
        )
    )


def leads_by_status(pool: LeadPool) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Lead.status, sa.func.count(Lead.id))
        .where(Lead.pool_id == pool.id)
        .group_by(Lead.status)
        .order_by(Lead.status)
    )
    return {status: int(n) for status, n in rows}


def leads_by_timezone(pool: LeadPool, top: int = 12) -> dict[str, int]:
    """Leads per time zone, the biggest ``top`` and the rest as "Other"."""
    rows = db.session.execute(
        sa.select(Lead.timezone, sa.func.count(Lead.id))
        .where(Lead.pool_id == pool.id)
        .group_by(Lead.timezone)
        .order_by(sa.func.count(Lead.id).desc(), Lead.timezone)
    ).all()
    out = {(zone or "Unknown"): int(n) for zone, n in rows[:top]}
    rest = sum(int(n) for _, n in rows[top:])
    if rest:
        out["Other"] = out.get("Other", 0) + rest
    return out


def calls_per_day(pool: LeadPool) -> dict[str, int]:
    """Calls (interactions) on the pool's leads, per UTC day."""
    day = sa.func.date(Interaction.at)
    rows = db.session.execute(
        sa.select(day, sa.func.count(Interaction.id))
        .join(Lead, Lead.id == Interaction.lead_id)
        .where(Lead.pool_id == pool.id)
        .group_by(day)
        .order_by(day)
    )
    return {str(d): int(n) for d, n in rows}


def chart_data(pool: LeadPool) -> dict:
    return {
        "status": leads_by_status(pool),
        "timezone": leads_by_timezone(pool),
        "calls": calls_per_day(pool),
    }


def statistics(pool: LeadPool, today: dt.date) -> list[tuple[str, object]]:
    """The pool's figures as (metric, value) rows: the statistics download."""
    ready = db.session.scalar(
        sa.select(ready_shown(today)).where(LeadPool.id == pool.id).select_from(LeadPool)
    )
    rows: list[tuple[str, object]] = [
        ("pool id", pool.id),
        ("name", pool.name),
        ("status", pool.status),
        ("total leads", pool.total_count),
        ("open", pool.open_count),
        ("ready to dial", int(ready or 0)),
        ("ready to dial when active and assigned", pool.ready_count),
        ("closed", pool.closed_count),
        ("% closed", pool.closed_pct),
        ("used (called at least once)", pool.used_count),
        ("% used", pool.used_pct),
        ("valid in upload", pool.valid_count),
        ("invalid in upload", pool.invalid_count),
        ("duplicates found", duplicates_found([pool.id]).get(pool.id, 0)),
        (
            "counted at (UTC)",
            pool.counts_refreshed_at.isoformat() if pool.counts_refreshed_at else "",
        ),
    ]
    rows += [(f"status: {k}", v) for k, v in leads_by_status(pool).items()]
    rows += [(f"time zone: {k}", v) for k, v in leads_by_timezone(pool, top=1000).items()]
    rows += [(f"calls on {k}", v) for k, v in calls_per_day(pool).items()]
    return rows


def statistics_csv(pool: LeadPool, today: dt.date) -> bytes:
    frame = pd.DataFrame(statistics(pool, today), columns=["metric", "value"])
    return to_csv_bytes(frame.astype({"value": "str"}))


def log_csv(pool: LeadPool) -> bytes:
    """Every audit entry on the pool, oldest first, with who made it."""
    rows = db.session.execute(
        sa.select(AuditLog.at, AuditLog.action, User.email, AuditLog.details)
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(AuditLog.object_type == "LeadPool", AuditLog.object_id == pool.id)
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    frame = pd.DataFrame(
        [(f"{at:%Y-%m-%d %H:%M:%S}", action, email or "", str(details or {}))
         for at, action, email, details in rows],
        columns=["at (UTC)", "action", "by", "details"],
    )  # fmt: skip
    return to_csv_bytes(frame)


LEAD_EXPORT_COLUMNS = (
    "id", "customer_key", "first_name", "last_name", "email",
    "phone1", "phone2", "phone3", "phone4", "phone5", "timezone", "state", "postal_code",
    "country", "source", "status", "completed", "do_not_call", "dial_order", "call_count",
    "last_called_at", "last_outcome", "wrap_code", "created_at",
)  # fmt: skip


def leads_csv_chunks(pool: LeadPool, chunk: int = 5000) -> Iterator[bytes]:
    """The pool's leads as CSV, ``chunk`` leads at a time (keyset paging on the id), so a
    big pool never sits in memory. The first chunk carries the BOM and the header."""
    columns = [getattr(Lead, c) for c in LEAD_EXPORT_COLUMNS]
    last_id, first = 0, True
    while True:
        rows = db.session.execute(
            sa.select(*columns)
            .where(Lead.pool_id == pool.id, Lead.id > last_id)
            .order_by(Lead.id)
            .limit(chunk)
        ).all()
        if not rows and not first:
            return
        frame = pd.DataFrame(rows, columns=list(LEAD_EXPORT_COLUMNS)).astype("object")
        frame = frame.where(frame.notna(), "")
        yield to_csv_bytes(frame, first=first)
        first = False
        if len(rows) < chunk:
            return
        last_id = rows[-1][0]
