"""Campaign pages: every user sees the account's campaigns; admins change them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import login_required

from leadapp.extensions import db
from leadapp.models import Campaign

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns", template_folder="templates")


@bp.route("/")
@login_required
def index():
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.name)).all()
    return render_template("campaigns/index.html", campaigns=campaigns)
