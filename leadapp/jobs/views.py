"""A background job's page and the progress partial that polls until the job ends."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, Import
from leadapp.security import get_or_404
from leadapp.services import dnc as dnc_service
from leadapp.services import jobs as job_rows
from leadapp.services import resume
from leadapp.templating import render_page_or_partial

bp = Blueprint("jobs", __name__, template_folder="templates")


@bp.app_template_global("job_stalled")
def job_stalled(job) -> str:
    """For templates: a sentence when the job's worker was killed or lost, else ''."""
    return job_rows.STALLED_MESSAGE if job_rows.is_stalled(job) else ""


@bp.app_template_global("job_restart")
def job_restart(job) -> dict | None:
    """For the progress widget: the Resume / Run again button of a job that will not finish
    on its own (failed, stalled, lost) — ``{"url", "label"}`` — when the signed-in user
    may start its work again; None otherwise. Imports and do-not-call uploads: anyone who
    may start them (every signed-in user of the account); dedup runs: admins only."""
    if job is None or job.status == "completed" or not current_user.is_authenticated:
        return None
    action = _restart_action(job)
    return {**action, "why": job_rows.LOST_MESSAGE} if action else None


def _restart_action(job: BackgroundJob) -> dict | None:
    if job.kind == "import":
        imp = db.session.scalar(sa.select(Import).where(Import.job_id == job.id))
        if imp is not None and resume.import_can_run_again(imp):
            return {"url": url_for("imports.run_again", import_id=imp.id), "label": "Resume"}
    elif job.kind == "import_check":
        imp = db.session.scalar(sa.select(Import).where(Import.job_id == job.id))
        if imp is not None and resume.import_check_can_run_again(imp):
            url = url_for("imports.check_again", import_id=imp.id)
            return {"url": url, "label": "Run the check again"}
    elif job.kind == "dedup_run" and current_user.is_admin:
        dedup_job = db.session.scalar(sa.select(DedupJob).where(DedupJob.job_id == job.id))
        label = resume.dedup_restart_label(dedup_job) if dedup_job is not None else None
        if label:
            return {"url": url_for("dedup.resume", job_id=dedup_job.id), "label": label}
    elif job.kind == dnc_service.UPLOAD_KIND and resume.dnc_upload_can_run_again(job):
        return {
            "url": url_for("leads.dnc_run_again", job_id=job.id),
            "label": "Run again",
            "discard": url_for("leads.dnc_discard", job_id=job.id),
        }
    return None


@bp.route("/jobs/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("jobs/show.html", job=get_or_404(BackgroundJob, job_id))


@bp.route("/jobs/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    job = get_or_404(BackgroundJob, job_id)
    response = make_response(
        render_page_or_partial("jobs/show.html", "jobs/_progress.html", job=job)
    )
    next_url = (job.result or {}).get("next_url")
    if request.htmx and job.status == "completed" and next_url and next_url.startswith("/"):
        response.headers["HX-Redirect"] = next_url  # a wizard step waiting for this job
    return response
