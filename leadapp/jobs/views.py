"""A background job's page and the progress partial that polls until the job ends."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from leadapp.models import BackgroundJob
from leadapp.security import get_or_404
from leadapp.templating import render_page_or_partial

bp = Blueprint("jobs", __name__, template_folder="templates")


@bp.route("/jobs/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("jobs/show.html", job=get_or_404(BackgroundJob, job_id))


@bp.route("/jobs/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    job = get_or_404(BackgroundJob, job_id)
    return render_page_or_partial("jobs/show.html", "jobs/_progress.html", job=job)
