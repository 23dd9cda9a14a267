"""One lead: its page (why it is not ready to dial, call history, changes), wrap code,
copy to another pool, delete."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from leadapp.domain.fields import STANDARD_FIELDS
from leadapp.domain.timezones import SOURCE_TEXT
from leadapp.extensions import db
from leadapp.models import (
    Account,
    Campaign,
    Interaction,
    Lead,
    LeadPool,
    PoolAssignment,
    User,
)
from leadapp.security import get_or_404
from leadapp.services import lead_history
from leadapp.services import leads as lead_service
from leadapp.services import wrap_codes as wrap_code_service
from leadapp.services.calling_hours import lead_callable

from ..forms import (
    CopyForm,
    WrapCodeForm,
)
from . import bp
from .common import (
    _custom_definitions,
    _pools,
    _zone,
)

# ---------------------------------------------------------------------------------------
# One lead


# Why a lead is do-not-call (``Lead.dnc_reason``), as the lead page says it.
DNC_WHY = {
    "number": "its number is on the do-not-call list",
    "copy": "a duplicate of it, moved by the Lead Deduplicator, is on the do-not-call list",
    "hand": "it was marked do-not-call by hand",
}


def dial_state(lead: Lead) -> list[str]:
    """Why the lead is not ready to dial (empty: it is ready)."""
    reasons = []
    if lead.do_not_call:
        reasons.append(DNC_WHY.get(lead.dnc_reason, "it is marked do-not-call"))
    if lead.status != "open":
        reasons.append(f"its status is {lead.status}")
    if lead.completed:
        reasons.append("it is completed")
    if not lead.phone1:
        reasons.append("it has no valid phone")
    pool = lead.pool
    today = dt.datetime.now(_zone()).date()
    if pool.status != "active" or pool.is_system:
        reasons.append("its pool is inactive")
    elif (pool.active_from and today < pool.active_from) or (
        pool.active_until and today > pool.active_until
    ):
        reasons.append("its pool is outside its active dates")
    to_dial = db.session.scalar(
        sa.select(PoolAssignment.id).where(
            PoolAssignment.pool_id == pool.id, PoolAssignment.to_dial.is_(True)
        )
    )
    if not to_dial:
        reasons.append("its pool is not assigned to a campaign to dial")
    return reasons


def _wrap_form(lead: Lead) -> WrapCodeForm:
    form = WrapCodeForm(
        data={
            "wrap_code": lead.wrap_code or "",
            "callback_at": _to_local(lead.callback_at),
        }
    )
    return form


def _to_local(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(_zone()).replace(tzinfo=None)


def _copy_form(lead: Lead) -> CopyForm:
    form = CopyForm()
    form.pool.choices = [(p.id, p.name) for p in _pools() if p.id != lead.pool_id]
    return form


def _show(lead: Lead, *, wrap_form=None, copy_form=None, status: int = 200):
    interactions = list(
        db.session.scalars(
            sa.select(Interaction)
            .where(Interaction.lead_id == lead.id)
            .order_by(Interaction.at.desc(), Interaction.id.desc())
            .limit(500)
        )
    )
    campaign_ids = {i.campaign_id for i in interactions if i.campaign_id}
    agent_ids = {i.agent_id for i in interactions if i.agent_id}
    campaigns = {
        c.id: c
        for c in db.session.scalars(sa.select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    agents = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(agent_ids)))}
    custom_defs = _custom_definitions()
    return render_template(
        "leads/show.html",
        changes=lead_history.history(lead, _account_zone(lead)),
        standard_labels={f.key: f.label for f in STANDARD_FIELDS},
        lead=lead,
        interactions=interactions,
        campaigns=campaigns,
        agents=agents,
        not_ready=dial_state(lead),
        wrap_form=wrap_form or _wrap_form(lead),
        copy_form=copy_form or _copy_form(lead),
        wrap_codes=wrap_code_service.codes(lead.account_id),
        wrap_effects=wrap_code_service.EFFECT_TEXT,
        custom_defs=custom_defs,
        zone_source_text=SOURCE_TEXT,
        callable_now=lead_callable(lead, dt.datetime.now(dt.UTC)),
        callback_codes=sorted(wrap_code_service.callback_codes(lead.account_id)),
    ), status


def _account_zone(lead: Lead) -> str:
    return db.session.get(Account, lead.account_id).timezone


@bp.route("/leads/<int:lead_id>")
@login_required
def show(lead_id: int):
    return _show(get_or_404(Lead, lead_id))


@bp.route("/leads/<int:lead_id>/wrap-code", methods=["POST"])
@login_required
def wrap_code(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = WrapCodeForm()
    if form.validate_on_submit():
        callback_at = None
        if form.callback_at.data:
            callback_at = form.callback_at.data.replace(tzinfo=_zone())
        try:
            lead_service.set_wrap_code(
                lead,
                form.wrap_code.data,
                callback_at=callback_at,
                user_id=current_user.id,
            )
        except lead_service.LeadError as exc:
            db.session.rollback()
            form.wrap_code.errors = [*form.wrap_code.errors, str(exc)]
        else:
            db.session.commit()
            flash("Wrap code saved.", "success")
            return redirect(url_for("leads.show", lead_id=lead.id))
    lead = get_or_404(Lead, lead_id)
    return _show(lead, wrap_form=form, status=422)


@bp.route("/leads/<int:lead_id>/copy", methods=["POST"])
@login_required
def copy(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    form = _copy_form(lead)
    if form.validate_on_submit():
        target = get_or_404(LeadPool, form.pool.data)
        try:
            outcome = lead_service.copy_lead(
                lead, target, as_update_by_customer_key=form.as_update.data, user_id=current_user.id
            )
        except lead_service.LeadError as exc:
            db.session.rollback()
            form.pool.errors = [*form.pool.errors, str(exc)]
        else:
            db.session.commit()
            if outcome.action == "updated":
                flash(
                    f"Updated lead #{outcome.lead.id} in {target.name} (same customer key).",
                    "success",
                )
            else:
                flash(f"Copied to {target.name} as lead #{outcome.lead.id}.", "success")
            return redirect(url_for("leads.show", lead_id=outcome.lead.id))
    return _show(get_or_404(Lead, lead_id), copy_form=form, status=422)


@bp.route("/leads/<int:lead_id>/delete", methods=["POST"])
@login_required
def delete(lead_id: int):
    lead = get_or_404(Lead, lead_id)
    pool_id, name = lead.pool_id, lead.display_name
    lead_service.delete_lead(lead, user_id=current_user.id)
    db.session.commit()
    flash(f"Lead #{lead_id} ({name}) deleted.", "success")
    return redirect(url_for("leads.index", pool=pool_id))
