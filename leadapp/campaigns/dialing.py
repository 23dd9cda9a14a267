"""The campaign page's "Dialing" section (issue 18): the queue's figures, a preview of the
next leads, the dial settings (admins), and the export of the leads ready to dial. Routes
on the campaigns blueprint."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField

from leadapp.extensions import db
from leadapp.models import Campaign
from leadapp.models.dialing import LEAD_ORDERS
from leadapp.security import admin_required, get_or_404
from leadapp.services import audit, dial_report, dial_settings

from .views import bp


class DialSettingsForm(FlaskForm):
    max_attempts = IntegerField("Maximum attempts per lead")
    lease_minutes = IntegerField("Lease length (minutes)")
    lead_order = SelectField(
        "Lead order within a pool",
        choices=[(key, dial_settings.LEAD_ORDER_TEXT[key]) for key in LEAD_ORDERS],
    )
    recycle = TextAreaField("Recycle delays (minutes after each outcome)")


def _recycle_text(settings) -> str:
    table = dial_settings.recycle_table(settings)
    return "\n".join(f"{code}: {minutes}" for code, minutes in table.items())


def _form(settings) -> DialSettingsForm:
    form = DialSettingsForm(
        max_attempts=settings.max_attempts,
        lease_minutes=settings.lease_minutes,
        lead_order=settings.lead_order,
        recycle=_recycle_text(settings),
    )
    return form


def dialing_context(campaign: Campaign, form: DialSettingsForm | None = None) -> dict:
    data = dial_report.panel(campaign)
    return {"campaign": campaign, "dialing": data, "dial_form": form or _form(data["settings"])}


@bp.app_context_processor
def _dialing_for_pages() -> dict:
    # The campaign page includes the section: it asks for its figures by this name.
    return {"dialing_context": dialing_context}


@bp.route("/<int:campaign_id>/dialing")
@login_required
def dialing(campaign_id: int):
    """The Dialing section alone (the page includes the same partial)."""
    campaign = get_or_404(Campaign, campaign_id)
    return render_template("campaigns/_dialing.html", **dialing_context(campaign))


def _parse_recycle(text: str) -> dict[str, str]:
    table = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        code, sep, minutes = line.partition(":")
        if not sep or not code.strip():
            raise dial_settings.DialSettingsError(
                f"Recycle delays, line {number}: write an outcome and its minutes, like BUSY: 15."
            )
        table[code.strip()] = minutes.strip()
    return table


@bp.route("/<int:campaign_id>/dialing/settings", methods=["POST"])
@admin_required
def dialing_settings(campaign_id: int):
    """Save the campaign's dial settings: maximum attempts, lease length, lead order and
    the recycle delay after each outcome."""
    campaign = get_or_404(Campaign, campaign_id)
    form = DialSettingsForm()
    if not form.validate_on_submit():
        abort(400)
    settings = dial_settings.settings_for(campaign)
    try:
        changes = dial_settings.update_settings(
            settings,
            max_attempts=request.form.get("max_attempts"),
            lease_minutes=request.form.get("lease_minutes"),
            lead_order=form.lead_order.data,
            recycle_minutes=_parse_recycle(form.recycle.data),
        )
    except dial_settings.DialSettingsError as exc:
        db.session.rollback()
        flash(f"The dial settings were not saved: {exc}", "danger")
        return redirect(url_for("campaigns.show", campaign_id=campaign.id) + "#dialing")
    if changes:
        audit.record(
            campaign.account_id, current_user.id, "campaign.dial_settings", campaign, **changes
        )
    db.session.commit()
    flash("The dial settings are saved." if changes else "Nothing changed in the dial settings.")
    return redirect(url_for("campaigns.show", campaign_id=campaign.id) + "#dialing")


@bp.route("/<int:campaign_id>/dialing/export.csv")
@login_required
def dialing_export(campaign_id: int):
    """The campaign's leads ready to dial as CSV: ``?layout=vicidial`` (the list loader's
    standard format) or ``leadapp`` (default)."""
    campaign = get_or_404(Campaign, campaign_id)
    layout = request.args.get("layout", "leadapp")
    if layout not in ("vicidial", "leadapp"):
        abort(404)
    name = f"{campaign.api_code}-ready-{layout}.csv"
    # Streamed batch by batch: a campaign's ready leads never sit in memory whole.
    return Response(
        stream_with_context(dial_report.export_chunks(campaign, layout)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
