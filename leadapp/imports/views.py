"""The upload wizard: settings → file → mapping → duplicates → check data → review → import.

Every step is a page of its own (reloadable, resumable from ``Import.step``); the check-data
grid, cell edits and the progress bar are htmx partials of those pages."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.domain import phones as phone_domain
from leadapp.domain.csv_io import CsvError
from leadapp.domain.validation import REASON_TEXT
from leadapp.extensions import db
from leadapp.models import Campaign, Import, LeadPool, MappingTemplate, User
from leadapp.routing import page_arg
from leadapp.security import get_or_404
from leadapp.services import audit, import_reports, staging
from leadapp.services import imports as import_service
from leadapp.services import jobs as job_rows
from leadapp.services import mail as mail_service
from leadapp.services import resume as resume_service
from leadapp.tasks import QueueUnavailable, dispatch, dispatch_again
from leadapp.templating import render_page_or_partial

from .forms import DuplicatesForm, FileForm, FormatForm, SettingsForm, StartForm

bp = Blueprint("imports", __name__, template_folder="templates")

# One address, nothing else: no spaces, and so no CR/LF that could add a mail header.
NOTIFY_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>.]+(\.[^@\s,;<>.]+)+")

STEPS = (
    ("settings", "Settings"),
    ("file", "File"),
    ("mapping", "Mapping"),
    ("duplicates", "Duplicates"),
    ("check", "Check data"),
    ("review", "Review"),
    ("import", "Import"),
)
STEP_ENDPOINT = {
    "settings": "imports.new",
    "file": "imports.file",
    "mapping": "imports.mapping",
    "duplicates": "imports.duplicates",
    "check": "imports.check",
    "review": "imports.review",
    "import": "imports.show",
    "done": "imports.show",
}


def _draft(import_id: int) -> Import:
    """An import still being prepared; a running or finished one goes to its own page."""
    imp = get_or_404(Import, import_id)
    if imp.status not in ("draft", "failed") or imp.step in ("import", "done"):
        abort(409)
    return imp


def _step_url(imp: Import) -> str:
    endpoint = STEP_ENDPOINT[imp.step]
    return url_for(endpoint) if endpoint == "imports.new" else url_for(endpoint, import_id=imp.id)


def _reached(imp: Import, step: str) -> None:
    """Remember the furthest step shown, so "Continue" comes back to it."""
    order = [key for key, _ in STEPS]
    if imp.step in order and order.index(step) > order.index(imp.step):
        imp.step = step
        db.session.commit()


def _wizard(template: str, imp: Import | None, step: str, **context):
    return render_template(template, imp=imp, steps=STEPS, step=step, **context)


@bp.app_errorhandler(409)
def not_a_draft(_exc):
    message = "This import has already started; its page shows where it is."
    if request.htmx:
        return message, 409, {"Content-Type": "text/plain; charset=utf-8"}
    flash(message, "info")
    import_id = (request.view_args or {}).get("import_id")
    return redirect(url_for("imports.show", import_id=import_id) if import_id else "/imports")


# ---------------------------------------------------------------------------------------
# List and resume


@bp.route("/imports")
@login_required
def index():
    imports = db.session.scalars(
        sa.select(Import).order_by(Import.created_at.desc()).limit(200)
    ).all()
    return render_template("imports/index.html", imports=imports)


@bp.route("/imports/<int:import_id>/resume")
@login_required
def resume(import_id: int):
    return redirect(_step_url(get_or_404(Import, import_id)))


@bp.route("/imports/<int:import_id>/run-again", methods=["POST"])
@login_required
def run_again(import_id: int):
    """Resume a failed, stalled or lost import in a worker — what ``flask leads resume
    --enqueue`` does: the batches already written stay, none is written twice."""
    imp = get_or_404(Import, import_id)
    shown = url_for("imports.show", import_id=imp.id)
    try:
        if imp.step not in ("import", "done"):
            raise resume_service.CannotResume(resume_service.NOT_STARTED_YET)
        resume_service.take_over_import(imp)
        row = resume_service.queue_import(imp, current_user.id)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    from leadapp.tasks.imports import run_import

    try:
        dispatch(row, run_import, imp.id)
    except QueueUnavailable as exc:
        import_service.fail(imp, str(exc))
        db.session.commit()
        flash(str(exc), "danger")
    return redirect(shown)


@bp.route("/imports/<int:import_id>/check-again", methods=["POST"])
@login_required
def check_again(import_id: int):
    """Run a failed, stalled or lost check-data job again; its page follows it."""
    imp = get_or_404(Import, import_id)
    try:
        row = resume_service.take_over_import_check(imp)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(_step_url(imp))
    db.session.commit()
    from leadapp.tasks.imports import check_import

    try:
        dispatch_again(row, check_import, imp.id)
    except QueueUnavailable as exc:
        flash(str(exc), "danger")  # the row says so too; the check can be run again
    return redirect(url_for("imports.check", import_id=imp.id))


# ---------------------------------------------------------------------------------------
# 1. Settings


def _settings_form() -> SettingsForm:
    form = SettingsForm()
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.name)).all()
    form.campaign.choices = [(c.id, c.name) for c in campaigns]
    users = db.session.scalars(
        sa.select(User).where(User.active.is_(True)).order_by(User.name)
    ).all()
    form.owner.choices = [(u.id, u.name) for u in users]
    pools = db.session.scalars(
        sa.select(LeadPool).where(LeadPool.is_system.is_(False)).order_by(LeadPool.name)
    ).all()
    form.existing_pool.choices = [(0, "— choose a pool —")] + [(p.id, p.name) for p in pools]
    if request.method == "GET":
        form.owner.data = current_user.id
    return form


@bp.route("/imports/new", methods=["GET", "POST"])
@login_required
def new():
    form = _settings_form()
    unfinished = db.session.scalars(
        sa.select(Import)
        .where(
            Import.user_id == current_user.id,
            Import.status == "draft",
            Import.file_name.is_not(None),
        )
        .order_by(Import.updated_at.desc())
        .limit(3)
    ).all()
    if not form.campaign.choices:
        flash(
            "Create a campaign first (Admin → campaigns, or `flask campaigns create`).", "warning"
        )
    if form.validate_on_submit():
        campaign = get_or_404(Campaign, form.campaign.data)
        pool = None
        if form.target.data == "existing":
            if not form.existing_pool.data:
                form.existing_pool.errors.append("Choose the pool to import into.")
                return _wizard(
                    "imports/settings.html", None, "settings", form=form, unfinished=unfinished
                ), 422
            pool = get_or_404(LeadPool, form.existing_pool.data)
        settings = {
            "owner_id": form.owner.data,
            "priority": form.priority.data or 5,
            "active_from": form.active_from.data.isoformat() if form.active_from.data else None,
            "active_until": form.active_until.data.isoformat() if form.active_until.data else None,
            "day_offset": form.day_offset.data or 0,
            "day_count": form.day_count.data,
            "time_from": form.time_from.data.isoformat() if form.time_from.data else None,
            "time_until": form.time_until.data.isoformat() if form.time_until.data else None,
        }
        try:
            imp = import_service.create_import(
                current_user.account,
                current_user,
                campaign,
                pool_name=form.pool_name.data,
                pool=pool,
                description=form.description.data or "",
                settings=settings,
            )
        except import_service.ImportError_ as exc:
            db.session.rollback()
            form.pool_name.errors.append(str(exc))
            return _wizard(
                "imports/settings.html", None, "settings", form=form, unfinished=unfinished
            ), 422
        db.session.commit()
        return redirect(url_for("imports.file", import_id=imp.id))
    status = 422 if form.errors else 200
    return _wizard(
        "imports/settings.html", None, "settings", form=form, unfinished=unfinished
    ), status


# ---------------------------------------------------------------------------------------
# 2. File


@bp.route("/imports/<int:import_id>/file", methods=["GET", "POST"])
@login_required
def file(import_id: int):
    imp = _draft(import_id)
    form = FileForm()
    if form.validate_on_submit():
        upload = form.file.data
        name = Path(upload.filename or "leads.csv").name
        try:
            import_service.attach_upload(
                imp, upload.stream, name, form.encoding.data or None, form.delimiter.data or None
            )
        except (CsvError, import_service.ImportError_) as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
            status = 507 if isinstance(exc, import_service.DiskFull) else 422
            return _wizard("imports/file.html", imp, "file", form=form, info=None), status
        imp.step = "file"
        db.session.commit()
        return redirect(url_for("imports.file", import_id=imp.id))
    info = _sniff_or_none(imp)
    earlier = import_service.same_file_imported_before(imp) if imp.file_sha256 else None
    settings = imp.settings or {}
    read = import_service.read_options(imp)
    return _wizard(
        "imports/file.html",
        imp,
        "file",
        form=form,
        info=info,
        earlier=earlier,
        format_form=FormatForm(
            encoding=imp.encoding,
            delimiter=imp.delimiter,
            header=read["header"],
            literal_quotes=bool(read["literal_quote_lines"]),
        ),
        file_warnings=settings.get("file_warnings", []),
        stray_quotes=settings.get("stray_quotes", []),
        literal_quote_lines=read["literal_quote_lines"],
    ), (422 if form.errors else 200)


def _sniff_or_none(imp: Import):
    """The staged file read as chosen at the file step (None before a file is there)."""
    if not imp.staging_path:
        return None
    try:
        return import_service.sniff_staged(imp)
    except CsvError:
        return None


@bp.route("/imports/<int:import_id>/format", methods=["POST"])
@login_required
def set_format(import_id: int):
    imp = _draft(import_id)
    form = FormatForm()
    if not form.validate_on_submit() or not imp.staging_path:
        abort(400)
    read = import_service.read_options(imp)
    # Unticked boxes are not posted: they count only from the form that shows them.
    shown = bool(form.format_shown.data)
    try:
        info = import_service.attach_file(
            imp,
            Path(imp.staging_path) / "source.csv",
            imp.file_name,
            form.encoding.data or None,
            form.delimiter.data or None,
            header=form.header.data if shown else read["header"],
            literal_quotes=form.literal_quotes.data if shown else bool(read["literal_quote_lines"]),
        )
    except CsvError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("imports.file", import_id=imp.id))
    if imp.mapping and set(imp.mapping) != set(info.headers):
        imp.mapping = {}  # other column names: the mapping is suggested again
    imp.step = "file"
    db.session.commit()
    flash("The file was read again with your settings.", "success")
    return redirect(url_for("imports.file", import_id=imp.id))


@bp.route("/imports/<int:import_id>/restart", methods=["POST"])
@login_required
def restart(import_id: int):
    """ "Start with a new file": keep the settings, forget the file and everything after."""
    imp = _draft(import_id)
    if not FormatForm().validate_on_submit():
        abort(400)
    import_service.forget_file(imp)
    db.session.commit()
    return redirect(url_for("imports.file", import_id=imp.id))


# ---------------------------------------------------------------------------------------
# 3. Mapping


@bp.route("/imports/<int:import_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(import_id: int):
    imp = _draft(import_id)
    info = _sniff_or_none(imp)
    if info is None:
        flash("Upload a file first.", "info")
        return redirect(url_for("imports.file", import_id=imp.id))
    fields = import_service.field_definitions()
    templates = db.session.scalars(sa.select(MappingTemplate).order_by(MappingTemplate.name)).all()
    error = None
    if request.method == "POST":
        form = request.form
        chosen = {h: (form.get(f"map-{i}") or None) for i, h in enumerate(info.headers)}
        rules = _rules_from(form)
        if form.get("action") == "load":
            template = get_or_404(MappingTemplate, form.get("load_template_choice", 0, type=int))
            chosen, rules = _template_mapping(template, info.headers)
            missing = [h for h in template.mapping if h not in info.headers]
            if missing:
                error = (
                    f"The template '{template.name}' names column(s) "
                    f"{', '.join(repr(m) for m in missing)} that this file does not have; "
                    "the other columns were loaded."
                )
        else:
            try:
                import_service.check_mapping(imp, chosen, info.headers, rules)
            except import_service.ImportError_ as exc:
                error = str(exc)
            else:
                imp.mapping, imp.timezone_rules = chosen, rules
                if form.get("save_template", "").strip():  # optional: blank saves none
                    import_service.save_template(
                        form["save_template"], chosen, rules, current_user.id
                    )
                imp.step = "duplicates"
                db.session.commit()
                return redirect(url_for("imports.duplicates", import_id=imp.id))
        suggested = chosen
    else:
        suggested = imp.mapping or import_service.suggest(imp, info)
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
        fields=fields,
        templates=templates,
        rules=rules,
        error=error,
        view=request.args.get("view", "grid"),
    ), (422 if error and request.method == "POST" else 200)


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
        "imports/_rule.html", imp=imp, rule=["", "", ""], fields=import_service.field_definitions()
    )


# ---------------------------------------------------------------------------------------
# 4. Duplicates


@bp.route("/imports/<int:import_id>/duplicates", methods=["GET", "POST"])
@login_required
def duplicates(import_id: int):
    imp = _draft(import_id)
    if not imp.mapping:
        return redirect(url_for("imports.mapping", import_id=imp.id))
    form = DuplicatesForm(data=imp.duplicate_settings or None)
    if request.method == "GET":
        _reached(imp, "duplicates")
    if form.validate_on_submit():
        settings = import_service.DuplicateSettings(
            match=form.match.data or ["phone1"],
            scope=form.scope.data,
            open_only=form.open_only.data,
            include_inactive=form.include_inactive.data,
            action=form.action.data,
            update_mode=form.update_mode.data,
            multiple=form.multiple.data,
        )
        info = _sniff_or_none(imp)
        try:
            import_service.set_mapping(imp, imp.mapping, info.headers, imp.timezone_rules, settings)
        except import_service.ImportError_ as exc:
            db.session.rollback()
            form.match.errors.append(str(exc))
            return _wizard("imports/duplicates.html", imp, "duplicates", form=form), 422
        import_service.forget_staged(imp)
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
    return _wizard("imports/duplicates.html", imp, "duplicates", form=form), (
        422 if form.errors else 200
    )


# ---------------------------------------------------------------------------------------
# 5. Check data


def _reason_map(text: str) -> dict[str, str]:
    """``phone1: phone_too_short; email: invalid_email`` → {field: sentence}."""
    out = {}
    for part in (text or "").split("; "):
        field, _, code = part.partition(": ")
        if code:
            out[field] = REASON_TEXT.get(code, code)
    return out


def _grid_args() -> tuple[str, int]:
    """The grid's filter and page, from the query string."""
    show = request.args.get("show", "all")
    show = show if show in staging.FILTERS else "all"
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
    rows, matched, counts = staging.grid_page(imp, show, page)
    fields = import_service.mapped_fields(imp)
    records = _records(rows)
    pages = max(1, -(-matched // staging.PAGE_SIZE))
    return {
        "rows": records,
        "fields": fields,
        "labels": {f.key: f.label for f in import_service.field_definitions()},
        "show": show,
        "page": min(page, pages),
        "pages": pages,
        "counts": counts,
        "matched": matched,
    }


def _staged_ready(imp: Import) -> bool:
    return bool(imp.staging_path) and (Path(imp.staging_path) / "staged.parquet").exists()


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
    fields = import_service.mapped_fields(imp)
    if field not in fields or not _staged_ready(imp):  # no rows to edit before the check
        abort(404)
    if request.method == "GET":
        record = staging.staged_rows(imp, [row])
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
        staging.edit_cell(imp, row, field, request.form.get("value", ""))
    except import_service.ImportError_ as exc:
        return str(exc), 422, {"Content-Type": "text/plain; charset=utf-8"}
    audit.record(imp.account_id, current_user.id, "import.edit_cell", imp, row=row, field=field)
    db.session.commit()
    # The page sends its rows as "row:status"; an edit can change other rows' status
    # (a duplicate of the edited row's old or new number), so those come back too.
    show, page = _grid_args()
    shown = {}
    for item in request.form.getlist("shown")[: staging.PAGE_SIZE]:
        number, _, status = item.partition(":")
        if number.isdigit():
            shown[int(number)] = status
    rows, matched, counts = staging.rows_now(imp, sorted({*shown, row}), show)
    changed = [
        rec
        for rec in _records(rows)
        if rec["_row"] == row or shown.get(rec["_row"]) != _row_status(rec)
    ]
    pages = max(1, -(-matched // staging.PAGE_SIZE))
    return render_template(
        "imports/_rows_saved.html",
        imp=imp,
        rows=changed,
        fields=fields,
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
    if not rows:
        flash("Select the rows to delete first.", "info")
    else:
        staging.delete_rows(imp, rows)
        audit.record(imp.account_id, current_user.id, "import.delete_rows", imp, rows=rows)
        db.session.commit()
        flash(f"Deleted {len(rows)} row(s) from this import.", "success")
    return redirect(url_for("imports.check", import_id=imp.id, show=request.args.get("show")))


# ---------------------------------------------------------------------------------------
# 6. Review and 7. Import


@bp.route("/imports/<int:import_id>/review", methods=["GET", "POST"])
@login_required
def review(import_id: int):
    imp = _draft(import_id)
    if not _staged_ready(imp):
        return redirect(url_for("imports.check", import_id=imp.id))
    form = StartForm()
    if request.method == "GET":
        counts = import_service.analyse(imp)
        db.session.commit()
        return _wizard(
            "imports/review.html",
            imp,
            "review",
            form=form,
            counts=counts,
            summary=import_service.describe(imp),
        )
    if not form.validate_on_submit():
        abort(400)
    emails = [e.strip() for e in (form.notify_emails.data or "").split(",") if e.strip()]
    bad = [e for e in emails if not NOTIFY_EMAIL.fullmatch(e)]
    if bad:
        flash(f"{', '.join(bad)} is not an email address.", "danger")
        return redirect(url_for("imports.review", import_id=imp.id))
    imp.settings = {
        **(imp.settings or {}),
        "notify_me": form.notify_me.data,
        "notify_emails": emails,
    }
    job = job_rows.create_job(
        imp.account_id, "import", f"Import {imp.file_name}", "imports", current_user.id
    )
    imp.job_id = job.id
    imp.status = "queued"
    imp.step = "import"
    db.session.commit()
    from leadapp.tasks.imports import run_import

    try:
        dispatch(job, run_import, imp.id)
    except QueueUnavailable as exc:
        # Nothing is lost: the import goes back to review and can be started again.
        imp.status, imp.step = "draft", "review"
        db.session.commit()
        flash(str(exc), "danger")
        return redirect(url_for("imports.review", import_id=imp.id))
    return redirect(url_for("imports.show", import_id=imp.id))


@bp.route("/imports/<int:import_id>")
@login_required
def show(import_id: int):
    imp = get_or_404(Import, import_id)
    if imp.status == "draft" and imp.step not in ("import", "done"):
        return redirect(_step_url(imp))
    return _wizard(
        "imports/show.html",
        imp,
        "import",
        counts=import_service.public_counts(imp),
        summary=import_service.describe(imp),
        emails=mail_service.latest_emails(imp),
    )


@bp.route("/imports/<int:import_id>/download/<kind>.csv")
@login_required
def download(import_id: int, kind: str):
    imp = get_or_404(Import, import_id)
    if kind not in import_reports.KINDS or not _staged_ready(imp):
        abort(404)
    data = import_reports.build(imp, kind)
    stem = Path(imp.file_name or "import").stem
    return send_file(
        data, mimetype="text/csv", as_attachment=True, download_name=f"{stem}-{kind}.csv"
    )


def phone_reasons() -> dict[str, str]:
    return phone_domain.REASON_TEXT
