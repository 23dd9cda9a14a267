from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import login_required

from leadapp.extensions import db
from leadapp.models import Import
from leadapp.security import get_or_404

bp = Blueprint("imports", __name__, template_folder="templates")


@bp.route("/imports")
@login_required
def index():
    imports = db.session.scalars(sa.select(Import).order_by(Import.created_at.desc())).all()
    return render_template("imports/index.html", imports=imports)


@bp.route("/imports/<int:import_id>")
@login_required
def show(import_id: int):
    return render_template("imports/show.html", imp=get_or_404(Import, import_id))
