"""Bulk actions on the leads checked on the Leads page (issue 17 item 16, seed 003): delete
(after a page naming the count), move to another list, mark do-not-call — the checked
leads, or every lead the search found."""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.security import get_or_404
from leadapp.services import lead_bulk, lead_search
from leadapp.services.pools import int_list

from . import bp
from .common import _account, _int, _safe_next
from .search import filters

ACTIONS = ("delete", "move", "dnc")


def _back():
    query = request.form.get("filter_query", "")
    fallback = url_for("leads.index") + (f"?{query}" if query else "")
    return redirect(_safe_next(request.form.get("next"), fallback))


def _chosen() -> list[int]:
    """The leads acted on: every lead the search found ("all matching"), else the checked
    ones — of this account only (the scoped query drops any other)."""
    if request.form.get("all_matching") == "1":
        f = filters(MultiDict(parse_qsl(request.form.get("filter_query", ""))))
        query = lead_search.search_query(f, _account()).with_only_columns(Lead.id)
        return lead_bulk.chosen_ids(query)
    ids = int_list(request.form.getlist("lead_ids"))
    if len(ids) > lead_bulk.MAX_IDS:
        abort(400, "Too many leads checked at once; use “all matching” instead.")
    if not ids:
        return []
    return lead_bulk.chosen_ids(
        lead_search.search_query({}, _account()).with_only_columns(Lead.id).where(Lead.id.in_(ids))
    )


@bp.route("/leads/bulk", methods=["POST"])
@login_required
def bulk():
    action = request.form.get("action")
    if action not in ACTIONS:
        abort(400, "Choose delete, move to a list or do-not-call.")
    ids = _chosen()
    if not ids:
        flash("Check at least one lead first.", "warning")
        return _back()
    try:
        if action == "delete":
            if _int(request.form.get("confirmed")) != len(ids):
                return render_template(
                    "leads/bulk_confirm.html",
                    count=len(ids),
                    form=request.form,
                    lead_ids=ids if request.form.get("all_matching") != "1" else [],
                )
            done = lead_bulk.delete_leads(ids, current_user)
            message = f"Deleted {done:,} lead{'s' if done != 1 else ''}."
        elif action == "move":
            target_id = _int(request.form.get("target_pool"))
            if target_id is None:
                flash("Choose the list to move the leads to.", "warning")
                return _back()
            target = get_or_404(LeadPool, target_id)
            done = lead_bulk.move_leads(ids, target, current_user)
            message = f"Moved {done:,} lead{'s' if done != 1 else ''} to {target.name}."
            if done < len(ids):
                message += f" {len(ids) - done:,} were in {target.name} already."
        else:
            done = lead_bulk.mark_do_not_call(ids, current_user)
            message = f"Marked {done:,} lead{'s' if done != 1 else ''} do-not-call."
            if done < len(ids):
                message += f" {len(ids) - done:,} were do-not-call already."
    except lead_bulk.BulkError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _back()
    db.session.commit()
    flash(message, "success")
    return _back()
