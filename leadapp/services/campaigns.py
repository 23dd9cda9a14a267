"""Projects, campaigns, and which lead pools feed which campaign (with what weight).

Every refusal is a ``CampaignError`` whose message is one sentence a supervisor can act on.
The functions only flush and write the audit log; the caller commits once.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import sqlalchemy as sa

from leadapp.domain.names import clean_name
from leadapp.domain.zone_evidence import region_zones, same_group
from leadapp.extensions import db
from leadapp.models import Account, Campaign, LeadPool, PoolAssignment, Project
from leadapp.models.base import is_id, utcnow
from leadapp.models.pool import DIALER_STRATEGIES
from leadapp.services import audit, pool_counters, pool_ready
from leadapp.services.accounts import AccountError, _check_length, _check_region, _check_timezone

PURPOSES = ("sales", "survey", "collections", "retention", "service", "appointments", "other")
API_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,59}$")
API_CODE_MAX = 60
PURPOSE_MAX = 60
WEIGHT_MAX = 1000
DEFAULT_WINDOW = (dt.time(8, 0), dt.time(21, 0))


class CampaignError(AccountError):
    """A campaign, project or assignment change the rules refuse (one sentence)."""


def _audit(account_id: int, user_id: int | None, action: str, obj, **details) -> None:
    # Flushed at once: the entry belongs to the account bound now, not to the next one.
    audit.record(account_id, user_id, action, obj, **details)
    db.session.flush()


def _refuse(check, *args):
    # The account checks raise AccountError; here they are campaign refusals.
    try:
        return check(*args)
    except CampaignError:
        raise
    except AccountError as exc:
        raise CampaignError(str(exc)) from None


# --- Projects ---------------------------------------------------------------------------


def _project_name(name: str) -> str:
    name = clean_name(name)  # as it will be stored
    if not name:
        raise CampaignError("Give the project a name.")
    return _refuse(_check_length, name, "project name")


def _project_taken(account_id: int, name: str, exclude_id: int | None = None) -> bool:
    query = sa.select(Project.id).where(Project.account_id == account_id, Project.name == name)
    if exclude_id is not None:
        query = query.where(Project.id != exclude_id)
    return db.session.scalar(query) is not None


def create_project(account: Account, name: str, user_id: int | None = None) -> Project:
    name = _project_name(name)
    if _project_taken(account.id, name):
        raise CampaignError(f"The project '{name}' already exists in this account.")
    project = Project(account_id=account.id, name=name)
    db.session.add(project)
    db.session.flush()
    _audit(account.id, user_id, "project.create", project, name=name)
    return project


def rename_project(project: Project, name: str, user_id: int | None = None) -> bool:
    """Rename ``project``; False when the name did not change."""
    name = _project_name(name)
    if name == project.name:
        return False
    if _project_taken(project.account_id, name, exclude_id=project.id):
        raise CampaignError(f"The project '{name}' already exists in this account.")
    old, project.name = project.name, name
    db.session.flush()
    _audit(project.account_id, user_id, "project.rename", project, name=[old, name])
    return True


def project_named(account: Account, name: str, user_id: int | None = None) -> Project:
    """The account's project called ``name``, created when it does not exist yet (or
    taken as it is when another user or command created it at the same moment)."""
    name = _project_name(name)
    named = sa.select(Project).where(Project.account_id == account.id, Project.name == name)
    project = db.session.scalar(named)
    if project is not None:
        return project
    try:
        # Two writers may both find no project above (SQLite's lock comes with the first
        # write, PostgreSQL has no lock): looked up again once writing, the second takes
        # the first's; on PostgreSQL it may still meet the unique name, and only its
        # savepoint is undone.
        with db.session.begin_nested():
            return db.session.scalar(named) or create_project(account, name, user_id)
    except sa.exc.IntegrityError:
        project = db.session.scalar(named)
        if project is None:
            raise
        return project


# --- Campaigns --------------------------------------------------------------------------


def derive_api_code(name: str) -> str:
    """SPRING_SALES_2025 from "Spring Sales 2025!"."""
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")[:50] or "CAMPAIGN"


def free_api_code(account_id: int, base: str) -> str:
    """``base``, or ``base_2``, ``base_3``... when another campaign of the account has it
    ("Spring Sales" and "spring-sales" both derive SPRING_SALES)."""
    taken = set(
        db.session.scalars(
            sa.select(Campaign.api_code).where(
                Campaign.account_id == account_id,
                Campaign.api_code.startswith(base, autoescape=True),
            )
        )
    )
    code, n = base, 1
    while code in taken:
        n += 1
        code = f"{base}_{n}"
    return code


def _check_api_code(account_id: int, code: str, exclude_id: int | None = None) -> str:
    code = (code or "").strip().upper()
    if not API_CODE_RE.match(code):
        raise CampaignError(
            "The API code must be 1 to 60 letters, digits or underscores, like SPRING_SALES."
        )
    query = sa.select(Campaign.name).where(
        Campaign.account_id == account_id, Campaign.api_code == code
    )
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    other = db.session.scalar(query)
    if other is not None:
        raise CampaignError(f"The API code {code} is already used by the campaign '{other}'.")
    return code


def _campaign_name(account_id: int, name: str, exclude_id: int | None = None) -> str:
    name = clean_name(name)  # as it will be stored
    if not name:
        raise CampaignError("Give the campaign a name.")
    _refuse(_check_length, name, "campaign name")
    query = sa.select(Campaign.id).where(Campaign.account_id == account_id, Campaign.name == name)
    if exclude_id is not None:
        query = query.where(Campaign.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise CampaignError(f"The campaign '{name}' already exists in this account.")
    return name


def _purpose(purpose: str) -> str:
    purpose = (purpose or "").strip().lower()
    if not purpose:
        raise CampaignError("Choose the campaign's purpose, for example sales or survey.")
    return _refuse(_check_length, purpose, "purpose", PURPOSE_MAX)


def parse_time(value: str | dt.time | None, what: str) -> dt.time:
    """A time of day from "08:00" (or a time); refusal names ``what`` (e.g. "window start")."""
    if isinstance(value, dt.time):
        return value
    text = (value or "").strip()
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise CampaignError(f"Give the {what} as a time of day like 08:00.")


def check_window(start: dt.time, end: dt.time) -> tuple[dt.time, dt.time]:
    if start >= end:
        raise CampaignError(
            f"The calling window must start before it ends; {start:%H:%M} is not before "
            f"{end:%H:%M}."
        )
    return start, end


def campaign_zone(
    region: str, timezone: str | None, fallback: str, *, outside_region: bool = False
) -> str:
    """A campaign's default time zone, which its leads without other evidence get.

    Business rule (issue 15): a zone given must be one of the region's (the same offsets
    all year as one of them), unless ``outside_region`` confirms it; without one, the
    region decides: ``fallback`` (the account's zone) when it is one of the region's, the
    region's only zone (GB: Europe/London), else the supervisor is asked to choose (US, AU).
    """
    zones = region_zones(region)

    def inside(zone: str) -> bool:
        return not zones or any(same_group(zone, z) for z in zones)

    if timezone and timezone.strip():
        zone = _refuse(_check_timezone, timezone.strip())
        if not outside_region and not inside(zone):
            raise CampaignError(
                f"{zone} is not a time zone of {region} ({', '.join(zones)}); choose one of "
                "them, or confirm that this campaign's default zone is outside its region."
            )
        return zone
    if fallback and inside(fallback):
        return fallback
    if len(zones) == 1:
        return zones[0]
    raise CampaignError(
        f"{region} has {len(zones)} time zones ({', '.join(zones)}); choose the campaign's "
        "default time zone, the one its leads get when nothing else tells theirs."
    )


def _project_of(account: Account, project: Project | str) -> Project:
    if isinstance(project, Project):
        if project.account_id != account.id:
            raise CampaignError("Choose one of this account's projects.")
        return project
    return project_named(account, project)


def create_campaign(
    account: Account,
    name: str,
    project: Project | str = "Default",
    purpose: str = "sales",
    region: str | None = None,
    timezone: str | None = None,
    *,
    api_code: str | None = None,
    window_start: dt.time | str | None = None,
    window_end: dt.time | str | None = None,
    weighting: bool = True,
    active: bool = True,
    zone_outside_region: bool = False,
    user_id: int | None = None,
) -> Campaign:
    """A campaign in ``project`` (a Project, or a name created when new). Region and zone
    default to the account's (the zone follows the region: ``campaign_zone``), the API
    code is derived from the name unless given, and the calling window defaults to
    08:00-21:00 lead-local time."""
    name = _campaign_name(account.id, name)
    if not isinstance(project, Project):
        # The project's own refusals (length) come before any project is created.
        _project_name(project or "Default")
    proj = _project_of(account, project or "Default")
    if api_code and api_code.strip():
        code = _check_api_code(account.id, api_code)
    else:
        code = free_api_code(account.id, derive_api_code(name))
    start = parse_time(window_start or DEFAULT_WINDOW[0], "window start")
    end = parse_time(window_end or DEFAULT_WINDOW[1], "window end")
    check_window(start, end)
    default_region = _refuse(_check_region, (region or account.default_region).strip())
    zone = campaign_zone(
        default_region, timezone, account.timezone, outside_region=zone_outside_region
    )
    campaign = Campaign(
        account_id=account.id,
        project_id=proj.id,
        name=name,
        api_code=code,
        purpose=_purpose(purpose),
        default_region=default_region,
        timezone=zone,
        window_start=start,
        window_end=end,
        weighting=bool(weighting),
        active=bool(active),
    )
    db.session.add(campaign)
    db.session.flush()
    _audit(account.id, user_id, "campaign.create", campaign, name=name, api_code=code)
    return campaign


def _plain(value):
    return value.strftime("%H:%M") if isinstance(value, dt.time) else value


def update_campaign(
    campaign: Campaign,
    *,
    name: str,
    api_code: str,
    project: Project,
    purpose: str,
    timezone: str,
    region: str,
    window_start: dt.time | str,
    window_end: dt.time | str,
    weighting: bool,
    active: bool,
    zone_outside_region: bool = False,
    user_id: int | None = None,
) -> dict[str, list]:
    """Change every setting at once (all checked before any is changed); returns the
    changes as ``{field: [old, new]}``, also written to the audit log."""
    if project.account_id != campaign.account_id:
        raise CampaignError("Choose one of this account's projects.")
    start = parse_time(window_start, "window start")
    end = parse_time(window_end, "window end")
    new = {
        "name": _campaign_name(campaign.account_id, name, exclude_id=campaign.id),
        "api_code": _check_api_code(campaign.account_id, api_code, exclude_id=campaign.id),
        "project_id": project.id,
        "purpose": _purpose(purpose),
        "timezone": _refuse(_check_timezone, (timezone or "").strip()),
        "default_region": _refuse(_check_region, (region or "").strip()),
        "window_start": start,
        "window_end": end,
        "weighting": bool(weighting),
        "active": bool(active),
    }
    check_window(start, end)
    if (new["timezone"], new["default_region"]) != (campaign.timezone, campaign.default_region):
        # A zone outside the region is refused unless confirmed (one set before stays).
        campaign_zone(
            new["default_region"], new["timezone"], "", outside_region=zone_outside_region
        )
    changes = {}
    for key, value in new.items():
        old = getattr(campaign, key)
        if old != value:
            changes[key] = [_plain(old), _plain(value)]
            setattr(campaign, key, value)
    if changes:
        db.session.flush()
        _audit(campaign.account_id, user_id, "campaign.update", campaign, **changes)
    return changes


# --- Pool assignment --------------------------------------------------------------------


def shares(weights: Mapping[Hashable, int], decimals: int = 1) -> dict[Hashable, float]:
    """Each key's share of the sum of ``weights`` in %, rounded to ``decimals`` places so the
    shares add up to exactly 100 (largest remainder; ties go to the earlier key).

    70/30/100 gives 35/15/50; all-zero (or no) weights give 0 for everyone."""
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights cannot be negative")
    total = sum(weights.values())
    if total == 0:
        return dict.fromkeys(weights, 0.0)
    scale = 10**decimals
    exact = {k: Fraction(w * 100 * scale, total) for k, w in weights.items()}
    units = {k: math.floor(v) for k, v in exact.items()}
    left = 100 * scale - sum(units.values())
    for key in sorted(weights, key=lambda k: exact[k] - units[k], reverse=True)[:left]:
        units[key] += 1
    return {k: units[k] / scale for k in weights}


def format_share(value: float) -> str:
    """35.0 -> "35 %", 33.3 -> "33.3 %"."""
    return f"{value:.1f}".removesuffix(".0") + " %"


def assignments(campaign: Campaign) -> list[PoolAssignment]:
    """The campaign's assignments, by pool name."""
    return list(
        db.session.scalars(
            sa.select(PoolAssignment)
            .join(PoolAssignment.pool)
            .where(PoolAssignment.campaign_id == campaign.id)
            .order_by(LeadPool.name)
        )
    )


def assignment_shares(campaign: Campaign, rows: Iterable[PoolAssignment]) -> dict[int, float]:
    """Assignment id -> share in % of the to-dial pools (empty when weighting is off). An
    empty pool (no leads) gets 0 %: its share goes to the others, as the dialer does."""
    if not campaign.weighting:
        return {}
    to_dial = [a for a in rows if a.to_dial]
    empty = {a.id for a in to_dial if is_empty(a.pool)}
    out = shares({a.id: a.weight for a in to_dial if a.id not in empty})
    return {a.id: out.get(a.id, 0.0) for a in to_dial}


def is_empty(pool: LeadPool) -> bool:
    """The pool holds no leads (its stored counter): it gets no share of the dialing."""
    return not pool.total_count


def ready_in_campaign(assignment: PoolAssignment, day: dt.date) -> int:
    """The pool's "Ready to dial" on ``day`` as the grid shows it (``pool_ready``:
    eligible today apart from the hour) when this campaign dials it, else 0."""
    if not assignment.to_dial:
        return 0
    return pool_ready.ready_one(assignment.pool, day, utcnow())


def assignable_pools(account_id: int) -> list[LeadPool]:
    """Every pool that could feed a campaign: all but the system Inactive pool."""
    return list(
        db.session.scalars(
            sa.select(LeadPool)
            .where(LeadPool.account_id == account_id, LeadPool.is_system.is_(False))
            .order_by(LeadPool.name)
        )
    )


@dataclass
class AssignmentPlan:
    """What applying a chosen set of pools would change."""

    add: list[LeadPool] = field(default_factory=list)
    remove: list[PoolAssignment] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)


