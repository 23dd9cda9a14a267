"""Lists managed as lists (issue 17 items 11-12, seed 003): a new list without a file, and
deleting a list with its leads (admins; confirmed with the count)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from leadapp.extensions import db
from leadapp.leads.forms import zone_choices
from leadapp.models import Campaign, LeadPool, User
from leadapp.models.base import is_id
from leadapp.security import admin_required, get_or_404
from leadapp.services import pool_lists
from leadapp.services.pools import PoolError

from .forms import DeleteListForm, NewListForm
from .views import bp, managers_only


def _new_form() -> NewListForm:
    form = NewListForm()
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.name)).all()
    form.campaign.choices = [(c.id, c.name) for c in campaigns]
    users = db.session.scalars(
        sa.select(User).where(User.active.is_(True)).order_by(User.name)
    ).all()
    form.owner.choices = [(u.id, u.name) for u in users]
    form.timezone.choices = zone_choices("The campaign's time zone")
    if request.method == "GET":
        form.owner.data = current_user.id
        wanted = request.args.get("campaign", type=int)
        form.campaign.data = wanted if is_id(wanted) else None
    return form


@bp.route("/pools/new", methods=["GET", "POST"])
@managers_only
def new_list():
    form = _new_form()
    problems: list[str] = []
    if not form.campaign.choices:
        problems.append("Create a campaign first: a list feeds a campaign.")
    elif form.validate_on_submit():
        # Ids past the INTEGER column name nothing (and would fail on PostgreSQL).
        campaign = (
            db.session.get(Campaign, form.campaign.data) if is_id(form.campaign.data) else None
        )
        owner = db.session.get(User, form.owner.data) if is_id(form.owner.data) else None
        try:
            pool = pool_lists.create_pool(
                current_user,
                form.name.data,
                campaign,
                description=form.description.data or "",
                timezone=form.timezone.data,
                owner=owner,
            )
        except PoolError as exc:
            db.session.rollback()
            problems.append(str(exc))
        else:
            db.session.commit()
            flash(
                f"Created the list {pool.name}. Add leads by hand, by the API or by an "
                "import into it.",
                "success",
            )
            return redirect(url_for("pools.show", pool_id=pool.id))
    status = 422 if (form.errors or problems) else 200
    return render_template("pools/new.html", form=form, problems=problems), status


def _delete_page(pool: LeadPool, form: DeleteListForm, problem: str | None = None, status=200):
    return render_template(
        "pools/delete.html",
        pool=pool,
        form=form,
        leads=pool_lists.lead_count(pool),
        refusal=pool_lists.why_not_deletable(pool),
        problem=problem,
    ), status


@bp.route("/pools/<int:pool_id>/delete", methods=["GET"])
@admin_required
def confirm_delete_list(pool_id: int):
    """What deleting the list would delete, or why it cannot be deleted."""
    return _delete_page(get_or_404(LeadPool, pool_id), DeleteListForm(formdata=None))


@bp.route("/pools/<int:pool_id>/delete", methods=["POST"])
@admin_required
def delete_list(pool_id: int):
    pool = get_or_404(LeadPool, pool_id)
    form = DeleteListForm()
    if not form.validate_on_submit():
        return _delete_page(pool, form, "The form expired; confirm again.", 400)
    name = pool.name
    try:
        leads = pool_lists.delete_pool(pool, current_user, form.leads.data)
    except PoolError as exc:
        db.session.rollback()
        return _delete_page(get_or_404(LeadPool, pool_id), form, str(exc), 409)
    db.session.commit()
    flash(f"Deleted the list {name} and its {leads:,} lead{'s' if leads != 1 else ''}.", "success")
    return redirect(url_for("pools.index"))
