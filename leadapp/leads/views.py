"""Leads: by pool and across a campaign, quick and advanced search, a column chooser,
add / edit / wrap code / copy / delete, call history; the do-not-call list.

Lead data is validated by ``services.leads`` (the import engine's rules); these views
only carry it and show what the service said."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from leadapp.domain import phones as phone_domain
from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import (
    AuditLog,
    BackgroundJob,
    Campaign,
    DoNotCallNumber,
    FieldDefinition,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.models.base import is_id
from leadapp.models.lead import LEAD_STATUSES
from leadapp.routing import page_arg
from leadapp.security import admin_required, get_or_404
from leadapp.services import dnc as dnc_service
from leadapp.services import leads as lead_service
from leadapp.services import resume as resume_service
from leadapp.tasks import QueueUnavailable, dispatch, dispatch_again
from leadapp.tasks.dnc import upload_dnc_file
from leadapp.templating import international, local_time, render_page_or_partial

from .forms import (
    STANDARD_FORM_FIELDS,
    WRAP_CODES,
    CopyForm,
    DncAddForm,
    DncUploadForm,
    LeadFieldsForm,
    NewLeadForm,
    WrapCodeForm,
    with_custom,
    zone_choices,
)

bp = Blueprint("leads", __name__, template_folder="templates")
PAGE_SIZE = 50
DNC_PAGE_SIZE = 50

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
# Helpers


def _account():
    return current_user.account


def _custom_definitions() -> list[FieldDefinition]:
    return list(
        db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.is_standard.is_(False))
            .order_by(FieldDefinition.position, FieldDefinition.id)
        )
    )


def _pools(include_system: bool = False) -> list[LeadPool]:
    query = sa.select(LeadPool).order_by(LeadPool.name)
    if not include_system:
        query = query.where(LeadPool.is_system.is_(False))
    return list(db.session.scalars(query))


def _zone() -> ZoneInfo:
    return ZoneInfo(_account().timezone)


def _day_start_utc(day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(0, 0), tzinfo=_zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()) if (text or "").strip() else None
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    text = (text or "").strip().lstrip("#")
    number = int(text) if text.isascii() and text.isdigit() else None
    return number if is_id(number) else None  # past an INTEGER column: no object


def _safe_next(target: str | None, fallback: str) -> str:
    """Only paths of this site (never another host) are followed after a form; a line break
    or other control character (never in a path this site links to) is refused too."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return fallback


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
        wrap_codes=WRAP_CODES,
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


# ---------------------------------------------------------------------------------------
# Add, edit


def _fill_zone_choices(form) -> None:
    form.timezone.choices = zone_choices()


def _form_data(form, custom_defs) -> dict[str, str | None]:
    data = {key: (getattr(form, key).data or "").strip() for key in STANDARD_FORM_FIELDS}
    for d in custom_defs:
        data[d.key] = (getattr(form, f"cf_{d.key}").data or "").strip()
    return data


def _show_errors(form, errors: dict[str, str]) -> list[str]:
    """Put the service's errors on the form's fields; return those without a field."""
    loose = []
    for key, message in errors.items():
        name = key if key in STANDARD_FORM_FIELDS else f"cf_{key}"
        field = getattr(form, name, None)
        if field is None:
            loose.append(f"{key}: {message}")
        else:
            field.errors = [*field.errors, message]
    return loose


@bp.route("/leads/new", methods=["GET", "POST"])
@login_required
def new():
    custom_defs = _custom_definitions()
    form = with_custom(NewLeadForm, custom_defs)()
    pools = _pools()
    form.pool.choices = [(p.id, p.name) for p in pools]
    _fill_zone_choices(form)
    if request.method == "GET" and (pool_id := request.args.get("pool", type=int)):
        form.pool.data = pool_id
    problems: list[str] = []
    if not pools:
        flash("There is no lead pool yet: import a file first (Imports → New).", "warning")
    if form.validate_on_submit():
        pool = get_or_404(LeadPool, form.pool.data)
        try:
            outcome = lead_service.create_lead(
                pool, _form_data(form, custom_defs), user_id=current_user.id, source="manual"
            )
        except lead_service.LeadError as exc:
            db.session.rollback()
            problems.append(str(exc))
        else:
            if outcome.errors:
                db.session.rollback()
                problems += _show_errors(form, outcome.errors)
            elif outcome.action == "discarded":
                db.session.rollback()
                ids = ", ".join(f"#{i}" for i in outcome.matches)
                problems.append(
                    f"This lead was not added: it duplicates lead {ids} (same phone in the "
                    "campaign). Open that lead to edit it instead."
                )
            else:
                db.session.commit()
                for key, message in outcome.warnings.items():
                    flash(f"{key}: {message}", "warning")
                flash(_outcome_message(outcome), "success")
                return redirect(url_for("leads.show", lead_id=outcome.lead.id))
    status = 422 if (form.errors or problems) else 200
    return render_template(
        "leads/new.html",
        form=form,
        custom_defs=custom_defs,
        problems=problems,
        matches=[],
    ), status