def quote_names(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def plan_assignment(campaign: Campaign, pool_ids: Iterable[int]) -> AssignmentPlan:
    """Check the pools chosen for ``campaign`` (the whole assigned list) and say what would
    be assigned and unassigned."""
    wanted = {i for i in pool_ids if is_id(i)}  # a number no pool can have is none
    pools = {
        p.id: p
        for p in db.session.scalars(
            sa.select(LeadPool).where(
                LeadPool.id.in_(wanted), LeadPool.account_id == campaign.account_id
            )
        )
    }
    if len(pools) != len(wanted):
        raise CampaignError(
            "One of the chosen pools no longer exists; reload the page and choose again."
        )
    system = [p.name for p in pools.values() if p.is_system]
    if system:
        raise CampaignError(
            f"The system pool {quote_names(system)} holds the Lead Deduplicator's duplicates and "
            "can never be assigned to a campaign."
        )
    current = {a.pool_id: a for a in assignments(campaign)}
    plan = AssignmentPlan(
        add=sorted((pools[i] for i in wanted - current.keys()), key=lambda p: p.name),
        remove=[a for pool_id, a in current.items() if pool_id not in wanted],
    )
    dialing = [a.pool.name for a in plan.remove if a.to_dial]
    if dialing:
        verb = "is" if len(dialing) == 1 else "are"
        raise CampaignError(
            f"{quote_names(dialing)} {verb} marked to dial in this campaign; clear To dial and "
            "save before unassigning."
        )
    return plan


def apply_assignment(
    campaign: Campaign, pool_ids: Iterable[int], user_id: int | None = None
) -> AssignmentPlan:
    """Make ``pool_ids`` exactly the campaign's pools. New assignments get the model's
    defaults (to dial, weighted, weight 100); unassigned ones lose their settings here.

    Whether the pool is ready to dial through an assignment is decided by the pool grid's
    query; its ready counter reads the maximum attempts of the campaigns dialling it, so
    a pool whose limit changes is counted again."""
    plan = plan_assignment(campaign, pool_ids)
    changing = [p.id for p in plan.add] + [a.pool_id for a in plan.remove]
    with pool_counters.attempt_limits_watched(changing):
        _apply(campaign, plan, user_id)
    return plan


def _apply(campaign: Campaign, plan: AssignmentPlan, user_id: int | None) -> None:
    for assignment in plan.remove:
        _audit(
            campaign.account_id,
            user_id,
            "campaign.pool_unassign",
            assignment,
            campaign_id=campaign.id,
            pool_id=assignment.pool_id,
            pool=assignment.pool.name,
            to_dial=assignment.to_dial,
            strategy=assignment.strategy,
            weight=assignment.weight,
        )
        db.session.delete(assignment)
    db.session.flush()
    for pool in plan.add:
        assignment = PoolAssignment(
            account_id=campaign.account_id, pool_id=pool.id, campaign_id=campaign.id
        )
        db.session.add(assignment)
        db.session.flush()
        _audit(
            campaign.account_id,
            user_id,
            "campaign.pool_assign",
            assignment,
            campaign_id=campaign.id,
            pool_id=pool.id,
            pool=pool.name,
        )


def parse_weight(value, pool_name: str) -> int:
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"\d{1,4}", text) or int(text) > WEIGHT_MAX:
        raise CampaignError(
            f"The weight of '{pool_name}' must be a whole number from 0 to {WEIGHT_MAX}."
        )
    return int(text)


def update_assignment(
    assignment: PoolAssignment,
    *,
    to_dial: bool,
    strategy: str,
    weight: int | str,
    user_id: int | None = None,
) -> dict[str, list]:
    """Change one assignment's settings; returns ``{field: [old, new]}`` (audited)."""
    name = assignment.pool.name
    if strategy not in DIALER_STRATEGIES:
        raise CampaignError(
            f"The dialer strategy of '{name}' must be one of: {', '.join(DIALER_STRATEGIES)}."
        )
    new = {"to_dial": bool(to_dial), "strategy": strategy, "weight": parse_weight(weight, name)}
    # The ready counter reads the maximum attempts of the campaigns dialling the pool.
    with pool_counters.attempt_limits_watched([assignment.pool_id]):
        changes = audit.set_changed(assignment, new)
    if changes:
        _audit(
            assignment.account_id,
            user_id,
            "campaign.pool_settings",
            assignment,
            campaign_id=assignment.campaign_id,
            pool_id=assignment.pool_id,
            pool=name,
            **changes,
        )
    return changes
