"""The lead-pool grid (the home page): filters, sorting, paging, extra KPI columns, saved
views and bulk actions on checked pools."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from leadapp.extensions import db
from leadapp.models import SavedView
from leadapp.security import get_or_404, role_required
from leadapp.services import jobs as job_rows
from leadapp.services import pool_grid, pool_ready, pool_schedule, saved_views
from leadapp.services import pools as pool_service
from leadapp.services.pool_grid import GridFilters
from leadapp.services.pools import NotYours, PoolError
from leadapp.tasks import QueueUnavailable, dispatch
from leadapp.tasks.pools import refresh_pool_counts
from leadapp.templating import render_page_or_partial

bp = Blueprint(
    "pools",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/pools",
)

# Supervisors manage pools (DESIGN.md §1); both roles may change them.
managers_only = role_required("admin", "supervisor")
BULK_ACTIONS = ("activate", "deactivate", "shuffle", "delete")


def _today():
    return pool_grid.account_now(current_user.account.timezone).date()


@bp.context_processor
def ready_help() -> dict:
    """What "Ready to dial" means, for the grid's header and the pool page."""
    return {"READY_HELP": pool_ready.READY_HELP}


@bp.app_template_global()
def pool_status(pool) -> tuple[str, object]:
    """("Active" | "Scheduled" | "Ended" | "Inactive", the day dialling starts when
    scheduled) for ``pool`` today in the account's zone (``pools.status_word``)."""
    return pool_schedule.status_word(pool, _today(), current_user.account.timezone)


STATUS_BADGES = {
    "Active": "text-bg-success",
    "Scheduled": "text-bg-info",
    "Ended": "text-bg-warning",
    "Inactive": "text-bg-secondary",
}


@bp.app_template_global()
def pool_status_badge(pool) -> str:
    return STATUS_BADGES[pool_status(pool)[0]]


def _grid_filters() -> tuple[GridFilters, SavedView | None]:
    """The filters of this request: its arguments, a ``view=`` it names, or — with no
    arguments at all — the user's starred default view."""
    view = None
    if "view" in request.args:
        try:
            view = get_or_404(SavedView, int(request.args["view"]))
        except ValueError:
            abort(404)
        if not saved_views.can_see(current_user, view):
            abort(404)
    elif not request.args:
        view = saved_views.default_view(current_user)
    if view is not None:
        f = GridFilters.from_dict(view.filters)
        f.page = GridFilters.from_args(request.args).page
        return f, view
    return GridFilters.from_args(request.args), None


def _grid_context(f: GridFilters, active_view: SavedView | None) -> dict:
    mine, shared = saved_views.visible_views(current_user)
    projects, campaigns = pool_grid.filter_choices()
    owner_ids = {v.user_id for v in shared} | ({active_view.user_id} if active_view else set())
    owners = {u.id: u.name for u in saved_views.users_by_ids(owner_ids)}
    return {
        "owners": owners,
        "grid": pool_grid.grid(f, _today()),
        "f": f,
        "active_view": active_view,
        "my_views": mine,
        "shared_views": shared,
        "projects": projects,
        "campaigns": campaigns,
        "base_columns": pool_grid.BASE_COLUMNS,
        "extra_columns": pool_grid.EXTRA_COLUMNS,
        "unsortable": pool_grid.UNSORTABLE,
        "grid_query": urlencode(f.query_args(), doseq=True),
    }


@bp.route("/")
@login_required
def home():
    return redirect(url_for("pools.index"))


@bp.route("/pools")
@login_required
def index():
    f, view = _grid_filters()
    return render_page_or_partial("pools/index.html", "pools/_grid.html", **_grid_context(f, view))


def _back(query: str | None = None):
    """Back to the grid as it was (only ever a grid URL: no open redirect)."""
    query = query if query is not None else request.form.get("grid_query", "")
    query = urlencode(parse_qsl(query))  # re-encoded: nothing but query arguments survive
    return redirect(url_for("pools.index") + (f"?{query}" if query else ""))


def _filters_from_form() -> GridFilters:
    return GridFilters.from_args(MultiDict(parse_qsl(request.form.get("grid_query", ""))))


