"""Step 4 (duplicate settings) and 5 (the check-data grid: edit and delete rows)."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.domain.timezones import REASON_TEXT as ZONE_REASON_TEXT
from leadapp.domain.timezones import SOURCE_TEXT
from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import Import
from leadapp.routing import page_arg
from leadapp.services import audit
from leadapp.services import jobs as job_rows
from leadapp.services.imports import duplicates as import_duplicates
from leadapp.services.imports import edits as import_edits
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import fields as import_fields
from leadapp.services.imports import grid as import_grid
from leadapp.services.imports import mapping as import_mapping
from leadapp.services.imports import stage as import_stage
from leadapp.tasks import QueueUnavailable, dispatch
from leadapp.templating import render_page_or_partial

from ..forms import DuplicatesForm
from . import bp
from .common import STEPS, _draft, _reached, _sniff_or_none, _staged_ready, _wizard


@bp.route("/imports/<int:import_id>/duplicates", methods=["GET", "POST"])
@login_required
def duplicates(import_id: int):
    imp = _draft(import_id)
    if not imp.mapping:
        return redirect(url_for("imports.mapping", import_id=imp.id))
    form = DuplicatesForm(data=imp.duplicate_settings or None)
    form.match.choices = list(import_duplicates.key_labels().items())
    if request.method == "GET":
        _reached(imp, "duplicates")
    if form.validate_on_submit():
        settings = import_duplicates.DuplicateSettings(
            match=import_duplicates.match_keys_named(form.match.data or ["phone1"]),
            match_mode=form.match_mode.data or "any",
            scope=form.scope.data,
            open_only=form.open_only.data,
            include_inactive=form.include_inactive.data,
            action=form.action.data,
            update_mode=form.update_mode.data,
            multiple=form.multiple.data,
        )
        info = _sniff_or_none(imp)
        try:
            import_mapping.set_mapping(imp, imp.mapping, info.headers, imp.timezone_rules, settings)
        except import_errors.ImportError_ as exc:
            db.session.rollback()
            form.match.errors.append(str(exc))
            return _duplicates_page(imp, form), 422
        import_stage.forget_staged(imp)
        job = job_rows.create_job(
            imp.account_id, "import_check", f"Checking {imp.file_name}", "imports", current_user.id
        )
        imp.job_id = job.id
        job.result = {"next_url": url_for("imports.check", import_id=imp.id)}
        db.session.commit()
        from leadapp.tasks.imports import check_import

        try:
            dispatch(job, check_import, imp.id)
        except QueueUnavailable as exc:
            flash(str(exc), "danger")
            return redirect(url_for("imports.duplicates", import_id=imp.id))
        return redirect(url_for("imports.check", import_id=imp.id))
    return _duplicates_page(imp, form), (422 if form.errors else 200)


# "Updating" concerns only updates; "When several match" the actions that change existing
# leads (notify and discard-new touch none).
UPDATING_ACTIONS = ("update-existing",)
ACTING_ACTIONS = ("deactivate-existing", "remove-existing", "update-existing", "move-existing")


def _duplicates_page(imp: Import, form: DuplicatesForm):
    return _wizard(
        "imports/duplicates.html",
        imp,
        "duplicates",
        form=form,
        UPDATING_ACTIONS=UPDATING_ACTIONS,
        ACTING_ACTIONS=ACTING_ACTIONS,
    )


def _reason_map(text: str) -> dict[str, str]:
    """``phone1: phone_too_short; email: invalid_email`` → {field: sentence}."""
    out = {}
    for part in (text or "").split("; "):
        field, _, code = part.partition(": ")
        if code:
            out[field] = REASON_TEXT.get(code) or ZONE_REASON_TEXT.get(code, code)
    return out


def _grid_args() -> tuple[str, int]:
    """The grid's filter and page, from the query string."""
    show = request.args.get("show", "all")
    show = show if show in import_grid.FILTERS else "all"
    return show, page_arg()


def _records(rows) -> list[dict]:
    records = []
    for rec in rows.to_dict("records"):
        rec["reasons"] = _reason_map(rec.get("_reasons"))
        records.append(rec)
    return records


def _row_status(rec: dict) -> str:
    """What the grid's status column says of a row."""
    if not rec["_valid"]:
        return "invalid"
    return "duplicate" if rec.get("_dup") else "valid"


