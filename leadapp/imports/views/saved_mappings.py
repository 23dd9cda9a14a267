"""Mapping templates on their own page: list, view, rename, delete (issue 17 item 9)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from leadapp.extensions import db
from leadapp.models import MappingTemplate
from leadapp.security import get_or_404
from leadapp.services import mapping_templates as template_service
from leadapp.services.imports import fields as import_fields

from . import bp


@bp.route("/imports/templates")
@login_required
def templates():
    return render_template(
        "imports/templates.html",
        templates=template_service.templates(),
        labels=_labels(),
    )


@bp.route("/imports/templates/<int:template_id>")
@login_required
def template(template_id: int):
    return render_template(
        "imports/template.html",
        template=get_or_404(MappingTemplate, template_id),
        labels=_labels(),
        error=None,
    )


@bp.route("/imports/templates/<int:template_id>/rename", methods=["POST"])
@login_required
def rename_template(template_id: int):
    template = get_or_404(MappingTemplate, template_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        template_service.rename(template, request.form.get("name", ""), current_user.id)
    except template_service.TemplateError as exc:
        db.session.rollback()
        page = render_template(
            "imports/template.html",
            template=get_or_404(MappingTemplate, template_id),
            labels=_labels(),
            error=str(exc),
        )
        return page, 422
    db.session.commit()
    flash(f"The template is now called '{template.name}'.", "success")
    return redirect(url_for("imports.template", template_id=template.id))


@bp.route("/imports/templates/<int:template_id>/delete", methods=["POST"])
@login_required
def delete_template(template_id: int):
    template = get_or_404(MappingTemplate, template_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    name = template.name
    template_service.delete(template, current_user.id)
    db.session.commit()
    flash(f"The template '{name}' was deleted; imports that used it keep their mapping.", "success")
    return redirect(url_for("imports.templates"))


def _labels() -> dict[str, str]:
    """Field key → label, the full name included (templates show no internal names)."""
    labels = {f.key: f.label for f in import_fields.field_definitions()}
    labels["full_name"] = "Full name (first and last name)"
    return labels
