"""Admin page: the account's wrap codes and what each does to its lead (dial again,
callback, completed, closed, do-not-call)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from leadapp.extensions import db
from leadapp.models import WrapCode
from leadapp.models.wrap_code import WRAP_EFFECTS
from leadapp.security import admin_required, get_or_404
from leadapp.services import audit
from leadapp.services import wrap_codes as service

from .forms import EmptyForm
from .views import bp

EFFECT_CHOICES = [(e, service.EFFECT_TEXT[e]) for e in WRAP_EFFECTS]


class WrapCodeForm(FlaskForm):
    # Lengths are checked by the service, in one sentence; the form only carries the values.
    code = StringField("Wrap code", validators=[Optional()])
    label = StringField("Description", validators=[Optional(), Length(max=10_000)])
    effect = SelectField("What it does to the lead", choices=EFFECT_CHOICES, validate_choice=False)


def _page(form: WrapCodeForm, status: int = 200, editing: int | None = None, edit_form=None):
    return (
        render_template(
            "admin/wrap_codes.html",
            codes=service.codes(current_user.account_id),
            form=form,
            edit_form=edit_form,
            editing=editing,
            effects=service.EFFECT_TEXT,
            effect_choices=EFFECT_CHOICES,
            action=EmptyForm(),
        ),
        status,
    )


def _save(form: WrapCodeForm, wrap_code: WrapCode | None):
    """The service's refusal as the form's error, or None when saved."""
    before = (wrap_code.code, wrap_code.label, wrap_code.effect) if wrap_code else None
    try:
        saved = service.save_code(
            current_user.account_id,
            form.code.data or "",
            form.label.data or "",
            form.effect.data or "",
            wrap_code=wrap_code,
        )
    except service.WrapCodeError as exc:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(exc)]
        return None
    audit.record(
        current_user.account_id,
        current_user.id,
        "wrap_code.changed" if before else "wrap_code.added",
        saved,
        before=list(before) if before else None,
        code=saved.code,
        effect=saved.effect,
    )
    db.session.commit()
    return saved


@bp.route("/wrap-codes", methods=["GET", "POST"])
@admin_required
def wrap_codes():
    form = WrapCodeForm()
    if form.validate_on_submit():
        saved = _save(form, None)
        if saved is not None:
            flash(f"{saved.code}: {service.EFFECT_TEXT[saved.effect]}.", "success")
            return redirect(url_for("admin.wrap_codes"))
        return _page(form, 422)
    return _page(form, 422 if form.errors else 200)


@bp.route("/wrap-codes/<int:wrap_code_id>", methods=["POST"])
@admin_required
def edit_wrap_code(wrap_code_id: int):
    wrap_code = get_or_404(WrapCode, wrap_code_id)
    form = WrapCodeForm(prefix=f"c{wrap_code.id}")
    if form.validate_on_submit():
        saved = _save(form, wrap_code)
        if saved is not None:
            flash(
                f"{saved.code} saved: {service.EFFECT_TEXT[saved.effect]}. Leads wrapped "
                "before keep their state; new outcomes follow the rule.",
                "success",
            )
            return redirect(url_for("admin.wrap_codes"))
    elif not form.errors:
        form.code.errors = ["The form expired; load the page and save again."]
    return _page(WrapCodeForm(formdata=None), 422, editing=wrap_code_id, edit_form=form)


@bp.route("/wrap-codes/<int:wrap_code_id>/delete", methods=["POST"])
@admin_required
def delete_wrap_code(wrap_code_id: int):
    wrap_code = get_or_404(WrapCode, wrap_code_id)
    if not EmptyForm().validate_on_submit():
        flash("The form expired; load the page and try again.", "danger")
        return redirect(url_for("admin.wrap_codes"))
    code = wrap_code.code
    audit.record(
        current_user.account_id, current_user.id, "wrap_code.deleted", wrap_code, code=code
    )
    service.delete_code(wrap_code)
    db.session.commit()
    flash(
        f"{code} deleted: leads that carry it keep it, and from now on it dials again.", "success"
    )
    return redirect(url_for("admin.wrap_codes"))
