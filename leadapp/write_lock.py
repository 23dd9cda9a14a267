"""SQLite as a real default for a small team: a writer waits for the write lock, never
fails at once, and holds it only while it writes.

SQLite has one writer at a time. A transaction that begins deferred and reads before it
writes cannot wait for the lock when it finally writes: if another writer committed in the
meantime its snapshot is stale, and SQLite refuses at once with "database is locked",
whatever the busy timeout. A transaction that takes the lock when it begins (``BEGIN
IMMEDIATE``) waits for it, but then holds it through everything it does before it commits
— a login's password hash, the page a request renders, a job's reading and computing —
and every other writer of every process waits that long.

So every transaction begins deferred and reads without the lock (readers never wait in WAL
mode); its first write ends that read and takes the lock (``COMMIT``, then ``BEGIN
IMMEDIATE``, waiting up to ``SQLITE_TIMEOUT_SECONDS``) before it runs. The lock is held
from the first write to the commit, nothing earlier. From there on the transaction sees
the latest data, as each statement does on PostgreSQL (READ COMMITTED): what it read before
may have changed, so a decision that must not race (claim a row, count and add) is a
conditional UPDATE, or is made under ``writing()``, which takes the lock when the
transaction begins. A write that bypasses SQLAlchemy's statements (the DB-API cursor of a
bulk insert) calls ``take(connection)`` first.

PostgreSQL takes row locks and needs none of this: the hooks only act on SQLite.

``LEADAPP_LOCK_WATCH=<seconds>`` (``1`` alone: 0.5 s; off by default) logs every hold of
the write lock longer than that, with its duration, the wait for it and the code that took
it (the ``leadapp`` frames of the stack where it was taken): a measuring tool for finding
what keeps other writers waiting (``bench/day.py --lock-watch``)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
import traceback
from collections.abc import Iterator
from contextvars import ContextVar

import sqlalchemy as sa

SQLITE_BUSY = 5  # primary result codes; BUSY_SNAPSHOT (517) and the like share them
SQLITE_LOCKED = 6
WATCH_DEFAULT = 0.5  # seconds: LEADAPP_LOCK_WATCH=1 (or "yes") means this threshold
READS = re.compile(r"\s*(SELECT|PRAGMA|EXPLAIN)\b", re.IGNORECASE)
WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)

log = logging.getLogger(__name__)

_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


def wants_write_lock() -> bool:
    """Whether a transaction beginning now takes the write lock at once (``writing()``);
    otherwise it takes it at its first write."""
    return _intent.get()


@contextlib.contextmanager
def _intending(value: bool) -> Iterator[None]:
    token = _intent.set(value)
    try:
        yield
    finally:
        _intent.reset(token)


def writing() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside take SQLite's write lock when they begin (and wait for it):
    for work whose reads must not change before its writes."""
    return _intending(True)


def reading() -> contextlib.AbstractContextManager[None]:
    """Transactions begun inside take the write lock only at their first write (the
    default; undoes an enclosing ``writing()``)."""
    return _intending(False)


def is_locked(exc: BaseException) -> bool:
    """SQLite refused a lock ("database is locked", "database table is locked")."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (SQLITE_BUSY, SQLITE_LOCKED)
    return "database is locked" in str(orig)


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


def watch_threshold(environ=os.environ) -> float | None:
    """Seconds past which a write-lock hold is logged (``LEADAPP_LOCK_WATCH``), or None."""
    raw = (environ.get("LEADAPP_LOCK_WATCH") or "").strip().lower()
    if raw in ("", "0", "no", "off", "false"):
        return None
    if raw in ("1", "yes", "on", "true"):
        return WATCH_DEFAULT
    return float(raw)


_WATCH = watch_threshold()
_HELD = "leadapp_write_lock_held"  # key in the connection's info: (taken at, waited, stack)


def _taker() -> str:
    """Where the lock was taken: the leadapp frames of the stack, outermost first."""
    frames = [
        f"{f.filename.rsplit('/leadapp/', 1)[-1]}:{f.lineno} {f.name}"
        for f in traceback.extract_stack()[:-3]
        if "/leadapp/" in f.filename and not f.filename.endswith("/leadapp/write_lock.py")
    ]
    return " > ".join(frames) or "(outside leadapp)"


_DEFERRED = "leadapp_write_lock_deferred"  # key in the connection's info: reading so far


def on_begin(conn) -> None:
    """Begin SQLite transactions ourselves: deferred (the lock comes with the first write),
    or immediate under ``writing()``."""
    if conn.dialect.name != "sqlite":
        return
    if wants_write_lock():
        conn.info.pop(_DEFERRED, None)
        asked = time.monotonic()
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        _watch(conn, asked)
    else:
        conn.exec_driver_sql("BEGIN")
        conn.info[_DEFERRED] = True


def is_write(statement: str) -> bool:
    """Whether SQLite statement text may write (or hold a SAVEPOINT): anything but a
    SELECT, PRAGMA or EXPLAIN, and a WITH whose body inserts, updates or deletes."""
    if READS.match(statement):
        return False
    if statement.lstrip()[:4].upper() == "WITH":
        return bool(WRITES.search(statement))
    return True


def on_statement(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
    """Before each statement: the first write of a deferred transaction takes the lock."""
    if conn.info.get(_DEFERRED) and is_write(statement):
        take(conn)


def take(conn) -> None:
    """Take the write lock now for ``conn``'s transaction (a SQLAlchemy Connection), if it
    has not got it: its read so far ends (nothing was written) and it goes on in a
    transaction that holds the lock, waiting up to the busy timeout for it. For writes that
    bypass SQLAlchemy's statements (a DB-API ``executemany``); no-op on PostgreSQL."""
    if not conn.info.pop(_DEFERRED, False):
        return
    raw = conn.connection.driver_connection
    raw.execute("COMMIT")
    asked = time.monotonic()
    try:
        raw.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raw.execute("BEGIN")  # still in a transaction, as SQLAlchemy believes; it rolls back
        conn.info[_DEFERRED] = True
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, exc) from exc
    _watch(conn, asked)


def _watch(conn, asked: float) -> None:
    if _WATCH is not None:
        taken = time.monotonic()
        conn.info[_HELD] = (taken, taken - asked, _taker())


def on_end(conn) -> None:
    """At COMMIT or ROLLBACK: the transaction reads no more; with ``LEADAPP_LOCK_WATCH``, a
    write-lock hold past the threshold is logged (the commit's own write not counted)."""
    if conn.dialect.name != "sqlite" or conn.invalidated:
        return  # a lost connection's info cannot be read until it is rolled back
    conn.info.pop(_DEFERRED, None)
    held = conn.info.pop(_HELD, None)
    if held is None:
        return
    taken, waited, taker = held
    seconds = time.monotonic() - taken
    if seconds >= _WATCH:
        log.warning(
            "write lock held %.2f s (waited %.2f s) pid %d, taken at %s",
            seconds, waited, os.getpid(), taker,
        )  # fmt: skip
