"""Steps 1 and 2: the import's settings and its file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from leadapp.domain.csv_io import CsvError
from leadapp.extensions import db
from leadapp.models import Campaign, Import, LeadPool, PoolAssignment, User
from leadapp.security import get_or_404
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import read as import_read

from ..forms import FileForm, FormatForm, SettingsForm
from . import bp
from .common import _draft, _sniff_or_none, _wizard


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


def _pool_campaigns() -> dict[int, str]:
    """Pool id → the ids of the campaigns it feeds ("3 7"), so the page offers only the
    chosen campaign's pools (a pool feeding none fits any)."""
    fed: dict[int, list[str]] = {}
    for pool_id, campaign_id in db.session.execute(
        sa.select(PoolAssignment.pool_id, PoolAssignment.campaign_id)
    ):
        fed.setdefault(pool_id, []).append(str(campaign_id))
    return {pool_id: " ".join(ids) for pool_id, ids in fed.items()}


def _settings_page(form: SettingsForm, unfinished, status: int):
    return _wizard(
        "imports/settings.html",
        None,
        "settings",
        form=form,
        unfinished=unfinished,
        pool_campaigns=_pool_campaigns(),
    ), status


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
                return _settings_page(form, unfinished, 422)
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
            imp = import_read.create_import(
                current_user.account,
                current_user,
                campaign,
                pool_name=form.pool_name.data,
                pool=pool,
                description=form.description.data or "",
                settings=settings,
            )
        except import_errors.ImportError_ as exc:
            db.session.rollback()
            (form.existing_pool if pool else form.pool_name).errors.append(str(exc))
            return _settings_page(form, unfinished, 422)
        db.session.commit()
        return redirect(url_for("imports.file", import_id=imp.id))
    return _settings_page(form, unfinished, 422 if form.errors else 200)


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
            import_read.attach_upload(
                imp, upload.stream, name, form.encoding.data or None, form.delimiter.data or None
            )
        except (CsvError, import_errors.ImportError_) as exc:
            db.session.rollback()
            form.file.errors.append(str(exc))
            status = 507 if isinstance(exc, import_errors.DiskFull) else 422
            return _wizard("imports/file.html", imp, "file", form=form, info=None), status
        imp.step = "file"
        db.session.commit()
        return redirect(url_for("imports.file", import_id=imp.id))
    info = _sniff_or_none(imp)
    earlier = import_read.same_file_imported_before(imp) if imp.file_sha256 else None
    settings = imp.settings or {}
    read = import_read.read_options(imp)
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


@bp.route("/imports/<int:import_id>/format", methods=["POST"])
@login_required
def set_format(import_id: int):
    imp = _draft(import_id)
    form = FormatForm()
    if not form.validate_on_submit() or not imp.staging_path:
        abort(400)
    read = import_read.read_options(imp)
    # Unticked boxes are not posted: they count only from the form that shows them.
    shown = bool(form.format_shown.data)
    try:
        info = import_read.attach_file(
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
    # The button posts its CSRF token only: nothing else to read or check.
    if not FlaskForm().validate_on_submit():
        abort(400)
    import_read.forget_file(imp)
    db.session.commit()
    return redirect(url_for("imports.file", import_id=imp.id))
