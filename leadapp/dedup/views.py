"""The Lead Deduplicator's pages: the job table, the schedule page (general, settings,
scheduling, mandatory test run), the report with its CSV, cancel and undo.

Everyone logged in sees the jobs; only admins change, test, schedule, cancel or undo them.
General and Settings lock once a test run has happened — the server refuses such changes
too. A refusal of the scheduling rules opens the page's error modal."""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from leadapp.domain.csv_export import to_csv_bytes
from leadapp.extensions import db
from leadapp.jobs.views import job_restart
from leadapp.models import BackgroundJob, DedupGoldenChange, DedupJob
from leadapp.models.base import utcnow
from leadapp.routing import page_arg
from leadapp.security import admin_required, get_or_404
from leadapp.services import dedup as dedup_service
from leadapp.services import jobs as job_rows
from leadapp.services import mail as mail_service
from leadapp.services import resume as resume_service
from leadapp.services.dedup import DedupError, DedupSettings
from leadapp.services.dedup_scope import over_limit, scope_options, selected_total
from leadapp.tasks import QueueUnavailable, dispatch
from leadapp.templating import render_page_or_partial

from .forms import (
    LOCKED_FIELDS,
    SCOPE_CHOICES,
    JobForm,
    ScheduleForm,
    match_choices,
    split_emails,
)

bp = Blueprint("dedup", __name__, template_folder="templates")

TEXT = {"Content-Type": "text/plain; charset=utf-8"}
SCOPES = [value for value, _ in SCOPE_CHOICES]
PER_PAGE = 25
REPORT_PER_PAGE = 50
# The job table's status words and colours; draft and tested jobs are "Not Scheduled".
STATUS_LABELS = {
    "draft": "Not Scheduled",
    "testing": "Not Scheduled",
    "tested": "Not Scheduled",
    "scheduled": "Scheduled",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "undone": "Undone",
}
# Once a job has run, its schedule cannot change any more.
RUN_STATUSES = ("running", "completed", "undone")
TESTABLE = ("draft", "tested", "failed", "cancelled")
LOCKED_MESSAGE = (
    "General and Settings are locked after a test run; create a new job to change them."
)


@bp.app_template_filter("dedup_status")
def dedup_status(status: str) -> str:
    return STATUS_LABELS.get(status, status.title())


def _zone() -> ZoneInfo:
    return ZoneInfo(current_user.account.timezone)


def _now_local() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone(_zone())


def _to_utc(day: dt.date, time: dt.time) -> dt.datetime:
    """A date and time of day in the account's zone → naive UTC (what the model stores)."""
    local = dt.datetime.combine(day, time).replace(tzinfo=_zone())
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _to_local(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC).astimezone(_zone())


def is_locked(job: DedupJob) -> bool:
    """General and Settings are read-only once a test run was started or has results."""
    return job.id is not None and (bool(job.test_results) or job.status != "draft")


def _row(job: DedupJob) -> BackgroundJob | None:
    return db.session.get(BackgroundJob, job.job_id) if job.job_id else None


def _reconcile(job: DedupJob) -> None:
    """A test run whose job row failed leaves the dedup job testable again."""
    row = _row(job)
    if job.status == "testing" and row is not None and row.status == "failed":
        job.status = "tested" if job.test_results else "draft"
        db.session.commit()


def _refused(message: str, status: int = 422):
    db.session.rollback()
    if request.htmx:
        return message, status, TEXT
    flash(message, "danger")
    return None


# --- the job table -------------------------------------------------------------------------