def _outcome_message(outcome) -> str:
    lead = outcome.lead
    others = ", ".join(f"#{i}" for i in outcome.matches)
    return {
        "created": f"Lead #{lead.id} added.",
        "notified": f"Lead #{lead.id} added; it matches existing lead(s) {others}.",
        "deactivated": f"Lead #{lead.id} added; the matching lead(s) {others} were deactivated.",
        "removed": f"Lead #{lead.id} added; the matching lead(s) {others} were set to removed.",
        "updated": f"The existing lead #{lead.id} was updated instead of adding a new one.",
        "moved": f"The existing lead #{lead.id} was moved into this pool instead.",
    }.get(outcome.action, f"Lead #{lead.id} saved.")


def _edit_initial(lead: Lead, custom_defs) -> dict[str, str]:
    data = {key: getattr(lead, key) or "" for key in STANDARD_FORM_FIELDS}
    for key in PHONE_FIELDS:
        data[key] = international(getattr(lead, key))
    for d in custom_defs:
        value = (lead.custom or {}).get(d.key)
        data[f"cf_{d.key}"] = "" if value is None else str(value)
    return data


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@login_required
def edit(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    custom_defs = _custom_definitions()
    initial = _edit_initial(lead, custom_defs)
    form_class = with_custom(LeadFieldsForm, custom_defs)
    form = form_class(data=initial) if request.method == "GET" else form_class()
    form.timezone.choices = zone_choices("Detect again (from the phone number)")
    problems: list[str] = []
    if form.validate_on_submit():
        submitted = _form_data(form, custom_defs)
        # Only what was changed: an unchanged phone keeps the text it was received as.
        changed = {}
        for key, value in submitted.items():
            name = key if key in STANDARD_FORM_FIELDS else f"cf_{key}"
            if value != (initial.get(name) or "").strip():
                changed[key] = value
        try:
            outcome = lead_service.update_lead(lead, changed, user_id=current_user.id)
        except lead_service.LeadError as exc:
            db.session.rollback()
            problems.append(str(exc))
        else:
            if outcome.errors:
                db.session.rollback()
                problems += _show_errors(form, outcome.errors)
            else:
                db.session.commit()
                for key, message in outcome.warnings.items():
                    flash(f"{key}: {message}", "warning")
                flash("Lead saved." if changed else "Nothing was changed.", "success")
                return redirect(url_for("leads.show", lead_id=lead.id))
    status = 422 if (form.errors or problems) else 200
    return render_template(
        "leads/edit.html", lead=lead, form=form, custom_defs=custom_defs, problems=problems
    ), status


# ---------------------------------------------------------------------------------------
# One lead


# Why a lead is do-not-call (``Lead.dnc_reason``), as the lead page says it.
DNC_WHY = {
    "number": "its number is on the do-not-call list",
    "copy": "a duplicate of it, moved by the Lead Deduplicator, is on the do-not-call list",
    "hand": "it was marked do-not-call by hand",
}


def dial_state(lead: Lead) -> list[str]:
    """Why the lead is not ready to dial (empty: it is ready)."""
    reasons = []
    if lead.do_not_call:
        reasons.append(DNC_WHY.get(lead.dnc_reason, "it is marked do-not-call"))
    if lead.status != "open":
        reasons.append(f"its status is {lead.status}")
    if lead.completed:
        reasons.append("it is completed")
    if not lead.phone1:
        reasons.append("it has no valid phone")
    pool = lead.pool
    today = dt.datetime.now(_zone()).date()
    if pool.status != "active" or pool.is_system:
        reasons.append("its pool is inactive")
    elif (pool.active_from and today < pool.active_from) or (
        pool.active_until and today > pool.active_until
    ):
        reasons.append("its pool is outside its active dates")
    to_dial = db.session.scalar(
        sa.select(PoolAssignment.id).where(
            PoolAssignment.pool_id == pool.id, PoolAssignment.to_dial.is_(True)
        )
    )
    if not to_dial:
        reasons.append("its pool is not assigned to a campaign to dial")
    return reasons


def _wrap_form(lead: Lead) -> WrapCodeForm:
    form = WrapCodeForm(
        data={
            "wrap_code": lead.wrap_code or "",
            "completed": lead.completed,
            "callback_at": _to_local(lead.callback_at),
        }
    )
    return form


def _to_local(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(_zone()).replace(tzinfo=None)


def _copy_form(lead: Lead) -> CopyForm:
    form = CopyForm()
    form.pool.choices = [(p.id, p.name) for p in _pools() if p.id != lead.pool_id]
    return form


def _show(lead: Lead, *, wrap_form=None, copy_form=None, status: int = 200):
    interactions = list(
        db.session.scalars(
            sa.select(Interaction)
            .where(Interaction.lead_id == lead.id)
            .order_by(Interaction.at.desc(), Interaction.id.desc())
            .limit(500)
        )
    )
    campaign_ids = {i.campaign_id for i in interactions if i.campaign_id}
    agent_ids = {i.agent_id for i in interactions if i.agent_id}
    campaigns = {
        c.id: c
        for c in db.session.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    agents = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(agent_ids)))}
    changes = list(
        db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.object_type == "Lead", AuditLog.object_id == lead.id)
            .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            .limit(50)
        )
    )
    users = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_({c.user_id for c in changes if c.user_id}))
        )
    }
    custom_defs = _custom_definitions()
    return render_template(
        "leads/show.html",
        changes=changes,
        users=users,
        lead=lead,
        interactions=interactions,
        campaigns=campaigns,
        agents=agents,
        not_ready=dial_state(lead),
        wrap_form=wrap_form or _wrap_form(lead),
        copy_form=copy_form or _copy_form(lead),
        wrap_codes=WRAP_CODES,
        custom_defs=custom_defs,
        callback_codes=sorted(lead_service.CALLBACK_CODES),
    ), status


