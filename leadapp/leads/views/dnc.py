"""The do-not-call list: search, add a number, upload a list (a background job), remove."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from leadapp.domain import phones as phone_domain
from leadapp.extensions import db
from leadapp.models import (
    BackgroundJob,
    DoNotCallNumber,
)
from leadapp.routing import page_arg
from leadapp.security import admin_required, get_or_404
from leadapp.services import dnc as dnc_service
from leadapp.services import resume as resume_service
from leadapp.tasks import QueueUnavailable, dispatch, dispatch_again
from leadapp.tasks.dnc import upload_dnc_file
from leadapp.templating import international, render_page_or_partial

from ..forms import (
    DncAddForm,
    DncUploadForm,
)
from . import bp
from .common import (
    _account,
    _safe_next,
)

DNC_PAGE_SIZE = 50


# ---------------------------------------------------------------------------------------
# Do-not-call list


def _dnc_context(q: str, page: int) -> dict:
    query = sa.select(DoNotCallNumber)
    if q:
        e164, _ext, _reason = phone_domain.normalise_phone(q, _account().default_region)
        digits = "".join(ch for ch in q if ch.isdigit())
        conditions = [DoNotCallNumber.note.icontains(q, autoescape=True)]
        if e164:
            conditions.append(DoNotCallNumber.phone == e164)
        if digits:
            conditions.append(DoNotCallNumber.phone.contains(digits, autoescape=True))
        query = query.where(sa.or_(*conditions))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(DoNotCallNumber.added_at.desc(), DoNotCallNumber.id.desc())
        .limit(DNC_PAGE_SIZE + 1)
        .offset((page - 1) * DNC_PAGE_SIZE)
    ).all()
    return {
        "numbers": rows[:DNC_PAGE_SIZE],
        "q": q,
        "page": page,
        "has_next": len(rows) > DNC_PAGE_SIZE,
        "total": total,
    }


def _dnc_page(add_form=None, upload_form=None, result=None, status=200, upload_job=None):
    q = (request.args.get("q") or "").strip()
    page = page_arg()
    return render_page_or_partial(
        "leads/dnc.html",
        "leads/_dnc_table.html",
        add_form=add_form or DncAddForm(formdata=None),
        upload_form=upload_form or DncUploadForm(formdata=None),
        result=result,
        upload_job=upload_job,
        **_dnc_context(q, page),
    ), status


@bp.route("/leads/do-not-call")
@login_required
def dnc():
    upload = request.args.get("upload", type=int)
    if upload is None:
        return _dnc_page()
    job = get_or_404(BackgroundJob, upload)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    return _dnc_page(upload_job=job, result=dnc_service.UploadResult.of(job))


@bp.route("/leads/do-not-call", methods=["POST"])
@login_required
def dnc_add():
    form = DncAddForm()
    if form.validate_on_submit():
        try:
            entry, added, marked = dnc_service.add_number(
                _account(), form.phone.data, user_id=current_user.id, note=form.note.data or ""
            )
        except dnc_service.DncError as exc:
            db.session.rollback()
            form.phone.errors = [*form.phone.errors, str(exc)]
        else:
            db.session.commit()
            shown = international(entry.phone)
            if added:
                flash(
                    f"{shown} is on the do-not-call list; {marked} lead(s) marked do-not-call.",
                    "success",
                )
            else:
                flash(f"{shown} was already on the do-not-call list.", "info")
            return redirect(_safe_next(request.form.get("next"), url_for("leads.dnc")))
    return _dnc_page(add_form=form, status=422)


@bp.route("/leads/do-not-call/upload", methods=["POST"])
@login_required
def dnc_upload():
    """The list is saved and added by a background job (a national list has millions of
    numbers); the page then shows the job until it is done, and its result."""
    form = DncUploadForm()
    if not form.validate_on_submit():
        return _dnc_page(upload_form=form, status=422)
    try:
        job, path = dnc_service.receive_upload(
            _account(), form.file.data.stream, user_id=current_user.id
        )
    except dnc_service.DncError as exc:
        db.session.rollback()
        form.file.errors = [*form.file.errors, str(exc)]
        return _dnc_page(upload_form=form, status=422)
    shown = url_for("leads.dnc", upload=job.id)
    job.result = {"next_url": shown}  # where the progress widget goes once the job is done
    db.session.commit()
    try:
        dispatch(job, upload_dnc_file, str(path), form.note.data or "")
    except QueueUnavailable as exc:
        path.unlink(missing_ok=True)
        form.file.errors = [*form.file.errors, str(exc)]
        return _dnc_page(upload_form=form, status=503)
    return redirect(shown)


@bp.route("/leads/do-not-call/uploads/<int:job_id>/run-again", methods=["POST"])
@login_required
def dnc_run_again(job_id: int):
    """Run a failed, stalled or lost upload again from its kept file (anyone who may
    upload may); its page then follows the job again."""
    job = get_or_404(BackgroundJob, job_id)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    shown = url_for("leads.dnc", upload=job.id)
    try:
        resume_service.take_over_dnc_upload(job)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    try:
        dispatch_again(job, upload_dnc_file, *(job.args or []))
    except QueueUnavailable as exc:
        flash(str(exc), "danger")  # the row says so too, and the file is still kept
    return redirect(shown)


@bp.route("/leads/do-not-call/uploads/<int:job_id>/discard", methods=["POST"])
@login_required
def dnc_discard(job_id: int):
    """Give up a failed or stopped upload: its file is deleted once that is committed."""
    job = get_or_404(BackgroundJob, job_id)  # this account's jobs only
    if job.kind != dnc_service.UPLOAD_KIND:
        abort(404)
    shown = url_for("leads.dnc", upload=job.id)
    try:
        path = resume_service.discard_dnc_upload(job)
    except resume_service.CannotResume as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(shown)
    db.session.commit()
    path.unlink(missing_ok=True)
    flash(resume_service.DISCARDED, "info")
    return redirect(shown)


@bp.route("/leads/do-not-call/<int:number_id>/delete", methods=["POST"])
@admin_required
def dnc_remove(number_id: int):
    entry = get_or_404(DoNotCallNumber, number_id)
    shown = international(entry.phone)
    unmarked = dnc_service.remove_number(entry, user_id=current_user.id)
    db.session.commit()
    flash(
        f"{shown} was removed from the do-not-call list; {unmarked} lead(s) may be dialled again.",
        "success",
    )
    return redirect(url_for("leads.dnc"))