@bp.route("/dedup")
@login_required
def index():
    q = (request.args.get("q") or "").strip()
    page = page_arg()
    query = sa.select(DedupJob)
    if q:
        query = query.where(DedupJob.name.ilike(f"%{q}%"))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(page, pages)
    jobs = db.session.scalars(
        query.order_by(DedupJob.created_at.desc(), DedupJob.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return render_page_or_partial(
        "dedup/index.html", "dedup/_table.html", jobs=jobs, q=q, page=page, pages=pages,
        total=total,
    )  # fmt: skip


# --- the schedule page ---------------------------------------------------------------------


def _forms(job: DedupJob, options, locked: bool) -> tuple[JobForm | None, ScheduleForm]:
    job_form = None
    if not locked:
        job_form = (
            JobForm()
            if request.method == "POST"
            else JobForm(
                name=job.name,
                description=job.description,
                scope=job.scope or "account",
                campaigns=job.targets if job.scope == "campaign" else [],
                pools=job.targets if job.scope == "list" else [],
                purposes=job.targets if job.scope == "purpose" else [],
                match_keys=job.match_keys or ["phone1"],
                match_mode=job.match_mode or "any",
                keep_rule=job.keep_rule or "latest-created",
                retain_inbound=bool(job.retain_inbound),
            )
        )
        job_form.campaigns.choices = [(o.value, o.label) for o in options.campaigns]
        job_form.pools.choices = [(o.value, o.label) for o in options.pools]
        job_form.purposes.choices = [(o.value, o.label) for o in options.purposes]
        job_form.match_keys.choices = match_choices()
    if request.method == "POST":
        schedule_form = ScheduleForm()
    else:
        local = _to_local(job.scheduled_for) if job.scheduled_for else None
        when = (
            {"run_date": local.date(), "run_time": local.time().replace(second=0, microsecond=0)}
            if local
            else {}
        )
        schedule_form = ScheduleForm(
            emails="\n".join(job.emails or []), acknowledge=job.status == "scheduled", **when
        )
    return job_form, schedule_form


def _page(job: DedupJob, job_form, schedule_form, options, status: int = 200, error=None):
    today = _now_local().date()
    last_day = dedup_service.last_schedulable_day(utcnow(), _zone())
    total = _chosen_total(job_form)
    body = render_template(
        "dedup/show.html",
        djob=job,
        job_form=job_form,
        schedule_form=schedule_form,
        options=options,
        locked=is_locked(job),
        row=_row(job) if job.id else None,
        emails=mail_service.latest_emails(job),
        error=error,
        min_date=today.isoformat(),
        max_date=last_day.isoformat(),
        zone=_now_local().strftime("%Z"),
        limit=dedup_service.scope_limit(),
        inactive=_inactive_pool_name(),
        match_labels=dict(match_choices()),
        scope_total=total,
        scope_refusal=over_limit(total),
    )
    return body, status


def _chosen_total(form: JobForm | None) -> int:
    """The lead count of the scope chosen on the form (0 when there is no form)."""
    if form is None or form.scope.data not in SCOPES:
        return 0
    return selected_total(form.scope.data, form.targets())


def _inactive_pool_name() -> str:
    try:
        return dedup_service.inactive_pool().name
    except DedupError:
        return "(missing)"


def _apply_job_form(job: DedupJob, form: JobForm, options) -> bool:
    """General + Settings from the form onto the job; False (errors on the form) if refused."""
    name = form.name.data
    clash = db.session.scalar(
        sa.select(DedupJob.id).where(
            sa.func.lower(DedupJob.name) == name.lower(),
            DedupJob.id != (job.id or 0),
        )
    )
    if clash:
        form.name.errors.append(f"A dedup job named '{name}' already exists; choose another name.")
        return False
    scope = form.scope.data
    targets = form.targets()
    over = [o for o in options.for_scope(scope) if o.over and o.value in targets]
    if scope == "account" and options.account > dedup_service.scope_limit():
        form.scope.errors.append(
            f"The account holds {options.account:,} leads, over the limit of "
            f"{dedup_service.scope_limit():,}; choose campaigns or pools."
        )
        return False
    if over:
        form.scope.errors.append(
            f"{', '.join(o.label for o in over)} holds more than "
            f"{dedup_service.scope_limit():,} leads and cannot be chosen."
        )
        return False
    refusal = over_limit(selected_total(scope, targets))
    if refusal:
        form.scope.errors.append(refusal)
        return False
    try:
        settings = DedupSettings(
            scope=scope,
            targets=targets,
            match_keys=list(form.match_keys.data or []),
            match_mode=form.match_mode.data or "any",
            keep_rule=form.keep_rule.data,
            retain_inbound=bool(form.retain_inbound.data),
        ).check()
    except DedupError as exc:
        field = form.match_keys if "match key" in str(exc) or "phone" in str(exc) else form.scope
        field.errors.append(str(exc))
        return False
    job.name = name
    job.description = form.description.data or ""
    job.scope = settings.scope
    job.targets = settings.targets
    job.match_keys = settings.match_keys
    job.match_mode = settings.match_mode
    job.keep_rule = settings.keep_rule
    job.retain_inbound = settings.retain_inbound
    return True


def _edit(job: DedupJob):
    options = scope_options()
    if job.id is not None:
        _reconcile(job)
    locked = is_locked(job)
    if request.method == "POST":
        if not current_user.is_admin:
            abort(403)
        if locked and any(name in request.form for name in LOCKED_FIELDS):
            db.session.rollback()
            return _page(job, *_forms(job, options, True), options, 422, error=LOCKED_MESSAGE)
        if job.status in RUN_STATUSES:
            db.session.rollback()
            message = "This job has already run; its schedule cannot change any more."
            return _page(job, *_forms(job, options, True), options, 422, error=message)
    job_form, schedule_form = _forms(job, options, locked)
    if request.method != "POST":
        return _page(job, job_form, schedule_form, options)

    valid = schedule_form.validate_on_submit()
    if job_form is not None:
        valid = job_form.validate() and valid
        if valid:
            valid = _apply_job_form(job, job_form, options)
        if valid and job.id is None:
            job.created_by_id = current_user.id
            db.session.add(job)
    if not valid:
        db.session.rollback()
        return _page(job, job_form, schedule_form, options, 422)
    try:
        action = _apply_schedule(job, schedule_form)
    except DedupError as exc:
        db.session.rollback()
        if job.id is None or sa.inspect(job).transient:
            job = DedupJob(id=None, status="draft")
        return _page(job, job_form, schedule_form, options, 422, error=str(exc))
    if job.target_pool_id is None:
        with contextlib.suppress(DedupError):
            job.target_pool_id = dedup_service.inactive_pool().id
    db.session.commit()
    message = "The dedup job was saved."
    try:
        if action == "schedule":
            from leadapp.tasks.dedup import schedule_run

            schedule_run(job, current_user.id)
            message = (
                f"The dedup job is scheduled for {_to_local(job.scheduled_for):%Y-%m-%d %H:%M %Z}."
            )
        elif action == "unschedule":
            from leadapp.tasks.dedup import cancel_run

            cancel_run(job)
            message = "The dedup job was unscheduled; its test run results stay."
    except QueueUnavailable as exc:
        # The run is not on the schedule: say so, and leave the job unscheduled.
        dedup_service.unschedule(job)
        db.session.commit()
        flash(str(exc), "danger")
        return redirect(url_for("dedup.show", job_id=job.id))
    flash(message, "success")
    return redirect(url_for("dedup.show", job_id=job.id))


def _apply_schedule(job: DedupJob, form: ScheduleForm) -> str | None:
    """Scheduling onto the job: "schedule" or "unschedule" when the run must be (re)put on
    or taken off RQ's schedule after the commit, else None. Raises ``DedupError``."""
    emails = split_emails(form.emails.data)
    if form.run_date.data:
        when = _to_utc(form.run_date.data, form.run_time.data or dt.time(2, 0))
        unchanged = job.status == "scheduled" and job.scheduled_for == when
        dedup_service.schedule(
            job,
            when,
            emails,
            acknowledged=bool(form.acknowledge.data),
            user_id=current_user.id,
            zone=_zone(),
        )
        return None if unchanged else "schedule"
    job.emails = emails
    if job.status == "scheduled":
        dedup_service.unschedule(job)
        return "unschedule"
    db.session.flush()
    return None


@bp.route("/dedup/new", methods=["GET", "POST"])
@login_required
def new():
    if not current_user.is_admin:
        abort(403)
    return _edit(DedupJob(status="draft"))


@bp.route("/dedup/<int:job_id>", methods=["GET", "POST"])
@login_required
def show(job_id: int):
    if request.method == "POST" and not current_user.is_admin:
        abort(403)  # the role first, as on every admin action
    return _edit(get_or_404(DedupJob, job_id))


@bp.route("/dedup/scope-total")
@login_required
def scope_total():
    """The chosen scope's lead count, shown under the scope as the admin picks (htmx)."""
    scope = request.args.get("scope", "account")
    field = {"campaign": "campaigns", "list": "pools", "purpose": "purposes"}.get(scope)
    values = request.args.getlist(field) if field else []
    if scope in ("campaign", "list"):
        values = [int(v) for v in values if v.isascii() and v.isdigit()]  # ids, bounded later
    total = selected_total(scope, values) if scope in SCOPES else 0
    return render_template(
        "dedup/_scope_total.html", total=total, refusal=over_limit(total), chosen=bool(values)
    )


# --- the mandatory test run -----------------------------------------------------------------


@bp.app_template_global("dedup_testable")
def dedup_testable(job: DedupJob) -> bool:
    return job.id is not None and job.status in TESTABLE


def _test_section(job: DedupJob):
    return render_template("dedup/_test_run.html", djob=job, row=_row(job))


@bp.route("/dedup/<int:job_id>/test-run", methods=["POST"])
@admin_required
def start_test_run(job_id: int):
    job = get_or_404(DedupJob, job_id)
    _reconcile(job)
    if job.status not in TESTABLE:
        refusal = _refused(
            f"A test run cannot start while the job is {dedup_status(job.status).lower()}"
            + (" (unschedule it first)." if job.status == "scheduled" else ".")
        )
        return refusal or redirect(url_for("dedup.show", job_id=job.id))
    previous = job.status
    row = job_rows.create_job(
        job.account_id, "dedup_test", f"Dedup test run: {job.name}", "dedup", current_user.id
    )
    job.job_id = row.id
    job.status = "testing"
    db.session.commit()
    from leadapp.tasks.dedup import dedup_test_run

    try:
        dispatch(row, dedup_test_run, job.id)
    except QueueUnavailable as exc:
        job.status = previous
        db.session.commit()
        refusal = _refused(str(exc), 503)
        return refusal or redirect(url_for("dedup.show", job_id=job.id))
    if request.htmx:
        return _test_section(job)
    return redirect(url_for("dedup.show", job_id=job.id) + "#test-run")


@bp.route("/dedup/<int:job_id>/test-run")
@login_required
def test_run_status(job_id: int):
    """The polling partial of the test-run section; once the run ends the page reloads, so
    General and Settings show locked and the results appear."""
    job = get_or_404(DedupJob, job_id)
    if not request.htmx:
        return redirect(url_for("dedup.show", job_id=job.id) + "#test-run")
    _reconcile(job)
    row = _row(job)
    response = make_response(_test_section(job))
    if row is None or row.ended or job.status != "testing":
        response.headers["HX-Refresh"] = "true"
    return response


# --- the run ------------------------------------------------------------------------------


@bp.app_template_global("dedup_run_live")
def dedup_run_live(job: DedupJob, row: BackgroundJob | None) -> bool:
    """The run is under way and its section should follow it: the job is running and its
    background job has neither ended nor stopped (a stopped one offers Resume instead)."""
    return (
        job.status == "running"
        and row is not None
        and row.kind == "dedup_run"
        and not row.ended
        and job_restart(row) is None
    )


# A scheduled job's page starts following it this long before its time.
DUE_SOON = dt.timedelta(minutes=10)


@bp.app_template_global("dedup_run_due")
def dedup_run_due(job: DedupJob) -> bool:
    """A scheduled job whose time is near or past: its page watches for the run to start."""
    return (
        job.status == "scheduled"
        and job.scheduled_for is not None
        and job.scheduled_for - utcnow() <= DUE_SOON
    )


@bp.route("/dedup/<int:job_id>/run")
@login_required
def run_status(job_id: int):
    """The polling partial of the run section. Once the job's status is no longer the one
    the page shows (``seen``), or the run is no longer under way, the page reloads: the
    status badge, General, the run's figures and the Report / Undo buttons depend on it."""
    job = get_or_404(DedupJob, job_id)
    if not request.htmx:
        return redirect(url_for("dedup.show", job_id=job.id) + "#run")
    row = _row(job)
    response = make_response(render_template("dedup/_run.html", djob=job, row=row))
    seen = request.args.get("seen", "running")
    under_way = dedup_run_live(job, row) or dedup_run_due(job)
    if job.status != seen or not under_way:
        response.headers["HX-Refresh"] = "true"
    return response


# --- cancel, report, undo -------------------------------------------------------------------


@bp.route("/dedup/<int:job_id>/cancel", methods=["POST"])
@admin_required
def cancel(job_id: int):
    job = get_or_404(DedupJob, job_id)
    if job.status != "scheduled":
        flash("Only a scheduled job can be cancelled.", "danger")
        return redirect(url_for("dedup.index"))
    from leadapp.tasks.dedup import cancel_and_tell

    problem = cancel_and_tell(job, current_user.id)
    flash(f"The job '{job.name}' was cancelled; it will not run.", "success")
    if problem:
        flash(problem, "warning")
    return redirect(url_for("dedup.show", job_id=job.id))


@bp.route("/dedup/<int:job_id>/resume", methods=["POST"])
@admin_required
def resume(job_id: int):
    """Resume a run whose worker was lost, in a worker — what ``flask dedup resume
    --enqueue`` does: the leads already moved stay moved, none is moved twice — or run
    again a run that failed (its moves were put back) or never started."""
    job = get_or_404(DedupJob, job_id)
    shown = url_for("dedup.show", job_id=job.id)
    try:
        row = resume_service.run_dedup_again(job, current_user.id)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    from leadapp.tasks.dedup import run_dedup

    try:
        if job.status == "scheduled":  # its run never started: at its time, or now
            due = job.scheduled_for
            dispatch(row, run_dedup, job.id, at=due if due and due > utcnow() else None)
        else:
            dispatch(row, run_dedup, job.id, True)
    except QueueUnavailable as exc:
        flash(str(exc), "danger")  # the new row says so; the run can be resumed again
    return redirect(shown)


@bp.route("/dedup/<int:job_id>/report")
@login_required
def report(job_id: int):
    job = get_or_404(DedupJob, job_id)
    frame = dedup_service.report(job)
    pages = max((len(frame) + REPORT_PER_PAGE - 1) // REPORT_PER_PAGE, 1)
    page = min(page_arg(), pages)
    rows = frame.iloc[(page - 1) * REPORT_PER_PAGE : page * REPORT_PER_PAGE]
    golden_changes = db.session.scalars(
        sa.select(DedupGoldenChange)
        .where(DedupGoldenChange.dedup_job_id == job.id)
        .order_by(DedupGoldenChange.lead_id)
        .limit(200)
    ).all()
    return render_template(
        "dedup/report.html",
        djob=job,
        rows=rows.to_dict("records"),
        total=len(frame),
        groups=int(frame["golden_lead_id"].nunique()) if len(frame) else 0,
        page=page,
        pages=pages,
        golden_changes=[(c.lead_id, inherited(c)) for c in golden_changes],
    )


def inherited(change: DedupGoldenChange) -> list[str]:
    """What a golden record inherited, one "Field: before → after" per changed value."""

    def yes_no(value) -> str:
        return "yes" if value else "no"

    def when(value) -> str:
        return _to_local(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"

    c = change
    pairs = [
        ("Do not call", yes_no(c.was_do_not_call), yes_no(c.new_do_not_call)),
        ("Status", c.was_status, c.new_status),
        ("Calls", str(c.was_call_count), str(c.new_call_count)),
        ("Last called", when(c.was_last_called_at), when(c.new_last_called_at)),
    ]
    if c.new_completed is not None:  # recorded since 0011
        pairs += [
            ("Completed", yes_no(c.was_completed), yes_no(c.new_completed)),
            ("Callback", when(c.was_callback_at), when(c.new_callback_at)),
        ]
    return [f"{name}: {was} → {new}" for name, was, new in pairs if was != new]


@bp.route("/dedup/<int:job_id>/report.csv")
@login_required
def report_csv(job_id: int):
    job = get_or_404(DedupJob, job_id)
    data = to_csv_bytes(dedup_service.report(job))
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="dedup-{job.id}-report.csv"'},
    )


@bp.route("/dedup/<int:job_id>/undo", methods=["POST"])
@admin_required
def undo(job_id: int):
    job = get_or_404(DedupJob, job_id)
    from leadapp.tasks.dedup import undo_and_tell

    try:
        result, problem = undo_and_tell(job, current_user.id)
    except DedupError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("dedup.show", job_id=job.id))
    flash(f"Undone: {result['restored']:,} leads were put back in their pools.", "success")
    if problem:
        flash(problem, "warning")
    changed = result["changed_since"] + result["golden_changed_since"]
    if changed:
        flash(
            "These leads changed since the run and were left as they are: "
            + ", ".join(str(i) for i in changed)
            + ".",
            "warning",
        )
    return redirect(url_for("dedup.show", job_id=job.id))
