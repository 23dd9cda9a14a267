"""The import's refusals: each one sentence a supervisor can act on."""

from __future__ import annotations


class ImportError_(ValueError):  # noqa: N801 (``ImportError`` is Python's)
    """An import the rules refuse; the message is one sentence for the supervisor."""


class ImportTakenOver(ImportError_):
    """Another process wrote the batch this one was writing (two resumes, a job delivered
    twice): this process's batch was rolled back and it stops; the import, which the other
    process is finishing, is left as it is."""


# A full disk (or a user's quota) while the file is saved or staged: the write is undone
# and the supervisor is told what to do; nothing else about the import changes.
DISK_FULL_UPLOAD = (
    "The server ran out of disk space while saving your file; nothing was imported — "
    "ask your administrator to free space, then upload it again."
)
DISK_FULL_STAGING = (
    "The server ran out of disk space while checking your file; nothing was imported — "
    "ask your administrator to free space, then try again."
)


class DiskFull(ImportError_):
    """The disk had no room for the file or its staged rows (the server's fault, not the
    file's: the wizard answers 507)."""
