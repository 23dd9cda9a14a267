"""Add a lead by hand and edit one: the service validates, the view carries."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from leadapp.domain.fields import PHONE_FIELDS
from leadapp.extensions import db
from leadapp.models import (
    Lead,
    LeadPool,
)
from leadapp.security import get_or_404
from leadapp.services import leads as lead_service
from leadapp.templating import international

from ..forms import (
    STANDARD_FORM_FIELDS,
    LeadFieldsForm,
    NewLeadForm,
    with_custom,
    zone_choices,
)
from . import bp
from .common import (
    _custom_definitions,
    _pools,
)

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