# ---------------------------------------------------------------------------------------
# Saved views


@bp.route("/pools/views", methods=["POST"])
@managers_only
def save_view():
    try:
        view = saved_views.save_view(
            current_user, request.form.get("name", ""), _filters_from_form()
        )
    except PoolError as exc:
        flash(str(exc), "danger")
        return _back()
    db.session.commit()
    flash(f"Saved the view {view.name} under My views.", "success")
    return redirect(url_for("pools.index", view=view.id))


def _view_action(view_id: int, change) -> SavedView:
    view = get_or_404(SavedView, view_id)
    if not saved_views.can_see(current_user, view):
        abort(404)
    try:
        result = change(view)
    except NotYours as exc:
        abort(403, str(exc))
    db.session.commit()
    return result or view


@bp.route("/pools/views/<int:view_id>/copy", methods=["POST"])
@managers_only
def copy_view(view_id: int):
    copy = _view_action(view_id, lambda v: saved_views.copy_view(current_user, v))
    flash(f"Copied the view as {copy.name}.", "success")
    return redirect(url_for("pools.index", view=copy.id))


@bp.route("/pools/views/<int:view_id>/share", methods=["POST"])
@managers_only
def share_view(view_id: int):
    shared = request.form.get("shared") == "1"
    view = _view_action(view_id, lambda v: saved_views.set_shared(current_user, v, shared))
    flash(
        f"{view.name} is {'shared with the account' if shared else 'only yours again'}.", "success"
    )
    return redirect(url_for("pools.index", view=view.id))


@bp.route("/pools/views/<int:view_id>/star", methods=["POST"])
@managers_only
def star_view(view_id: int):
    starred = request.form.get("starred") == "1"
    view = _view_action(view_id, lambda v: saved_views.set_starred(current_user, v, starred))
    flash(
        f"{view.name} opens first now." if starred else f"{view.name} is no longer your default.",
        "success",
    )
    return redirect(url_for("pools.index", view=view.id))


@bp.route("/pools/views/<int:view_id>/delete", methods=["POST"])
@managers_only
def delete_view(view_id: int):
    view = get_or_404(SavedView, view_id)
    name = view.name
    _view_action(view_id, lambda v: saved_views.delete_view(current_user, v))
    flash(f"Deleted the view {name}.", "success")
    return redirect(url_for("pools.index", status="all"))


# ---------------------------------------------------------------------------------------
# Bulk actions


def _checked_pools():
    return pool_service.pools_by_ids(request.form.getlist("pool_ids"))


@bp.route("/pools/bulk/confirm-delete", methods=["POST"])
@managers_only
def confirm_delete():
    """The confirmation (htmx into the page's dialog slot) that names the count first."""
    pools = _checked_pools()
    system = [p for p in pools if p.is_system]
    return render_template(
        "pools/_confirm_delete.html",
        pools=pools,
        system=system,
        count=pool_service.unprocessed_count(pools),
        grid_query=request.form.get("grid_query", ""),
    )


@bp.route("/pools/bulk", methods=["POST"])
@managers_only
def bulk():
    action = request.form.get("action")
    if action not in BULK_ACTIONS:
        abort(400)
    pools = _checked_pools()
    if not pools:
        flash("Check at least one pool first.", "warning")
        return _back()
    try:
        if action in ("activate", "deactivate"):
            status = "active" if action == "activate" else "inactive"
            changed, skipped = pool_service.set_status(pools, status, current_user)
            message = f"{changed} pool{'s' if changed != 1 else ''} {action}d."
            if skipped:
                message += f" {', '.join(skipped)} is the system pool and stays inactive."
        elif action == "shuffle":
            leads = pool_service.shuffle(pools, current_user)
            message = f"Shuffled the dial order of {leads:,} leads in {len(pools)} pool(s)."
        else:
            leads = pool_service.delete_unprocessed(pools, current_user)
            message = f"Deleted {leads:,} unprocessed leads from {len(pools)} pool(s)."
    except PoolError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return _back()
    db.session.commit()
    flash(message, "success")
    return _back()


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
from leadapp.pools import details, lists  # noqa: E402, F401
