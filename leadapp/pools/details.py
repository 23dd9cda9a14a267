"""Pool details: edit, the pool's figures and charts, and its CSV downloads."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.domain.pool_schedule import Distribution
from leadapp.extensions import db
from leadapp.models import Lead, LeadPool, User
from leadapp.models.base import utcnow
from leadapp.security import get_or_404
from leadapp.services import pool_grid, pool_log, pool_ready, pool_reports, pool_schedule
from leadapp.services import pools as pool_service
from leadapp.services.pools import PoolError

from .forms import EmptyForm, PoolForm
from .views import _today, bp, managers_only

DOWNLOADS = ("statistics", "log", "leads")
WORDS = {
    "invalid": "Invalid leads with reasons",
    "duplicates": "Duplicates",
    "log": "Full import log",
}


def _staged_ready(imp) -> bool:
    # The same test as the import pages' downloads (their reports need the staged rows).
    return bool(imp.staging_path) and (Path(imp.staging_path) / "staged.parquet").exists()


def _page(pool: LeadPool, form: PoolForm, status: int = 200):
    modified_by = db.session.get(User, pool.modified_by_id) if pool.modified_by_id else None
    leads = db.session.scalars(
        sa.select(Lead).where(Lead.pool_id == pool.id).order_by(Lead.dial_order, Lead.id).limit(50)
    ).all()
    imports = pool_reports.pool_imports(pool)
    today, zone = _today(), current_user.account.timezone
    start = pool_schedule.pool_start(pool, zone)
    plan = pool_schedule.distribution(pool)
    return (
        render_template(
            "pools/show.html",
            pool=pool,
            form=form,
            button_form=EmptyForm(),
            assignments=pool_reports.pool_campaigns(pool),
            modified_by=modified_by,
            leads=leads,
            imports=[(imp, _staged_ready(imp)) for imp in imports],
            report_words=WORDS,
            duplicates_found=pool_grid.duplicates_found([pool.id]).get(pool.id, 0),
            reopenable=pool_service.reopenable_count(pool),
            # Eligible today apart from the hour: the grid's figure (services/pool_ready).
            ready_now=pool_ready.ready_one(pool, today, utcnow()),
            schedule=plan.sentences(start),
            first_day=plan.first_day(start),
            today=today,
            charts=pool_reports.chart_data(pool),
            changes=pool_log.changes(pool, limit=20),
        ),
        status,
    )


@bp.route("/pools/<int:pool_id>")
@login_required
def show(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    return _page(pool, PoolForm(obj=pool))


@bp.route("/pools/<int:pool_id>", methods=["POST"])
@managers_only
def edit(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    form = PoolForm()
    if not form.validate_on_submit():
        return _page(pool, form, 400)
    try:
        changes = pool_service.update_details(
            pool,
            current_user,
            form.name.data,
            form.description.data,
            form.active_from.data,
            form.active_until.data,
            Distribution(
                form.day_offset.data or 0,
                form.day_count.data,
                form.time_from.data,
                form.time_until.data,
            ),
        )
    except PoolError as exc:
        db.session.rollback()
        pool = get_or_404(LeadPool, pool_id)
        form.name.errors = [*form.name.errors, str(exc)]
        return _page(pool, form, 400)
    db.session.commit()
    flash("Saved the pool." if changes else "Nothing changed.", "success")
    return redirect(url_for("pools.show", pool_id=pool.id))


@bp.route("/pools/<int:pool_id>/toggle", methods=["POST"])
@managers_only
def toggle(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        status = pool_service.toggle(pool, current_user)
    except PoolError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("pools.show", pool_id=pool.id))
    db.session.commit()
    flash(f"{pool.name} is {'enabled' if status == 'active' else 'disabled'}.", "success")
    return redirect(url_for("pools.show", pool_id=pool.id))


@bp.route("/pools/<int:pool_id>/reset", methods=["POST"])
@managers_only
def reset(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    reopened = pool_service.reset_pool(pool, current_user)
    db.session.commit()
    flash(f"Re-opened {reopened:,} completed lead{'s' if reopened != 1 else ''}.", "success")
    return redirect(url_for("pools.show", pool_id=pool.id))


@bp.route("/pools/<int:pool_id>/download/<kind>.csv")
@login_required
def download(pool_id: int, kind: str):
    pool = get_or_404(LeadPool, pool_id)
    if kind not in DOWNLOADS:
        abort(404)
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in pool.name)[:60] or "pool"
    headers = {"Content-Disposition": f'attachment; filename="{stem}-{kind}.csv"'}
    if kind == "leads":
        body = stream_with_context(pool_reports.leads_csv_chunks(pool))
        return Response(body, mimetype="text/csv", headers=headers)
    if kind == "statistics":
        data = pool_reports.statistics_csv(pool, _today())
    else:
        data = pool_reports.log_csv(pool)
    return Response(data, mimetype="text/csv", headers=headers)
