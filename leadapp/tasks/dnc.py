"""Do-not-call list jobs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leadapp.extensions import db
from leadapp.models import Account
from leadapp.services import dnc as dnc_service
from leadapp.tasks import tracked

FILE_GONE = (
    "The file of this upload is no longer kept on the server, so it cannot be read again; "
    "upload it again."
)


@tracked(queue="default", timeout=3600)
def upload_dnc_file(job, progress, path: str, note: str = "") -> dict:
    """Add the numbers of an uploaded list (``dnc.upload``) in one transaction, committed
    with the job's result. The saved file is deleted only once that commit is done: a run
    that fails (a locked or lost database, a worker killed) keeps it, and the upload can be
    run again from its page. A refusal (an unreadable file) fails the job with its
    sentence, adds nothing, and deletes the file — reading it again would be refused too."""
    source = Path(path)
    if not source.is_file():
        raise dnc_service.DncError(FILE_GONE)
    progress(5, "Reading the file and checking its numbers.")  # nothing written yet
    try:
        result = dnc_service.upload(
            db.session.get(Account, job.account_id), source, user_id=job.created_by_id, note=note
        )
    except dnc_service.DncError:
        source.unlink(missing_ok=True)
        raise
    progress.after_commit(lambda: source.unlink(missing_ok=True))
    return {
        **(job.result or {}),  # the page to show once done (set when queued)
        **dataclasses.asdict(result),
        "message": result.summary(),
    }
