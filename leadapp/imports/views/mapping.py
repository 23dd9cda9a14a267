"""Step 3: which column goes to which lead field, time-zone rules, templates."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.domain.columns import FULL_NAME
from leadapp.extensions import db
from leadapp.models import MappingTemplate
from leadapp.security import get_or_404
from leadapp.services import mapping_guesses
from leadapp.services import mapping_templates as template_service
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import fields as import_fields
from leadapp.services.imports import mapping as import_mapping

from . import bp
from .common import _draft, _reached, _sniff_or_none, _wizard


@bp.route("/imports/<int:import_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(import_id: int):
    imp = _draft(import_id)
    info = _sniff_or_none(imp)
    if info is None:
        flash("Upload a file first.", "info")
        return redirect(url_for("imports.file", import_id=imp.id))
    fields = import_fields.field_definitions()
    templates = db.session.scalars(sa.select(MappingTemplate).order_by(MappingTemplate.name)).all()
    error = None
    refused = False  # a POST refused without a message of its own (the phone warning)
    overwrite = None  # a template whose name the supervisor chose again: asked first
    first_phone = import_fields.first_valid_phone(imp) if imp.mapping else True
    if request.method == "POST":
        form = request.form
        chosen = {h: (form.get(f"map-{i}") or None) for i, h in enumerate(info.headers)}
        rules = _rules_from(form)
        first_phone = bool(form.get("first_valid_phone"))
        if form.get("action") == "load":
            template = get_or_404(MappingTemplate, form.get("load_template_choice", 0, type=int))
            chosen, rules = _template_mapping(template, info.headers)
            # Templates saved before the setting existed keep it off.
            first_phone = bool((template.options or {}).get("first_valid_phone", False))
            missing = [h for h in template.mapping if h not in info.headers]
            if missing:
                error = (
                    f"The template '{template.name}' names column(s) "
                    f"{', '.join(repr(m) for m in missing)} that this file does not have; "
                    "the other columns were loaded."
                )
        else:
            try:
                import_mapping.check_mapping(imp, chosen, info.headers, rules)
                if form.get("save_template", "").strip():  # optional: blank saves none
                    template_service.save(
                        form["save_template"],
                        chosen,
                        rules,
                        {"first_valid_phone": first_phone},
                        current_user.id,
                        overwrite=form.get("overwrite_template") == form["save_template"],
                    )
            except template_service.TemplateExists as exc:
                db.session.rollback()
                error, overwrite = str(exc), exc.template.name
            except (import_errors.ImportError_, template_service.TemplateError) as exc:
                db.session.rollback()
                error = str(exc)
                if "phone1" not in chosen.values():
                    # The page's own warning says it (one warning, not two).
                    error, refused = None, True
            else:
                imp.mapping, imp.timezone_rules = chosen, rules
                imp.settings = {**(imp.settings or {}), "first_valid_phone": first_phone}
                imp.step = "duplicates"
                db.session.commit()
                return redirect(url_for("imports.duplicates", import_id=imp.id))
        suggested = chosen
    else:
        suggested = imp.mapping or import_mapping.suggest(imp, info)
        rules = imp.timezone_rules or []
        _reached(imp, "mapping")
    columns = [
        {
            "index": i,
            "header": h,
            "samples": [r[i] for r in info.preview[:3]],
            "field": suggested.get(h),
        }
        for i, h in enumerate(info.headers)
    ]
    return _wizard(
        "imports/mapping.html",
        imp,
        "mapping",
        columns=columns,
        fields=_with_full_name(fields),
        phone_order=mapping_guesses.phone_order(imp, suggested),
        templates=templates,
        rules=rules,
        error=error,
        overwrite=overwrite,
        first_phone=first_phone,
        save_name=request.form.get("save_template", "") if request.method == "POST" else "",
        view=request.args.get("view", "grid"),
    ), (422 if (error or refused) and request.method == "POST" else 200)


def _with_full_name(fields) -> list:
    """The lead fields, and after the last name the full name that fills both names."""
    out = []
    for f in fields:
        out.append(f)
        if f.key == "last_name":
            out.append(SimpleNamespace(key=FULL_NAME, label="Full name (first and last name)"))
    return out


def _rules_from(form) -> list[list[str]]:
    rules = []
    for field, value, zone in zip(
        form.getlist("rule_field"),
        form.getlist("rule_value"),
        form.getlist("rule_zone"),
        strict=False,
    ):
        if field and value and zone:
            rules.append([field, value, zone])
    return rules


def _template_mapping(template: MappingTemplate, headers: list[str]):
    chosen = {h: template.mapping.get(h) for h in headers}
    return chosen, list(template.timezone_rules or [])


@bp.route("/imports/<int:import_id>/mapping/rule")
@login_required
def mapping_rule(import_id: int):
    """One more empty time-zone rule row (htmx)."""
    imp = _draft(import_id)
    return render_template(
        "imports/_rule.html", imp=imp, rule=["", "", ""], fields=import_fields.field_definitions()
    )
