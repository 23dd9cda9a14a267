"""Admin page: the account's custom lead fields — add, change, remove (with the number of
leads holding a value asked first)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField

from leadapp.domain.fields import FIELD_TYPES
from leadapp.extensions import db
from leadapp.models import FieldDefinition
from leadapp.security import admin_required, get_or_404
from leadapp.services import audit
from leadapp.services import custom_fields as service

from .views import bp

TYPE_CHOICES = [(t, service.TYPE_WORDS[t]) for t in FIELD_TYPES]


class CustomFieldForm(FlaskForm):
    # The rules (and their sentences) live in the service; the form carries the values.
    label = StringField("Label")
    type = SelectField("Type", choices=TYPE_CHOICES, default="text", validate_choice=False)
    required = BooleanField("Required: a lead without a value is refused")
    unique = BooleanField("Unique: no two leads of the account hold the same value")
    max_length = StringField(
        "Maximum length (text)", description="Longer text is cut, with a warning."
    )


class RemoveFieldForm(FlaskForm):
    confirmed_count = HiddenField()


def _standard_fields() -> list[FieldDefinition]:
    return list(
        db.session.scalars(
            sa.select(FieldDefinition)
            .where(FieldDefinition.is_standard.is_(True))
            .order_by(FieldDefinition.position)
        )
    )


def _page(form: CustomFieldForm, status: int = 200):
    fields = service.custom_fields()
    return (
        render_template(
            "admin/custom_fields.html",
            fields=fields,
            counts=service.value_counts(fields),
            standard=_standard_fields(),
            types=service.TYPE_WORDS,
            form=form,
            remove_form=RemoveFieldForm(),
        ),
        status,
    )


@bp.route("/fields", methods=["GET", "POST"])
@admin_required
def custom_fields():
    form = CustomFieldForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            form.label.errors = ["The form expired; load the page and save again."]
            return _page(form, 400)
        try:
            field = service.add_field(
                current_user.account_id,
                form.label.data or "",
                form.type.data or "",
                required=form.required.data,
                unique=form.unique.data,
                max_length=form.max_length.data,
            )
        except service.CustomFieldError as exc:
            db.session.rollback()
            form.label.errors = [str(exc)]
            return _page(form, 422)
        audit.record(
            current_user.account_id,
            current_user.id,
            "field.added",
            field,
            key=field.key,
            label=field.label,
            type=field.type,
        )
        db.session.commit()
        flash(
            f"{field.label} added: map it at import, send it to the API as {field.key}, "
            f"match duplicates on it as custom:{field.key}.",
            "success",
        )
        return redirect(url_for("admin.custom_fields"))
    return _page(form)


def _custom_or_404(field_id: int) -> FieldDefinition:
    field = get_or_404(FieldDefinition, field_id)
    if field.is_standard:
        abort(404)  # standard fields are not edited here
    return field


@bp.route("/fields/<int:field_id>", methods=["GET", "POST"])
@admin_required
def edit_custom_field(field_id: int):
    field = _custom_or_404(field_id)
    data = None
    if request.method == "GET":
        data = {
            "label": field.label,
            "type": field.type,
            "required": field.required,
            "unique": field.unique,
            "max_length": field.max_length or "",
        }
    form = CustomFieldForm(data=data)
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            form.label.errors = ["The form expired; load the page and save again."]
            status = 400
        else:
            try:
                changes = service.change_field(
                    field,
                    form.label.data or "",
                    form.type.data or "",
                    required=form.required.data,
                    unique=form.unique.data,
                    max_length=form.max_length.data,
                )
            except service.CustomFieldError as exc:
                db.session.rollback()
                form.label.errors = [str(exc)]
                status = 422
            else:
                if changes:
                    audit.record(
                        current_user.account_id,
                        current_user.id,
                        "field.changed",
                        field,
                        key=field.key,
                        changes=changes,
                    )
                db.session.commit()
                flash(
                    f"{field.label} saved; its rules apply to leads written from now on."
                    if changes
                    else f"Nothing changed in {field.label}.",
                    "success",
                )
                return redirect(url_for("admin.custom_fields"))
    count = service.value_counts([field])[field.id]
    return (
        render_template(
            "admin/custom_field.html",
            field=field,
            form=form,
            count=count,
            remove_form=RemoveFieldForm(),
        ),
        status,
    )


@bp.route("/fields/<int:field_id>/remove", methods=["POST"])
@admin_required
def remove_custom_field(field_id: int):
    field = _custom_or_404(field_id)
    form = RemoveFieldForm()
    if not form.validate_on_submit():
        flash("The form expired; load the page and try again.", "danger")
        return redirect(url_for("admin.custom_fields"))
    raw = (form.confirmed_count.data or "").strip()
    confirmed = int(raw) if raw.isdigit() and len(raw) < 12 else None
    count = service.value_counts([field])[field.id]
    if count and confirmed != count:
        # Ask first, with the number of leads that would lose their value.
        return (
            render_template(
                "admin/custom_field_remove.html", field=field, count=count, form=RemoveFieldForm()
            ),
            200 if confirmed is None else 409,
        )
    label = field.label
    audit.record(
        current_user.account_id,
        current_user.id,
        "field.removed",
        field,
        key=field.key,
        label=label,
        values_removed=count,
    )
    try:
        removed = service.remove_field(field, confirmed_count=confirmed)
    except service.CustomFieldError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("admin.custom_fields"))
    db.session.commit()
    flash(
        f"{label} removed" + (f", with the values of {removed:,} lead(s)." if removed else "."),
        "success",
    )
    return redirect(url_for("admin.custom_fields"))
