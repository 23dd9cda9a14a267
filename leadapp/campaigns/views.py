"""Campaign pages: every user sees the account's projects, campaigns and their pools;
admins change them. The pool picker and the assignment settings are htmx partials of the
campaign page and work as plain forms too."""

from __future__ import annotations

import zoneinfo

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from leadapp.domain.calling_hours import DAY_KEYS, format_time, parse_state_lines, state_lines
from leadapp.domain.zone_evidence import region_zones
from leadapp.extensions import db
from leadapp.models import Campaign, PoolAssignment, Project
from leadapp.models.base import is_id
from leadapp.security import admin_required, get_or_404
from leadapp.services import calling_hours as calling_hours_service
from leadapp.services import campaign_duplicates
from leadapp.services import campaigns as service
from leadapp.services.campaigns import CampaignError
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.pool_grid import account_now

from .forms import (
    ApiDuplicatesForm,
    AssignmentSettingsForm,
    CallingHoursForm,
    CampaignForm,
    EmptyForm,
    PickerForm,
    ProjectForm,
)

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns", template_folder="templates")

TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def _projects() -> list[Project]:
    return list(db.session.scalars(sa.select(Project).order_by(Project.name)))


def _refused(message: str, page):
    """Nothing of the refused change stays; htmx shows the sentence in the page's modal,
    a plain form gets the page again with the sentence on top."""
    db.session.rollback()
    if request.htmx:
        return message, 422, TEXT
    flash(message, "danger")
    return page(), 422


# --- Campaign list, projects -----------------------------------------------------------


@bp.route("/")
@login_required
def index():
    campaigns = db.session.scalars(
        sa.select(Campaign).join(Campaign.project).order_by(Project.name, Campaign.name)
    ).all()
    pool_counts = dict(
        db.session.execute(
            sa.select(PoolAssignment.campaign_id, sa.func.count(PoolAssignment.id)).group_by(
                PoolAssignment.campaign_id
            )
        ).all()
    )
    return render_template(
        "campaigns/index.html",
        campaigns=campaigns,
        pool_counts=pool_counts,
        has_projects=bool(_projects()),
    )


def _projects_page(form: ProjectForm | None = None):
    projects = _projects()
    counts = dict(
        db.session.execute(
            sa.select(Campaign.project_id, sa.func.count(Campaign.id)).group_by(Campaign.project_id)
        ).all()
    )
    return render_template(
        "campaigns/projects.html",
        projects=projects,
        counts=counts,
        form=form or ProjectForm(formdata=None),
        rename=EmptyForm(),
    )


@bp.route("/projects")
@login_required
def projects():
    return _projects_page()


@bp.route("/projects", methods=["POST"])
@admin_required
def create_project():
    form = ProjectForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        project = service.create_project(current_user.account, form.name.data, current_user.id)
    except CampaignError as exc:
        db.session.rollback()
        form.name.errors.append(str(exc))
        return _projects_page(form), 422
    db.session.commit()
    flash(f"The project '{project.name}' is ready for campaigns.", "success")
    return redirect(url_for("campaigns.projects"))


@bp.route("/projects/<int:project_id>", methods=["POST"])
@admin_required
def rename_project(project_id: int):
    project = get_or_404(Project, project_id)
    form = ProjectForm()
    if not form.validate_on_submit():
        abort(400)
    old = project.name
    try:
        changed = service.rename_project(project, form.name.data, current_user.id)
    except CampaignError as exc:
        return _refused(str(exc), _projects_page)
    db.session.commit()
    if changed:
        flash(f"The project '{old}' is now called '{project.name}'.", "success")
    return redirect(url_for("campaigns.projects"))


# --- Campaign settings -----------------------------------------------------------------


def _form_page(form: CampaignForm, campaign: Campaign | None, status: int = 200):
    return (
        render_template(
            "campaigns/form.html",
            form=form,
            campaign=campaign,
            zones=sorted(zoneinfo.available_timezones()),
            region_zones=region_zones(form.region.data or ""),
        ),
        status,
    )


