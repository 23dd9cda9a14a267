"""The Leads page: quick and advanced search, the column chooser, filter URLs."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from leadapp.domain import phones as phone_domain
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.models.lead import LEAD_STATUSES
from leadapp.routing import page_arg
from leadapp.services import wrap_codes as wrap_code_service
from leadapp.templating import international, local_time, render_page_or_partial

from . import bp
from .common import (
    _account,
    _custom_definitions,
    _day_start_utc,
    _int,
    _parse_date,
    _pools,
    _safe_next,
)

PAGE_SIZE = 50

# The column chooser: key -> label. Custom fields join as "cf:<key>".
COLUMNS = {
    "id": "Lead id",
    "name": "Name",
    "customer_key": "Customer key",
    "phone1": "Phone 1",
    "phone2": "Phone 2",
    "phone3": "Phone 3",
    "phone4": "Phone 4",
    "phone5": "Phone 5",
    "email": "Email",
    "pool": "Pool",
    "timezone": "Time zone",
    "state": "State / region",
    "postal_code": "Postal code",
    "country": "Country",
    "source": "Source",
    "status": "Status",
    "completed": "Completed",
    "wrap_code": "Wrap code",
    "last_outcome": "Last outcome",
    "last_called_at": "Last called",
    "callback_at": "Callback at",
    "call_count": "Calls",
    "created_at": "Created",
}
DEFAULT_COLUMNS = [
    "name",
    "phone1",
    "email",
    "pool",
    "timezone",
    "status",
    "wrap_code",
    "last_called_at",
    "call_count",
]
FILTER_KEYS = (
    "q",
    "pool",
    "campaign",
    "status",
    "completed",
    "wrap_code",
    "agent",
    "interaction",
    "last_from",
    "last_to",
)


# ---------------------------------------------------------------------------------------
# Search


def _filters() -> dict[str, str]:
    out = {k: (request.args.get(k) or "").strip() for k in FILTER_KEYS}
    for d in _custom_definitions():
        out[f"cf_{d.key}"] = (request.args.get(f"cf_{d.key}") or "").strip()
    return {k: v for k, v in out.items() if v}


def quick_search(q: str):
    """Lead id, phone in any format (normalised with the account's region, then equality
    on E.164), customer key, name or email (LIKE wildcards typed are literal)."""
    conditions = [Lead.customer_key == q]
    lead_id = _int(q)
    if lead_id is not None and len(q.strip().lstrip("#")) < 10:
        conditions.append(Lead.id == lead_id)
    digits = sum(ch.isdigit() for ch in q)
    if digits >= 3:
        e164, _ext, _reason = phone_domain.normalise_phone(q, _account().default_region)
        if e164:
            # A phone: equality on the stored E.164 values, never a LIKE over names.
            conditions.extend(getattr(Lead, p) == e164 for p in PHONE_FIELDS)
            return sa.or_(*conditions)
    words = q.split()
    if words:
        conditions.append(
            sa.and_(
                *[
                    sa.or_(
                        Lead.first_name.icontains(w, autoescape=True),
                        Lead.last_name.icontains(w, autoescape=True),
                    )
                    for w in words
                ]
            )
        )
    if "@" in q or digits == 0:
        conditions.append(Lead.email_key.icontains(q.lower(), autoescape=True))
    return sa.or_(*conditions)


def search_query(f: dict[str, str]):
    """The leads matching the filters ``f`` (see ``FILTER_KEYS`` and ``cf_<key>``)."""
    query = sa.select(Lead)
    if f.get("q"):
        query = query.where(quick_search(f["q"]))
    if (pool_id := _int(f.get("pool"))) is not None:
        query = query.where(Lead.pool_id == pool_id)
    if (campaign_id := _int(f.get("campaign"))) is not None:
        assigned = sa.select(PoolAssignment.pool_id).where(
            PoolAssignment.campaign_id == campaign_id
        )
        query = query.where(Lead.pool_id.in_(assigned))
    if f.get("status") in LEAD_STATUSES:
        query = query.where(Lead.status == f["status"])
    if f.get("completed") in ("yes", "no"):
        query = query.where(Lead.completed.is_(f["completed"] == "yes"))
    if f.get("wrap_code"):
        query = query.where(sa.func.lower(Lead.wrap_code) == f["wrap_code"].lower())
    if (agent_id := _int(f.get("agent"))) is not None:
        called_by = sa.select(Interaction.lead_id).where(Interaction.agent_id == agent_id)
        query = query.where(Lead.id.in_(called_by))
    if f.get("interaction"):
        interaction_id = _int(f["interaction"])
        having = sa.select(Interaction.lead_id).where(Interaction.id == (interaction_id or -1))
        query = query.where(Lead.id.in_(having))
    if day := _parse_date(f.get("last_from")):
        query = query.where(Lead.last_called_at >= _day_start_utc(day))
    if day := _parse_date(f.get("last_to")):
        query = query.where(Lead.last_called_at < _day_start_utc(day + dt.timedelta(days=1)))
    for key, value in f.items():
        if key.startswith("cf_") and value:
            query = query.where(Lead.custom[key[3:]].as_string().icontains(value, autoescape=True))
    return query


def _columns() -> list[str]:
    chosen = (current_user.preferences or {}).get("lead_columns") or DEFAULT_COLUMNS
    allowed = set(COLUMNS) | {f"cf:{d.key}" for d in _custom_definitions()}
    return [c for c in chosen if c in allowed] or DEFAULT_COLUMNS


def _column_labels() -> dict[str, str]:
    labels = dict(COLUMNS)
    labels.update({f"cf:{d.key}": d.label for d in _custom_definitions()})
    return labels


def cell(lead: Lead, column: str) -> str:
    """The text of one table cell (escaped by the template)."""
    if column.startswith("cf:"):
        value = (lead.custom or {}).get(column[3:])
        return "" if value is None else str(value)
    if column in PHONE_FIELDS:
        return international(getattr(lead, column))
    if column == "name":
        return lead.display_name
    if column == "pool":
        return lead.pool.name if lead.pool else ""
    if column in ("last_called_at", "callback_at", "created_at"):
        return local_time(getattr(lead, column))
    if column == "completed":
        return "yes" if lead.completed else "no"
    value = getattr(lead, column)
    return "" if value is None else str(value)


@bp.route("/leads")
@login_required
def index():
    f = _filters()
    page = page_arg()
    query = search_query(f).order_by(Lead.id.desc()).options(selectinload(Lead.pool))
    leads = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    # ?pool=abc names no pool: not looked up (a get of None is deprecated in SQLAlchemy).
    pool = db.session.get(LeadPool, pool_id) if (pool_id := _int(f.get("pool"))) else None
    campaign_id = _int(f.get("campaign"))
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    agents = list(db.session.scalars(sa.select(User).order_by(User.name)))
    campaigns = list(db.session.scalars(sa.select(Campaign).order_by(Campaign.name)))
    advanced = any(k not in ("q", "pool", "campaign") for k in f)
    return render_page_or_partial(
        "leads/index.html",
        "leads/_table.html",
        leads=leads[:PAGE_SIZE],
        f=f,
        q=f.get("q", ""),
        page=page,
        has_next=len(leads) > PAGE_SIZE,
        columns=_columns(),
        labels=_column_labels(),
        cell=cell,
        pool=pool,
        campaign=campaign,
        pools=_pools(include_system=True),
        campaigns=campaigns,
        agents=agents,
        statuses=LEAD_STATUSES,
        custom_definitions=_custom_definitions(),
        advanced=advanced,
        wrap_codes=[c.code for c in wrap_code_service.codes(current_user.account_id)],
    )


@bp.route("/leads/columns", methods=["POST"])
@login_required
def save_columns():
    """The column chooser: the chosen columns, in the offered order, saved per user."""
    labels = _column_labels()
    chosen = [c for c in labels if c in set(request.form.getlist("columns"))]
    if request.form.get("reset"):
        chosen = []
    prefs = dict(current_user.preferences or {})
    if chosen:
        prefs["lead_columns"] = chosen
    else:
        prefs.pop("lead_columns", None)
    current_user.preferences = prefs  # a new dict: the JSON column sees the change
    db.session.commit()
    flash("Your lead columns are saved.", "success")
    return redirect(_safe_next(request.form.get("next"), url_for("leads.index")))


@bp.app_template_global()
def lead_filter_url(f: dict, **changes) -> str:
    """The leads URL of the filters ``f`` with ``changes`` (None removes a key)."""
    args = {**f, **changes}
    return url_for("leads.index", **{k: v for k, v in args.items() if v not in (None, "")})
