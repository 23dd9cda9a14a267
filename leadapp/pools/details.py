"""Pool details: edit, the pool's figures and charts, and its CSV downloads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import login_required

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.security import get_or_404

from .views import bp


@bp.route("/pools/<int:pool_id>")
@login_required
def show(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    leads = db.session.scalars(
        sa.select(Lead).where(Lead.pool_id == pool.id).order_by(Lead.id).limit(50)
    ).all()
    return render_template("pools/show.html", pool=pool, leads=leads)
