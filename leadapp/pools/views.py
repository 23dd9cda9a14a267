from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_required

from leadapp.extensions import db
from leadapp.models import LeadPool
from leadapp.services import jobs as job_rows
from leadapp.tasks import QueueUnavailable, dispatch
from leadapp.tasks.pools import refresh_pool_counts
from leadapp.templating import render_page_or_partial

bp = Blueprint("pools", __name__, template_folder="templates")


def _filtered_pools():
    q = (request.args.get("q") or "").strip()
    status = request.args.get("status") or "all"
    query = sa.select(LeadPool).order_by(LeadPool.is_system, LeadPool.created_at.desc())
    if q:
        query = query.where(LeadPool.name.icontains(q, autoescape=True))  # % and _ are literal
    if status in ("active", "inactive"):
        query = query.where(LeadPool.status == status)
    return list(db.session.scalars(query)), q, status


@bp.route("/")
@login_required
def home():
    return redirect(url_for("pools.index"))


@bp.route("/pools")
@login_required
def index():
    pools, q, status = _filtered_pools()
    return render_page_or_partial(
        "pools/index.html", "pools/_grid.html", pools=pools, q=q, status=status
    )


@bp.route("/pools/refresh-counts", methods=["POST"])
@login_required
def refresh_counts():
    job = job_rows.create_job(
        current_user.account_id, "pool_counts", "Recount lead pools", "default", current_user.id
    )
    db.session.commit()
    try:
        dispatch(job, refresh_pool_counts)
    except QueueUnavailable as exc:
        flash(str(exc), "danger")
        return redirect(url_for("pools.index"))
    return redirect(url_for("jobs.show", job_id=job.id))


# The pool-detail pages live in their own module on the same blueprint.
from leadapp.pools import details  # noqa: E402, F401
