"""A pool's counters after a request whose set-based statements changed leads (a lead
added through the API or by hand whose duplicate action deactivated, moved or updated the
leads it matched): counted once the request has committed, in a short transaction of
their own. Changes made one lead at a time through the ORM move the counters by deltas in
their own flush instead (``services.pool_counters``): no pool is counted per call.

Counting a pool reads every one of its leads (0.1 s for 16,000 leads here, a second for
250,000). Counted inside the request's own transaction, after its writes, that read held
SQLite's write lock, and the writers behind it waited past their wait (503). Counted after
the commit, it reads without the lock and only stores the counters under it; the answer
is sent after that, so the next page shows them. Jobs and commands count at once, in
their own transaction (their batches are the unit of work)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, has_request_context
from sqlalchemy.orm import Session

from leadapp.extensions import db
from leadapp.models import LeadPool

log = logging.getLogger(__name__)

PENDING = "leadapp_pools_to_recount"  # in the session's info: pool ids
WROTE = "leadapp_wrote_since_commit"


def recount(pool_ids) -> None:
    """Refresh the counters of ``pool_ids``: at once outside a request, else once the
    request has committed (not at all when it rolls back)."""
    ids = {int(i) for i in pool_ids if i is not None}
    if not ids:
        return
    if has_request_context():
        db.session.info.setdefault(PENDING, set()).update(ids)
    else:
        _refresh(ids)


def _refresh(ids) -> None:
    from leadapp.services import pools as pool_service

    pools = list(db.session.scalars(sa.select(LeadPool).where(LeadPool.id.in_(sorted(ids)))))
    pool_service.refresh_counts(pools)


def _wrote(session, _flush_context) -> None:
    session.info[WROTE] = True


def _committed(session) -> None:
    session.info.pop(WROTE, None)


def _rolled_back(session) -> None:
    session.info.pop(WROTE, None)
    session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    @app.teardown_request
    def recount_after_the_commit(exc) -> None:
        session = db.session()
        ids = session.info.pop(PENDING, None)
        if not ids or exc is not None:
            return
        if session.info.get(WROTE) or session.new or session.dirty or session.deleted:
            return  # the request's writes were not committed: they are rolled back
        try:
            _refresh(ids)
            session.commit()
        except sa.exc.SQLAlchemyError as exc_:
            # The request's own writes are committed and answered: the counters follow at
            # the pool's next recount.
            session.rollback()
            log.warning("pool counters of %s not refreshed after the request: %s", ids, exc_)


sa.event.listen(Session, "after_flush", _wrote)
sa.event.listen(Session, "after_commit", _committed)
sa.event.listen(Session, "after_rollback", _rolled_back)
