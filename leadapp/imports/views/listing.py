"""The Imports list, resuming a draft, running a stopped job again."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from leadapp.extensions import db
from leadapp.models import Import
from leadapp.security import get_or_404
from leadapp.services import import_drafts as draft_service
from leadapp.services import resume as resume_service
from leadapp.services.imports import run as import_run
from leadapp.tasks import QueueUnavailable, dispatch, dispatch_again

from . import bp
from .common import _step_url

STEP_LABELS = draft_service.STEP_LABELS


@bp.route("/imports")
@login_required
def index():
    """Drafts first (every one, with its pool and step), then the imports that ran."""
    imports = db.session.scalars(
        sa.select(Import)
        .where(sa.not_(sa.and_(Import.status == "draft", Import.step.in_(list(STEP_LABELS)))))
        .order_by(Import.created_at.desc())
        .limit(200)
    ).all()
    return render_template("imports/index.html", imports=imports, drafts=draft_service.drafts())


@bp.route("/imports/<int:import_id>/discard", methods=["POST"])
@login_required
def discard(import_id: int):
    """Discard a draft (asked first on the page): its file and staged rows are removed."""
    imp = get_or_404(Import, import_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        what = draft_service.discard(imp, current_user.id)
    except draft_service.NotADraft as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for("imports.show", import_id=imp.id))
    db.session.commit()
    flash(f"The draft import of {what} was discarded.", "success")
    return redirect(url_for("imports.index"))


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
        import_run.fail(imp, str(exc))
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