def _grid_context(imp: Import):
    show, page = _grid_args()
    rows, matched, counts = import_grid.grid_page(imp, show, page)
    fields = import_fields.mapped_fields(imp)
    records = _records(rows)
    pages = max(1, -(-matched // import_grid.PAGE_SIZE))
    return {
        "rows": records,
        "fields": fields,
        "labels": {f.key: f.label for f in import_fields.field_definitions()},
        "zone_sources": SOURCE_TEXT,
        "show": show,
        "page": min(page, pages),
        "pages": pages,
        "counts": counts,
        "matched": matched,
    }


@bp.route("/imports/<int:import_id>/check")
@login_required
def check(import_id: int):
    imp = _draft(import_id)
    if not _staged_ready(imp):
        if imp.job and imp.job.status in ("queued", "running", "failed"):
            return _wizard("imports/checking.html", imp, "check", job=imp.job)
        return redirect(url_for("imports.duplicates", import_id=imp.id))
    if imp.step not in ("check", "review"):
        imp.step = "check"
        db.session.commit()
    context = _grid_context(imp)
    return render_page_or_partial(
        "imports/check.html", "imports/_grid.html", imp=imp, steps=STEPS, step="check", **context
    )


@bp.route("/imports/<int:import_id>/rows/<int:row>/<field>", methods=["GET", "POST"])
@login_required
def cell(import_id: int, row: int, field: str):
    """GET: the editor for one cell; POST: save it and re-check the row.

    A save answers with out-of-band swaps: the edited row, the shown rows whose status the
    edit changed (marked when they left the current filter) and the filter counts."""
    imp = _draft(import_id)
    fields = import_fields.mapped_fields(imp)
    if field not in fields or not _staged_ready(imp):  # no rows to edit before the check
        abort(404)
    if request.method == "GET":
        record = import_grid.staged_rows(imp, [row])
        if record.empty:
            abort(404)
        rec = record.iloc[0].to_dict()
        raw = rec.get(f"{field}_raw", rec.get(field))
        value = "" if raw is None or raw != raw else raw  # noqa: PLR0124 (NaN check)
        show, page = _grid_args()
        return render_template(
            "imports/_cell_editor.html",
            imp=imp,
            row=row,
            field=field,
            value=value,
            show=show,
            page=page,
        )
    try:
        import_grid.edit_cell(imp, row, field, request.form.get("value", ""))
    except import_errors.ImportError_ as exc:
        return str(exc), 422, {"Content-Type": "text/plain; charset=utf-8"}
    audit.record(imp.account_id, current_user.id, "import.edit_cell", imp, row=row, field=field)
    db.session.commit()
    # The page sends its rows as "row:status"; an edit can change other rows' status
    # (a duplicate of the edited row's old or new number), so those come back too.
    show, page = _grid_args()
    shown = {}
    for item in request.form.getlist("shown")[: import_grid.PAGE_SIZE]:
        number, _, status = item.partition(":")
        if number.isdigit():
            shown[int(number)] = status
    rows, matched, counts = import_grid.rows_now(imp, sorted({*shown, row}), show)
    changed = [
        rec
        for rec in _records(rows)
        if rec["_row"] == row or shown.get(rec["_row"]) != _row_status(rec)
    ]
    pages = max(1, -(-matched // import_grid.PAGE_SIZE))
    return render_template(
        "imports/_rows_saved.html",
        imp=imp,
        rows=changed,
        fields=fields,
        zone_sources=SOURCE_TEXT,
        show=show,
        page=min(page, pages),
        pages=pages,
        counts=counts,
        matched=matched,
    )


@bp.route("/imports/<int:import_id>/rows/delete", methods=["POST"])
@login_required
def delete_rows(import_id: int):
    imp = _draft(import_id)
    rows = [int(r) for r in request.form.getlist("row") if r.isdigit()]
    if request.form.get("all_in_filter") in import_grid.FILTERS and _staged_ready(imp):
        # "Select all": every row of the filter, on every page, as it stands now.
        rows = import_grid.rows_in_filter(imp, request.form["all_in_filter"])
    if not rows:
        flash("Select the rows to delete first.", "info")
    else:
        import_edits.delete_rows(imp, rows)
        # The first thousand row numbers name them; a whole filter can be far more.
        audit.record(
            imp.account_id,
            current_user.id,
            "import.delete_rows",
            imp,
            rows=rows[:1000],
            count=len(rows),
        )
        db.session.commit()
        flash(f"Deleted {len(rows):,} row(s) from this import.", "success")
    return redirect(url_for("imports.check", import_id=imp.id, show=request.args.get("show")))
