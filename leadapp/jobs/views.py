"""A background job's page and the progress partial that polls until the job ends."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_login import login_required

from leadapp.models import BackgroundJob
from leadapp.security import get_or_404
from leadapp.services import jobs as job_rows
from leadapp.templating import render_page_or_partial

bp = Blueprint("jobs", __name__, template_folder="templates")


@bp.app_template_global("job_stalled")
def job_stalled(job) -> str:
    """For templates: a sentence when the job's worker was killed or lost, else ''."""
    return job_rows.STALLED_MESSAGE if job_rows.is_stalled(job) else ""


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
