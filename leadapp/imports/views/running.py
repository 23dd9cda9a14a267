"""Step 6 (review) and 7 (the import's page, its downloads)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import (
    abort,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.extensions import db
from leadapp.models import Import, LeadPool
from leadapp.security import get_or_404
from leadapp.services import import_outcomes
from leadapp.services import jobs as job_rows
from leadapp.services import mail as mail_service
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import report as import_report
from leadapp.tasks import QueueUnavailable, dispatch

from ..forms import StartForm
from . import bp
from .common import _draft, _staged_ready, _step_url, _wizard

# One address, nothing else: no spaces, and so no CR/LF that could add a mail header.
NOTIFY_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>.]+(\.[^@\s,;<>.]+)+")


@bp.route("/imports/<int:import_id>/review", methods=["GET", "POST"])
@login_required
def review(import_id: int):
    imp = _draft(import_id)
    if not _staged_ready(imp):
        return redirect(url_for("imports.check", import_id=imp.id))
    form = StartForm()
    if request.method == "GET":
        counts = import_analyse.analyse(imp)
        db.session.commit()
        return _wizard(
            "imports/review.html",
            imp,
            "review",
            form=form,
            counts=counts,
            summary=import_report.describe(imp),
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


def _outcome(imp) -> list[str]:
    """What a finished import did, in sentences ("2,027 leads were deactivated.")."""
    if imp.status != "completed":
        return []
    pool = db.session.get(LeadPool, imp.pool_id) if imp.pool_id else None
    return import_outcomes.sentences(import_report.public_counts(imp), pool and pool.name)


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
        counts=import_report.public_counts(imp),
        outcome=_outcome(imp),
        summary=import_report.describe(imp),
        emails=mail_service.latest_emails(imp),
    )


@bp.route("/imports/<int:import_id>/download/<kind>.csv")
@login_required
def download(import_id: int, kind: str):
    imp = get_or_404(Import, import_id)
    if kind not in import_report.KINDS or not _staged_ready(imp):
        abort(404)
    data = import_report.build(imp, kind)
    stem = Path(imp.file_name or "import").stem
    return send_file(
        data, mimetype="text/csv", as_attachment=True, download_name=f"{stem}-{kind}.csv"
    )
