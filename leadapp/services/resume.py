"""Resume / Run again: work that stopped — an import, a dedup run, a do-not-call upload —
handed to a new start, from the command line (``flask leads resume``, ``flask dedup
resume``) and from the work's page alike.

Work may be started again when its job will not finish on its own (``jobs.needs_restart``:
failed, stalled because its worker was lost, or queued with no RQ job left to run it).
A stalled or lost row is failed first with the sentence that says why, so that it can
never run beside the new start. What was saved before stays: an import goes on after its
last written batch, a dedup run after its last move, a do-not-call upload adds its numbers
once (numbers already listed are counted as such). Services: flush only; the caller
commits, then dispatches the job."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import BackgroundJob, DedupJob, Import
from leadapp.models.base import utcnow
from leadapp.services import dedup as dedup_service
from leadapp.services import dnc as dnc_service
from leadapp.services import jobs as job_rows
from leadapp.services.imports import stage as import_stage


class CannotResume(ValueError):
    """The work cannot be started again now; the message is one sentence for people."""


def _take_over(row: BackgroundJob | None, still: str) -> None:
    """Fail the stalled or lost ``row`` the work points at (a failed or finished one is left
    as it is); refuse with ``still`` when the row is alive and may finish on its own."""
    if row is None or row.ended:
        return
    if not (job_rows.is_stalled(row) or job_rows.is_lost(row)):
        raise CannotResume(still)
    job_rows.mark_failed(row, job_rows.why_stopped(row))


# --- imports ------------------------------------------------------------------------------


def import_refusal(imp: Import) -> str | None:
    """Why import ``imp`` cannot be resumed (a sentence), or None when it can."""
    if imp.status == "completed":
        return f"Import {imp.id} has already finished; there is nothing to resume."
    staged = Path(imp.staging_path or "", "source.csv")
    if not imp.mapping or not imp.staging_path or not staged.is_file():
        return (
            f"Import {imp.id} has no file and mapping yet; "
            "finish its steps in the upload wizard first."
        )
    return None


NOT_STARTED_YET = (
    "This import has not been started yet; finish its steps in the upload wizard and "
    "start it from the review step."
)


def import_can_run_again(imp: Import) -> bool:
    """For the import's page: it was started (its last job is an import run, not the check
    step's), that job will not finish on its own, and the import can be resumed."""
    row = imp.job
    if row is None or row.kind != "import" or imp.step not in ("import", "done"):
        return False
    return job_rows.needs_restart(row) and import_refusal(imp) is None


def take_over_import(imp: Import) -> None:
    """Make import ``imp`` ready to be started again: refuses (``CannotResume``) a finished
    one, one without file and mapping, and one whose job is alive; a stalled or lost job is
    failed with the reason. The caller then starts it here or queues it
    (``queue_import``)."""
    refusal = import_refusal(imp)
    if refusal:
        raise CannotResume(refusal)
    row = db.session.get(BackgroundJob, imp.job_id) if imp.job_id else None
    _take_over(
        row,
        f"Import {imp.id} is still {row.status if row else 'queued'} (job {imp.job_id}); "
        "wait for it, or resume it once it shows as stalled.",
    )
    imp.error = None
    db.session.flush()


def queue_import(imp: Import, user_id: int | None) -> BackgroundJob:
    """After ``take_over_import``: a queued job row for the import's run, which the import
    now follows. The caller commits, then dispatches ``tasks.imports.run_import``."""
    row = job_rows.create_job(
        imp.account_id, "import", f"Import {imp.file_name}", "imports", user_id or imp.user_id
    )
    imp.job_id = row.id
    imp.status = "queued"
    db.session.flush()
    return row


def import_check_can_run_again(imp: Import) -> bool:
    """For the check-data step's waiting page: the check (staging and analysing the file,
    nothing written to leads) will not finish on its own."""
    row = imp.job
    return (
        row is not None
        and row.kind == "import_check"
        and imp.status in ("draft", "failed")
        and imp.step not in ("import", "done")
        and job_rows.needs_restart(row)
    )


def take_over_import_check(imp: Import) -> BackgroundJob:
    """Queue the import's stopped check once more, on its own row (its page follows it),
    from the file: what a half-done check staged is dropped. Refuses (``CannotResume``) a
    check that is alive or was just started again. The caller commits, then hands the row
    to RQ again (``tasks.dispatch_again``)."""
    row = imp.job
    if not import_check_can_run_again(imp):
        raise CannotResume(
            f"The check of import {imp.id} is not stopped; wait for it, or run it again "
            "once it shows as stalled."
        )
    if not job_rows.restart(row, row.status):
        raise CannotResume(f"The check of import {imp.id} has just been started again.")
    import_stage.forget_staged(imp)
    return row


# --- dedup runs ----------------------------------------------------------------------------


def _run_row(job: DedupJob) -> BackgroundJob | None:
    row = db.session.get(BackgroundJob, job.job_id) if job.job_id else None
    return row if row is not None and row.kind == "dedup_run" else None