@bp.route("/leads/<int:lead_id>")
@login_required
def show(lead_id: int):
    return _show(get_or_404(Lead, lead_id))


@bp.route("/leads/<int:lead_id>/wrap-code", methods=["POST"])
@login_required
def wrap_code(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = WrapCodeForm()
    if form.validate_on_submit():
        callback_at = None
        if form.callback_at.data:
            callback_at = form.callback_at.data.replace(tzinfo=_zone())
        try:
            lead_service.set_wrap_code(
                lead,
                form.wrap_code.data,
                completed=form.completed.data,
                callback_at=callback_at,
                user_id=current_user.id,
            )
        except lead_service.LeadError as exc:
            db.session.rollback()
            form.wrap_code.errors = [*form.wrap_code.errors, str(exc)]
        else:
            db.session.commit()
            flash("Wrap code saved.", "success")
            return redirect(url_for("leads.show", lead_id=lead.id))
    lead = get_or_404(Lead, lead_id)
    return _show(lead, wrap_form=form, status=422)


@bp.route("/leads/<int:lead_id>/copy", methods=["POST"])
@login_required
def copy(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = _copy_form(lead)
    if form.validate_on_submit():
        target = get_or_404(LeadPool, form.pool.data)
        try:
            outcome = lead_service.copy_lead(
                lead, target, as_update_by_customer_key=form.as_update.data, user_id=current_user.id
            )
        except lead_service.LeadError as exc:
            db.session.rollback()
            form.pool.errors = [*form.pool.errors, str(exc)]
        else:
            db.session.commit()
            if outcome.action == "updated":
                flash(
                    f"Updated lead #{outcome.lead.id} in {target.name} (same customer key).",
                    "success",
                )
            else:
                flash(f"Copied to {target.name} as lead #{outcome.lead.id}.", "success")
            return redirect(url_for("leads.show", lead_id=outcome.lead.id))
    return _show(get_or_404(Lead, lead_id), copy_form=form, status=422)


@bp.route("/leads/<int:lead_id>/delete", methods=["POST"])
@login_required
def delete(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    pool_id, name = lead.pool_id, lead.display_name
    lead_service.delete_lead(lead, user_id=current_user.id)
    db.session.commit()
    flash(f"Lead #{lead_id} ({name}) deleted.", "success")
    return redirect(url_for("leads.index", pool=pool_id))


# ---------------------------------------------------------------------------------------
# Do-not-call list


def _dnc_context(q: str, page: int) -> dict:
    query = sa.select(DoNotCallNumber)
    if q:
        e164, _ext, _reason = phone_domain.normalise_phone(q, _account().default_region)
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [DoNotCallNumber.note.icontains(q, autoescape=True)]
        if e164:
            conditions.append(DoNotCallNumber.phone == e164)
        if digits:
            conditions.append(DoNotCallNumber.phone.contains(digits, autoescape=True))
        query = query.where(sa.or_(*conditions))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(DoNotCallNumber.added_at.desc(), DoNotCallNumber.id.desc())
        .limit(DNC_PAGE_SIZE + 1)
        .offset((page - 1) * DNC_PAGE_SIZE)
    ).all()
    return {
        "numbers": rows[:DNC_PAGE_SIZE],
        "q": q,
        "page": page,
        "has_next": len(rows) > DNC_PAGE_SIZE,
        "total": total,
    }


def _dnc_page(add_form=None, upload_form=None, result=None, status=200, upload_job=None):
    q = (request.args.get("q") or "").strip()
    page = page_arg()
    return render_page_or_partial(
        "leads/dnc.html",
        "leads/_dnc_table.html",
        add_form=add_form or DncAddForm(formdata=None),
        upload_form=upload_form or DncUploadForm(formdata=None),
        result=result,
        upload_job=upload_job,
        **_dnc_context(q, page),
    ), status


@bp.route("/leads/do-not-call")
@login_required
def dnc():
    upload = request.args.get("upload", type=int)
    if upload is None:
        return _dnc_page()
    job = get_or_404(BackgroundJob, upload)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    return _dnc_page(upload_job=job, result=dnc_service.UploadResult.of(job))


@bp.route("/leads/do-not-call", methods=["POST"])
@login_required
def dnc_add():
    form = DncAddForm()
    if form.validate_on_submit():
        try:
            entry, added, marked = dnc_service.add_number(
                _account(), form.phone.data, user_id=current_user.id, note=form.note.data or ""
            )
        except dnc_service.DncError as exc:
            db.session.rollback()
            form.phone.errors = [*form.phone.errors, str(exc)]
        else:
            db.session.commit()
            shown = international(entry.phone)
            if added:
                flash(
                    f"{shown} is on the do-not-call list; {marked} lead(s) marked do-not-call.",
                    "success",
                )
            else:
                flash(f"{shown} was already on the do-not-call list.", "info")
            return redirect(_safe_next(request.form.get("next"), url_for("leads.dnc")))
    return _dnc_page(add_form=form, status=422)


@bp.route("/leads/do-not-call/upload", methods=["POST"])
@login_required
def dnc_upload():
    """The list is saved and added by a background job (a national list has millions of
    numbers); the page then shows the job until it is done, and its result."""
    form = DncUploadForm()
    if not form.validate_on_submit():
        return _dnc_page(upload_form=form, status=422)
    try:
        job, path = dnc_service.receive_upload(
            _account(), form.file.data.stream, user_id=current_user.id
        )
    except dnc_service.DncError as exc:
        db.session.rollback()
        form.file.errors = [*form.file.errors, str(exc)]
        return _dnc_page(upload_form=form, status=422)
    shown = url_for("leads.dnc", upload=job.id)
    job.result = {"next_url": shown}  # where the progress widget goes once the job is done
    db.session.commit()
    try:
        dispatch(job, upload_dnc_file, str(path), form.note.data or "")
    except QueueUnavailable as exc:
        path.unlink(missing_ok=True)
        form.file.errors = [*form.file.errors, str(exc)]
        return _dnc_page(upload_form=form, status=503)
    return redirect(shown)


@bp.route("/leads/do-not-call/uploads/<int:job_id>/run-again", methods=["POST"])
@login_required
def dnc_run_again(job_id: int):
    """Run a failed, stalled or lost upload again from its kept file (anyone who may
    upload may); its page then follows the job again."""
    job = get_or_404(BackgroundJob, job_id)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    shown = url_for("leads.dnc", upload=job.id)
    try:
        resume_service.take_over_dnc_upload(job)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    try:
        dispatch_again(job, upload_dnc_file, *(job.args or []))
    except QueueUnavailable as exc:
        flash(str(exc), "danger")  # the row says so too, and the file is still kept
    return redirect(shown)


@bp.route("/leads/do-not-call/uploads/<int:job_id>/discard", methods=["POST"])
@login_required
def dnc_discard(job_id: int):
    """Give up a failed or stopped upload: its file is deleted once that is committed."""
    job = get_or_404(BackgroundJob, job_id)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    shown = url_for("leads.dnc", upload=job.id)
    try:
        path = resume_service.discard_dnc_upload(job)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(resume_service.DISCARDED, "info")
    return redirect(shown)


@bp.route("/leads/do-not-call/<int:number_id>/delete", methods=["POST"])
@admin_required
def dnc_remove(number_id: int):
    entry = get_or_404(DoNotCallNumber, number_id)
    shown = international(entry.phone)
    unmarked = dnc_service.remove_number(entry, user_id=current_user.id)
    db.session.commit()
    flash(
        f"{shown} was removed from the do-not-call list; {unmarked} lead(s) may be dialled again.",
        "success",
    )
    return redirect(url_for("leads.dnc"))


@bp.app_template_global()
def lead_filter_url(f: dict, **changes) -> str:
    """The leads URL of the filters ``f`` with ``changes`` (None removes a key)."""
    args = {**f, **changes}
    return url_for("leads.index", **{k: v for k, v in args.items() if v not in (None, "")})
