"""Batches that survive a busy or lost database: rolled back, waited for, tried again.

A batch (an import's leads, a dedup run's moves) is one transaction with its checkpoint.
When the database is locked (SQLite's writer held past the wait) or the connection is
killed (PostgreSQL restarted, ``pg_terminate_backend``), the batch is rolled back and tried
again after a short, growing wait; only when it keeps failing does the job fail, and then
the checkpoint says where a resumed job starts."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from leadapp.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")
WAITS = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds before each new try: ~8 s in all


NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})  # a full disk, or a user's quota
SQLITE_FULL = 13  # "database or disk is full"
PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def out_of_space(exc: BaseException) -> bool:
    """A file could not be written because its disk (or the user's quota) is full."""
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def database_full(exc: BaseException) -> bool:
    """The database could not write because its disk (or SQLite's size limit) is full:
    not busy, and not worth another try until someone frees space."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    return (
        getattr(orig, "sqlite_errorcode", None) == SQLITE_FULL
        or getattr(orig, "sqlstate", None) == PG_DISK_FULL
    )


def is_transient(exc: BaseException) -> bool:
    """A locked database or a lost connection: worth another try. Constraint violations,
    programming errors and a full disk are not."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError) and not database_full(exc)


def retrying(batch: Callable[[], T], *, again: Callable[[], None] | None = None) -> T:
    """Run ``batch`` (which commits); on a transient database error roll back, wait, call
    ``again`` (to rebuild what the rollback undid) and try once more, up to ``WAITS``."""
    for wait in (*WAITS, None):
        try:
            return batch()
        except sa.exc.DBAPIError as exc:
            db.session.rollback()
            if wait is None or not is_transient(exc):
                raise
            log.warning("database busy or lost (%s); batch rolled back, again in %ss", exc, wait)
            time.sleep(wait)
            if again is not None:
                again()
    raise AssertionError("unreachable")
