"""Do-not-call list jobs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leadapp.extensions import db
from leadapp.models import Account
from leadapp.services import dnc as dnc_service
from leadapp.tasks import tracked


@tracked(queue="default", timeout=3600)
def upload_dnc_file(job, progress, path: str, note: str = "") -> dict:
    """Add the numbers of an uploaded list (``dnc.upload``) in one transaction, committed
    with the job's result; the saved file goes once it is read. Refusals (an unreadable
    file) fail the job with their sentence; nothing is added then."""
    progress(5, "Reading the file and checking its numbers.")  # nothing written yet
    source = Path(path)
    try:
        result = dnc_service.upload(
            db.session.get(Account, job.account_id), source, user_id=job.created_by_id, note=note
        )
    finally:
        source.unlink(missing_ok=True)
    return {
        **(job.result or {}),  # the page to show once done (set when queued)
        **dataclasses.asdict(result),
        "message": result.summary(),
    }