def dedup_restart_label(job: DedupJob) -> str | None:
    """For the dedup job's page: "Resume" for a run whose worker was lost (or whose queued
    run no RQ job will start) — the rest of its plan is carried out; "Run again" for a run
    that failed (what it moved was put back) or a scheduled run whose job failed before it
    started; None when there is nothing to start again."""
    row = _run_row(job)
    if row is None:
        return None
    if job.status == "running" and job_rows.needs_restart(row):
        return "Resume"
    if job.status in ("failed", "scheduled") and row.status == "failed":
        return "Run again"
    return None


def run_dedup_again(job: DedupJob, user_id: int | None = None) -> BackgroundJob:
    """Start a stopped or failed run again under a new job row (returned): a lost run is
    resumed (``take_over_dedup_run``); a failed one, whose moves were put back, runs anew
    on the data of the moment, with the settings tested and acknowledged before (it is
    then "running": ``run_dedup(row, job, True)``); a scheduled run whose job failed before
    it started keeps its schedule (``run_dedup(row, job)``). Of two presses exactly one
    gets it; the other is refused (``CannotResume``). The caller commits, then dispatches."""
    if job.status == "running":
        return take_over_dedup_run(job, user_id)
    if dedup_restart_label(job) != "Run again":
        raise CannotResume(
            f"Dedup job {job.id} is {job.status}; only a run that stopped or failed can be "
            "run again."
        )
    seen_row = job.job_id
    row = job_rows.create_job(
        job.account_id, "dedup_run", f"Dedup run (again): {job.name}", "dedup", user_id
    )
    values = {"job_id": row.id, "updated_at": utcnow()}
    if job.status == "failed":
        values.update(status="running", error=None)
    taken = db.session.execute(
        sa.update(DedupJob)
        .where(
            DedupJob.id == job.id,
            DedupJob.status == job.status,
            DedupJob.job_id.is_not_distinct_from(seen_row),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(job)
    if not taken:
        raise CannotResume(f"Dedup job {job.id} has just been started again; see its page.")
    return row


def take_over_dedup_run(job: DedupJob, user_id: int | None = None) -> BackgroundJob:
    """Hand a stopped run to a new job row (returned): the leads already moved stay moved,
    the rest of the plan is carried out by ``tasks.dedup.run_dedup(row, job, True)``, none
    is moved twice. Of two resumes started together exactly one gets it; the other, like a
    run still alive or one that did not stop, is refused (``CannotResume``). The caller
    commits, then runs or dispatches it."""
    if job.status != "running":
        raise CannotResume(
            f"Dedup job {job.id} is {job.status}; only a run that stopped can be resumed."
        )
    seen_row = job.job_id
    row = db.session.get(BackgroundJob, seen_row) if seen_row else None
    _take_over(
        row,
        f"Dedup job {job.id} is still running (job {seen_row}); "
        "resume it once it shows as stalled.",
    )
    new_row = job_rows.create_job(
        job.account_id, "dedup_run", f"Dedup run (resumed): {job.name}", "dedup", user_id
    )
    if not dedup_service.hand_over(job, seen_row, new_row.id):
        raise CannotResume(
            f"Dedup job {job.id} has been taken over by another resume; see its page."
        )
    return new_row


# --- do-not-call uploads ---------------------------------------------------------------------


def dnc_upload_file(row: BackgroundJob) -> Path | None:
    """The saved file a do-not-call upload job reads (kept until a run committed it)."""
    return Path(row.args[0]) if row.args else None


def dnc_upload_can_run_again(row: BackgroundJob) -> bool:
    """For the upload's page: its job will not finish on its own and its file is kept."""
    path = dnc_upload_file(row)
    return (
        row.kind == dnc_service.UPLOAD_KIND
        and path is not None
        and path.is_file()
        and job_rows.needs_restart(row)
    )


def take_over_dnc_upload(row: BackgroundJob) -> None:
    """Queue a failed, stalled or lost do-not-call upload once more, on its own row (its
    page follows it); refuses (``CannotResume``) one that finished, is alive, has lost its
    file or was just started again by someone else. The caller commits, then hands it to
    RQ again (``tasks.dispatch_again``)."""
    if row.status == "completed":
        raise CannotResume("This upload has been added to the list; there is nothing to run again.")
    path = dnc_upload_file(row)
    if path is None or not path.is_file():
        raise CannotResume(
            "The file of this upload is no longer kept on the server; upload it again."
        )
    if not job_rows.needs_restart(row):
        raise CannotResume(
            f"This upload is still {row.status}; wait for it, or run it again once it "
            "shows as stalled."
        )
    if not job_rows.restart(row, row.status):
        raise CannotResume("This upload has just been started again; its page shows it.")


DISCARDED = "Discarded: nothing of this upload was added, and its file is deleted."


def discard_dnc_upload(row: BackgroundJob) -> Path:
    """Give up a failed, stalled or lost do-not-call upload: its row ends failed with
    ``DISCARDED``; returns its file, which the caller deletes once that is committed.
    Refuses (``CannotResume``) one that finished, is alive or has no file any more."""
    if not dnc_upload_can_run_again(row):
        raise CannotResume(
            "Only an upload that failed or stopped, and whose file is kept, can be discarded."
        )
    if row.status != "failed":
        job_rows.mark_failed(row, job_rows.why_stopped(row))
    row.message = DISCARDED
    db.session.flush()
    return dnc_upload_file(row)
