"""The import job: stage, analyse and write an import's leads in the ``imports`` queue."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import EmailDelivery, Import, User
from leadapp.services import results_emails
from leadapp.services.imports import analyse as import_analyse
from leadapp.services.imports import errors as import_errors
from leadapp.services.imports import run as import_run
from leadapp.services.imports import stage as import_stage
from leadapp.tasks import QueueUnavailable, failure_text, tracked
from leadapp.tasks.mail import prepare_results_email, send_results_email


@tracked(queue="imports")
def run_import(job, progress, import_id: int) -> dict:
    """Run import ``import_id``; on failure the import says why, and the error propagates."""
    imp = db.session.get(Import, import_id)
    if imp is None:
        raise LookupError(f"Import {import_id} no longer exists.")
    imp.status = "running"
    db.session.commit()
    try:
        counts, email = run_with_summary(imp, progress)
    except import_errors.ImportTakenOver:
        db.session.rollback()  # the other process finishes the import: leave it be
        raise
    except Exception as exc:
        db.session.rollback()
        imp = db.session.get(Import, import_id)
        message = failure_text(exc)
        import_run.fail(imp, message)
        db.session.commit()
        raise
    try:
        send_results_email(email)
    except QueueUnavailable as exc:
        # The leads are in; only the summary email could not be queued. Say so on the job.
        return {**counts, "message": f"Import finished; the summary email was not sent: {exc}"}
    return counts


def run_with_summary(imp: Import, progress=None) -> tuple[dict, EmailDelivery | None]:
    """``import_run.run``, with the summary email made just before the import's final
    commit and committed with it; queue the email with ``send_results_email`` after."""
    made = []
    counts = import_run.run(
        imp, progress, with_the_results=lambda c: made.append(summary_email(imp, c))
    )
    return counts, (made[0] if made else None)


def summary_email(imp: Import, counts: dict) -> EmailDelivery | None:
    """The summary email to the user and extra addresses, made before the import's final
    commit and committed with it (tracked: the import's page shows whether it was sent);
    queue it with ``send_results_email`` after that commit. None without recipients."""
    recipients = list((imp.settings or {}).get("notify_emails") or [])
    user = db.session.get(User, imp.user_id) if imp.user_id else None
    if (imp.settings or {}).get("notify_me") and user is not None:
        recipients.insert(0, user.email)
    if not recipients:
        return None
    content = results_emails.built(results_emails.import_summary, imp, counts)
    if content is None:
        return None
    return prepare_results_email(imp, recipients, "import_done", e=content)


@tracked(queue="imports")
def check_import(job, progress, import_id: int) -> dict:
    """Stage and analyse an import for the check-data step (nothing is written to leads)."""
    imp = db.session.get(Import, import_id)
    if imp is None:
        raise LookupError(f"Import {import_id} no longer exists.")
    next_step = dict(job.result or {})  # where the page goes when the check is done
    import_stage.stage(imp, progress)
    db.session.commit()  # the staged counts: analyse reads without SQLite's write lock
    import_analyse.analyse(imp)
    imp.step = "check"
    db.session.commit()
    return next_step