def _settings(form: CampaignForm) -> dict:
    chosen = form.project_id.data
    project = db.session.get(Project, chosen) if is_id(chosen) else None  # 2**31 is none
    if project is None or project.account_id != current_user.account_id:
        raise CampaignError("Choose one of this account's projects.")
    return {
        "name": form.name.data or "",
        "project": project,
        "api_code": form.api_code.data or "",
        "purpose": form.purpose.data or "",
        "timezone": form.timezone.data or "",
        "region": form.region.data or "",
        "window_start": form.window_start.data or "",
        "window_end": form.window_end.data or "",
        "weighting": form.weighting.data,
        "active": form.active.data,
        "zone_outside_region": form.zone_outside_region.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    account = current_user.account
    form = CampaignForm(
        projects=_projects(),
        data=None
        if request.method == "POST"
        else {"timezone": account.timezone, "region": account.default_region},
    )
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            settings = _settings(form)
            campaign = service.create_campaign(
                account,
                settings["name"],
                project=settings["project"],
                purpose=settings["purpose"],
                region=settings["region"],
                timezone=settings["timezone"],
                api_code=settings["api_code"],
                window_start=service.parse_time(settings["window_start"], "window start"),
                window_end=service.parse_time(settings["window_end"], "window end"),
                weighting=settings["weighting"],
                active=settings["active"],
                zone_outside_region=settings["zone_outside_region"],
                user_id=current_user.id,
            )
        except CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return _form_page(form, None, 422)
        db.session.commit()
        flash(
            f"The campaign '{campaign.name}' is ready; its API code is {campaign.api_code}.",
            "success",
        )
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    return _form_page(form, None)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(campaign_id: int):
    campaign = get_or_404(Campaign, campaign_id)
    data = None
    if request.method == "GET":
        data = {
            "name": campaign.name,
            "project_id": campaign.project_id,
            "api_code": campaign.api_code,
            "purpose": campaign.purpose,
            "timezone": campaign.timezone,
            "region": campaign.default_region,
            "window_start": campaign.window_start.strftime("%H:%M"),
            "window_end": campaign.window_end.strftime("%H:%M"),
            "weighting": campaign.weighting,
            "active": campaign.active,
        }
    form = CampaignForm(projects=_projects(), purpose=campaign.purpose, data=data)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            changes = service.update_campaign(campaign, **_settings(form), user_id=current_user.id)
        except CampaignError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return _form_page(form, campaign, 422)
        db.session.commit()
        flash(
            f"The campaign '{campaign.name}' is saved."
            if changes
            else f"Nothing changed in the campaign '{campaign.name}'.",
            "success",
        )
        return redirect(url_for("campaigns.show", campaign_id=campaign.id))
    return _form_page(form, campaign)


# --- The campaign page and its pools ---------------------------------------------------


def _assignment_context(campaign: Campaign, pending: list[int] | None = None, **extra) -> dict:
    rows = service.assignments(campaign)
    current = {a.pool_id for a in rows}
    pools = service.assignable_pools(campaign.account_id)
    by_id = {p.id: p for p in pools}
    wanted = current if pending is None else {i for i in pending if i in by_id}
    to_dial = {a.pool_id for a in rows if a.to_dial}
    raw_shares = service.assignment_shares(campaign, rows)
    today = account_now(current_user.account.timezone).date()
    settings = AssignmentSettingsForm(
        formdata=None,
        data={
            "rows": [
                {
                    "assignment_id": a.id,
                    "to_dial": a.to_dial,
                    "strategy": a.strategy,
                    "weight": str(a.weight),
                }
                for a in rows
            ]
        },
    )
    return {
        "campaign": campaign,
        "rows": rows,
        "settings": settings,
        "settings_rows": list(zip(settings.rows, rows, strict=True)),
        "ready": {a.id: service.ready_in_campaign(a, today) for a in rows},
        "shares": {k: service.format_share(v) for k, v in raw_shares.items()},
        "empty": {a.id for a in rows if service.is_empty(a.pool)},
        "all_zero": any(
            a.to_dial and not service.is_empty(a.pool) for a in rows if a.id in raw_shares
        )
        and not any(raw_shares.values()),
        "available": [p for p in pools if p.id not in wanted],
        "assigned": sorted((by_id[i] for i in wanted), key=lambda p: p.name),
        "to_dial": to_dial,
        "adding": sorted(by_id[i].name for i in wanted - current),
        "removing": sorted(by_id[i].name for i in current - wanted if i in by_id),
        "picker": PickerForm(formdata=None),
        "confirm": None,
        "notice": None,
        **extra,
    }


def _duplicates_context(campaign: Campaign, form: ApiDuplicatesForm | None = None) -> dict:
    rules = campaign_duplicates.api_rules(campaign)
    if form is None:
        form = ApiDuplicatesForm(formdata=None, data=rules)
    form.match.choices = list(import_duplicates.key_labels().items())
    return {
        "api_rules": campaign_duplicates.describe(rules),
        "api_form": form,
    }


def _hours_context(campaign: Campaign, form: CallingHoursForm | None = None) -> dict:
    if form is None:
        hours = calling_hours_service.campaign_hours(campaign)
        data = {
            k: "" if w is None else f"{format_time(w[0])}-{format_time(w[1])}"
            for k, w in zip(DAY_KEYS, hours.days, strict=True)
        }
        data.update(states=state_lines(hours), holidays_off=hours.holidays_off)
        form = CallingHoursForm(formdata=None, data=data)
    return {"hours": calling_hours_service.describe(campaign), "hours_form": form}


def _show_page(
    campaign: Campaign,
    pending: list[int] | None = None,
    api_form: ApiDuplicatesForm | None = None,
    hours_form: CallingHoursForm | None = None,
    **extra,
):
    return render_template(
        "campaigns/show.html",
        **_assignment_context(campaign, pending, **extra),
        **_duplicates_context(campaign, api_form),
        **_hours_context(campaign, hours_form),
    )


@bp.route("/<int:campaign_id>/calling-hours", methods=["POST"])
@admin_required
def calling_hours(campaign_id: int):
    """Save the campaign's calling hours (per weekday, stricter state hours, holidays)."""
    campaign = get_or_404(Campaign, campaign_id)
    form = CallingHoursForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        days = {}
        for key in DAY_KEYS:
            text = (form[key].data or "").strip()
            days[key] = text.replace("–", "-").split("-", 1) if text else None
        settings = {
            "days": days,
            "states": parse_state_lines(form.states.data or ""),
            "holidays_off": bool(form.holidays_off.data),
        }
        changed = calling_hours_service.set_calling_hours(
            campaign, settings, user_id=current_user.id
        )
    except (ValueError, calling_hours_service.CallingHoursError) as exc:
        db.session.rollback()
        form.states.errors = [str(exc)]
        return _show_page(campaign, hours_form=form), 422
    db.session.commit()
    flash(
        "The calling hours are saved." if changed else "Nothing changed in the calling hours.",
        "success",
    )
    return redirect(url_for("campaigns.show", campaign_id=campaign.id) + "#calling-hours")


@bp.route("/<int:campaign_id>")
@login_required
def show(campaign_id: int):
    return _show_page(get_or_404(Campaign, campaign_id))


@bp.route("/<int:campaign_id>/api-duplicates", methods=["POST"])
@admin_required
def api_duplicates(campaign_id: int):
    """Save the duplicate rules leads created through the API follow."""
    campaign = get_or_404(Campaign, campaign_id)
    form = ApiDuplicatesForm()
    if not form.validate_on_submit():
        abort(400)
    rules = {
        "match": list(form.match.data or []),
        "match_mode": form.match_mode.data or "",
        "scope": form.scope.data or "",
        "open_only": bool(form.open_only.data),
        "include_inactive": bool(form.include_inactive.data),
        "action": form.action.data or "",
        "update_mode": form.update_mode.data or "",
        "multiple": form.multiple.data or "",
    }
    try:
        changes = campaign_duplicates.set_api_rules(campaign, rules, user_id=current_user.id)
    except campaign_duplicates.RulesError as exc:
        db.session.rollback()
        form.match.errors = [str(exc)]
        return _show_page(campaign, api_form=form), 422
    db.session.commit()
    flash(
        "The API's duplicate rules are saved: "
        + " ".join(campaign_duplicates.describe(campaign_duplicates.api_rules(campaign)))
        if changes
        else "Nothing changed in the API's duplicate rules.",
        "success",
    )
    return redirect(url_for("campaigns.show", campaign_id=campaign.id) + "#api-duplicates")


def _picker_form() -> PickerForm:
    form = PickerForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.route("/<int:campaign_id>/pools/move", methods=["POST"])
@admin_required
def move_pools(campaign_id: int):
    """An arrow of the picker: move the selected pools to the other list (nothing saved)."""
    campaign = get_or_404(Campaign, campaign_id)
    form = _picker_form()
    pending = list(dict.fromkeys(form.assigned.data or []))
    if request.args.get("direction") == "remove":
        leaving = set(form.selected_assigned.data or [])
        pending = [i for i in pending if i not in leaving]
    else:
        pending += [i for i in form.selected_available.data or [] if i not in pending]
    try:
        service.plan_assignment(campaign, pending)  # refuse at once, not only at Apply
    except CampaignError as exc:
        return _refused(str(exc), lambda: _show_page(campaign))
    if request.htmx:
        return render_template("campaigns/_picker.html", **_assignment_context(campaign, pending))
    return _show_page(campaign, pending)


@bp.route("/<int:campaign_id>/pools/apply", methods=["POST"])
@admin_required
def apply_pools(campaign_id: int):
    campaign = get_or_404(Campaign, campaign_id)
    form = _picker_form()
    pending = list(dict.fromkeys(form.assigned.data or []))
    try:
        plan = service.plan_assignment(campaign, pending)
        if plan.remove and request.args.get("confirmed") != "1":
            names = service.quote_names([a.pool.name for a in plan.remove])
            confirm = (
                f"Unassigning {names} loses the to-dial flag, dialer strategy and weight kept "
                "for this campaign; press “Unassign and apply” to go on."
            )
            context = _assignment_context(campaign, pending, confirm=confirm)
            if request.htmx:
                return render_template("campaigns/_assignment.html", **context)
            return render_template(
                "campaigns/show.html",
                **context,
                **_duplicates_context(campaign),
                **_hours_context(campaign),
            )
        plan = service.apply_assignment(campaign, pending, current_user.id)
    except CampaignError as exc:
        return _refused(str(exc), lambda: _show_page(campaign, pending))
    db.session.commit()
    parts = []
    if plan.add:
        parts.append(f"{len(plan.add)} assigned")
    if plan.remove:
        parts.append(f"{len(plan.remove)} unassigned")
    notice = f"Pools {' and '.join(parts)}." if parts else "No pools changed."
    if request.htmx:
        return render_template(
            "campaigns/_assignment.html", **_assignment_context(campaign, notice=notice)
        )
    flash(notice, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/pools/settings", methods=["POST"])
@admin_required
def pool_settings(campaign_id: int):
    """To dial, dialer strategy and weight of every assigned pool, saved at once."""
    campaign = get_or_404(Campaign, campaign_id)
    form = AssignmentSettingsForm()
    if not form.validate_on_submit():
        abort(400)
    by_id = {a.id: a for a in service.assignments(campaign)}
    changed = 0
    try:
        for row in form.rows:
            assignment = by_id.get(row.assignment_id.data)
            if assignment is None:
                raise CampaignError(
                    "The campaign's pools changed meanwhile; reload the page and save again."
                )
            changes = service.update_assignment(
                assignment,
                to_dial=row.to_dial.data,
                strategy=row.strategy.data,
                weight=row.weight.data,
                user_id=current_user.id,
            )
            changed += bool(changes)
    except CampaignError as exc:
        return _refused(str(exc), lambda: _show_page(campaign))
    db.session.commit()
    notice = (
        f"Settings saved for {changed} pool{'s' if changed != 1 else ''}."
        if changed
        else "No settings changed."
    )
    if request.htmx:
        return render_template(
            "campaigns/_assignment.html", **_assignment_context(campaign, notice=notice)
        )
    flash(notice, "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id))
