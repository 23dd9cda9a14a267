from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import login_required

from leadapp.extensions import db
from leadapp.models import DedupJob
from leadapp.security import get_or_404

bp = Blueprint("dedup", __name__, template_folder="templates")


@bp.route("/dedup")
@login_required
def index():
    jobs = db.session.scalars(sa.select(DedupJob).order_by(DedupJob.created_at.desc())).all()
    return render_template("dedup/index.html", jobs=jobs)


@bp.route("/dedup/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("dedup/show.html", job=get_or_404(DedupJob, job_id))
