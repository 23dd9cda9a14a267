from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import login_required

from leadapp.extensions import db
from leadapp.models import Lead
from leadapp.security import get_or_404
from leadapp.templating import render_page_or_partial

bp = Blueprint("leads", __name__, template_folder="templates")
PAGE_SIZE = 50


@bp.route("/leads")
@login_required
def index():
    q = (request.args.get("q") or "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    query = sa.select(Lead).order_by(Lead.id)
    if q:
        like = f"%{q}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [
            Lead.first_name.ilike(like),
            Lead.last_name.ilike(like),
            Lead.email_key.ilike(like.lower()),
            Lead.customer_key == q,
        ]
        if len(digits) >= 4:
            conditions.append(Lead.phone1.like(f"%{digits}%"))
        query = query.where(sa.or_(*conditions))
    leads = db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)).all()
    return render_page_or_partial(
        "leads/index.html",
        "leads/_table.html",
        leads=leads[:PAGE_SIZE],
        q=q,
        page=page,
        has_next=len(leads) > PAGE_SIZE,
    )


@bp.route("/leads/<int:lead_id>")
@login_required
def show(lead_id: int):
    return render_template("leads/show.html", lead=get_or_404(Lead, lead_id))
