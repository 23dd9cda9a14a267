"""The Leads page: quick and advanced search, the column chooser, filter URLs."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import (
    Campaign,
    Lead,
    LeadPool,
    User,
)
from leadapp.models.lead import LEAD_STATUSES
from leadapp.routing import page_arg
from leadapp.services import lead_search
from leadapp.services import wrap_codes as wrap_code_service
from leadapp.templating import international, local_time, render_page_or_partial

from . import bp
from .common import (
    _account,
    _custom_definitions,
    _int,
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
# ---------------------------------------------------------------------------------------
# Search (services/lead_search.py)


def filters(args=None) -> dict[str, str]:
    """The Leads page's filters in ``args`` (the request's query by default)."""
    args = request.args if args is None else args
    out = {k: (args.get(k) or "").strip() for k in lead_search.FILTER_KEYS}
    for d in _custom_definitions():
        out[f"cf_{d.key}"] = (args.get(f"cf_{d.key}") or "").strip()
    return {k: v for k, v in out.items() if v}


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


def _cursor(name: str) -> int | None:
    return _int(request.args.get(name))


@bp.route("/leads")
@login_required
def index():
    f = filters()
    page = page_arg()
    query = lead_search.search_query(f, _account()).options(selectinload(Lead.pool))
    after, before = _cursor("after"), _cursor("before")
    if after is None and before is None and page > 1:
        # An old ?page=N link (no cursor): still answered, by an offset.
        rows = db.session.scalars(
            query.order_by(Lead.id.desc()).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
        ).all()
        shown = lead_search.Page(list(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE, True)
    else:
        shown = lead_search.keyset_page(query, PAGE_SIZE, after=after, before=before)
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
        leads=shown.leads,
        shown=shown,
        total=lead_search.result_count(query),
        count_shown=lead_search.COUNT_SHOWN,
        f=f,
        q=f.get("q", ""),
        page=page,
        has_next=shown.has_next,
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
        filter_query=urlencode(f),
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
