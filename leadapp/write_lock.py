"""SQLite as a real default for a small team: a writer waits for the write lock, never
fails at once.

SQLite has one writer at a time. A transaction that begins deferred and reads before it
writes cannot wait for the lock when it finally writes: if another writer committed in the
meantime its snapshot is stale, and SQLite refuses at once with "database is locked",
whatever the busy timeout (a login, a saved wrap code, a job's progress, refused while an
import writes). So a transaction that will write takes the lock when it begins
(``BEGIN IMMEDIATE``) and waits up to ``SQLITE_TIMEOUT_SECONDS`` for it:

- requests that change something (POST, PUT, PATCH, DELETE) write: immediate;
- requests that only read (GET, HEAD, OPTIONS) begin deferred, as readers never wait in WAL
  mode; the few that write after all (an API token's "last used") are run again once, from
  the start, with the lock taken when they begin (``WriteLockLost``);
- jobs and commands, outside any request, write: immediate, except inside ``reading()``.

PostgreSQL takes row locks and needs none of this: the BEGIN hook only acts on SQLite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

import sqlalchemy as sa
from flask import has_request_context, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SQLITE_BUSY = 5  # primary result codes; BUSY_SNAPSHOT (517) and the like share them
SQLITE_LOCKED = 6

_intent: ContextVar[bool | None] = ContextVar("sqlite_write_intent", default=None)


class WriteLockLost(Exception):
    """A request that began reading could not take the write lock: run it again, from the
    start, in a transaction that takes the lock when it begins."""


def wants_write_lock() -> bool:
    """Whether a transaction beginning now will write (see the module's rule)."""
    intent = _intent.get()
    if intent is not None:
        return intent
    if has_request_context():
        return request.method not in SAFE_METHODS
    return True


@contextlib.contextmanager
def _intending(value: bool) -> Iterator[None]:
    token = _intent.set(value)
    try:
        yield
    finally:
        _intent.reset(token)


def writing() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside take SQLite's write lock when they begin (and wait for it)."""
    return _intending(True)


def reading() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside only read: they begin deferred and never wait. A write in
    one may be refused with "database is locked" — use it for reads only."""
    return _intending(False)


def is_locked(exc: BaseException) -> bool:
    """SQLite refused a lock ("database is locked", "database table is locked")."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (SQLITE_BUSY, SQLITE_LOCKED)
    return "database is locked" in str(orig)


def retry_with_write_lock(exc: BaseException) -> None:
    """In a request's error handler: raise ``WriteLockLost`` when ``exc`` is a write refused
    to a transaction that began deferred — the app then runs the request again, once, with
    the lock taken at its start. Returns otherwise (the handler goes on as it would)."""
    if (
        isinstance(exc, sa.exc.OperationalError)
        and is_locked(exc)
        and has_request_context()
        and not wants_write_lock()
    ):
        raise WriteLockLost() from exc


def on_connect(dbapi_connection, _record) -> None:
    """Every SQLite connection: our own transaction handling (pysqlite's breaks SAVEPOINT
    and foreign keys), foreign keys, WAL (readers and one writer side by side) and
    ``synchronous=NORMAL`` (safe with WAL; a commit no longer waits for an fsync)."""
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def on_begin(conn) -> None:
    """Begin SQLite transactions ourselves: immediate when they will write."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if wants_write_lock() else "BEGIN")
