"""The import job: stage, analyse and write an import's leads in the ``imports`` queue."""

from __future__ import annotations

from leadapp.extensions import db
from leadapp.models import Import, User
from leadapp.services import imports as import_service
from leadapp.tasks import QueueUnavailable, failure_text, tracked
from leadapp.tasks.mail import queue_results_email


@tracked(queue="imports")
def run_import(job, progress, import_id: int) -> dict:
    """Run import ``import_id``; on failure the import says why, and the error propagates."""
    imp = db.session.get(Import, import_id)
    if imp is None:
        raise LookupError(f"Import {import_id} no longer exists.")
    imp.status = "running"
    db.session.commit()
    try:
        counts = import_service.run(imp, progress)
    except import_service.ImportTakenOver:
        db.session.rollback()  # the other process finishes the import: leave it be
        raise
    except Exception as exc:
        db.session.rollback()
        imp = db.session.get(Import, import_id)
        message = failure_text(exc)
        import_service.fail(imp, message)
        db.session.commit()
        raise
    try:
        notify_done(imp, counts)
    except QueueUnavailable as exc:
        # The leads are in; only the summary email could not be queued. Say so on the job.
        return {**counts, "message": f"Import finished; the summary email was not sent: {exc}"}
    return counts


def notify_done(imp: Import, counts: dict) -> None:
    """The summary email, after the import's final commit, to the user and extra addresses
    (tracked: the import's page shows whether it was sent)."""
    recipients = list((imp.settings or {}).get("notify_emails") or [])
    user = db.session.get(User, imp.user_id) if imp.user_id else None
    if (imp.settings or {}).get("notify_me") and user is not None:
        recipients.insert(0, user.email)
    if recipients:
        queue_results_email(imp, recipients, "import_done", imp=imp, counts=counts)


@tracked(queue="imports")
def check_import(job, progress, import_id: int) -> dict:
    """Stage and analyse an import for the check-data step (nothing is written to leads)."""
    imp = db.session.get(Import, import_id)
    if imp is None:
        raise LookupError(f"Import {import_id} no longer exists.")
    next_step = dict(job.result or {})  # where the page goes when the check is done
    import_service.stage(imp, progress)
    import_service.analyse(imp)
    imp.step = "check"
    db.session.commit()
    return next_step
