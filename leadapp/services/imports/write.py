"""Stage 4, write: leads are written in batches, each batch in one transaction together with
its checkpoint (``Import.rows_done``); a run that is killed resumes after the last
committed batch and never writes a row twice. The rows themselves go through
``lead_writer``; the next batches' leads are built in a thread (``ahead``) while the
database writes the current one, and used only where the batch got the pool and dial
positions they were built for."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app

from leadapp.extensions import db
from leadapp.models import Account, Import, LeadPool, PoolAssignment
from leadapp.models.base import utcnow
from leadapp.services import audit, dnc, import_outcomes
from leadapp.services import pools as pool_service
from leadapp.services.imports import lead_writer
from leadapp.services.imports.ahead import built_ahead
from leadapp.services.imports.duplicates import _NO_MATCHES, DuplicateSettings, scope_pool_ids
from leadapp.services.imports.errors import ImportTakenOver
from leadapp.services.imports.report import public_counts
from leadapp.services.imports.stage import staged
from leadapp.services.transactions import retrying

WRITE_BATCH = 20_000


def ensure_pool(imp: Import, user_id: int | None) -> LeadPool:
    """The import's pool: created (and assigned to the campaign) on first execution."""
    if imp.pool_id:
        pool = db.session.get(LeadPool, imp.pool_id)
        _assign(pool, imp.campaign_id)
        return pool
    settings = imp.settings or {}
    dup = imp.duplicate_settings or {}
    pool = LeadPool(
        account_id=imp.account_id,
        name=settings["pool_name"],
        description=settings.get("description", ""),
        owner_id=settings.get("owner_id") or user_id,
        priority=settings.get("priority", 5),
        # The wizard's advanced settings (seed 004): when the pool's leads may be used.
        active_from=_date(settings.get("active_from")),
        active_until=_date(settings.get("active_until")),
        day_offset=int(settings.get("day_offset") or 0),
        day_count=int(settings["day_count"]) if settings.get("day_count") else None,
        time_from=_time(settings.get("time_from")),
        time_until=_time(settings.get("time_until")),
        source_file_name=imp.file_name,
        duplicate_check_field=_check_field(dup)[:60],
        duplicate_processing=dup.get("action"),
        created_by_id=user_id,
        modified_by_id=user_id,
    )
    db.session.add(pool)
    db.session.flush()
    _assign(pool, imp.campaign_id)
    imp.pool_id = pool.id
    db.session.flush()
    return pool


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _time(text: str | None) -> dt.time | None:
    return dt.time.fromisoformat(text) if text else None


def _check_field(dup: dict) -> str:
    """The pool's duplicate-check field: ``phone1``, ``phone1|email`` (any of) or
    ``phone1+email`` (all of)."""
    match = dup.get("match", ["phone1"])
    return ("|" if dup.get("match_mode", "any") == "any" else "+").join(match)


def _assign(pool: LeadPool, campaign_id: int) -> None:
    """An imported pool feeds the import's campaign (and so counts in its duplicate scope)."""
    exists = db.session.scalar(
        sa.select(PoolAssignment.id).where(
            PoolAssignment.pool_id == pool.id, PoolAssignment.campaign_id == campaign_id
        )
    )
    if not exists:
        db.session.add(
            PoolAssignment(account_id=pool.account_id, pool_id=pool.id, campaign_id=campaign_id)
        )
        db.session.flush()


def execute(
    imp: Import,
    progress: Callable[[float, str], None] | None = None,
    with_the_results: Callable[[dict], None] | None = None,
) -> dict:
    """Write the staged valid rows as leads, in batches, each committed with its checkpoint.

    Commits: this is the one service that must (a batch is the unit of work). Re-running
    after a crash continues after ``rows_done`` and yields exactly the leads of an
    uninterrupted run. ``with_the_results`` is called with the final counts just before
    the final commit: what it adds (the summary email's delivery) is committed with them."""
    # Reading the import begins a transaction that waits for the write lock: tried again
    # like a batch when the wait runs out.
    settings = retrying(lambda: DuplicateSettings(**imp.duplicate_settings).check())
    state: dict = {}

    def prepare() -> None:
        # The new pool is committed with the first batch: a failed first batch leaves no
        # pool, and a first batch rolled back (database busy) creates it again.
        state["pool"] = ensure_pool(imp, imp.user_id)
        imp.status, imp.step = "running", "import"
        scoped = settings.scope != "none"
        state["scope_ids"] = scope_pool_ids(imp, state["pool"], settings) if scoped else []

    # Read before writing: SQLite's write lock comes with the first write and stays to the
    # first batch's commit, so the staged rows and the duplicate search (seconds for a big
    # file) are read first. What the caller staged and analysed is committed; prepare()
    # runs once for the pools in scope and is undone, then again for the first batch. The
    # pool it creates holds only this import's leads, which never match: not searched.
    db.session.commit()
    had_pool = imp.pool_id is not None
    retrying(prepare)
    scope_ids = [i for i in state["scope_ids"] if had_pool or i != state["pool"].id]
    db.session.rollback()
    frame = staged(imp)
    frame = frame[frame["_valid"]].copy()
    if settings.scope != "none":
        frame = frame[~settings.repeats_earlier(frame["_key"])]
    totals = dict(imp.counts or {})
    for name in ("imported", "updated", "discarded", "notified", "deactivated", "removed", "moved"):
        totals.setdefault(name, 0)
    checkpoint = imp.rows_done  # this run's own: each batch must continue from it
    pending = frame[frame["_row"] >= checkpoint]
    total_rows = max(len(frame), 1)
    done_before = len(frame) - len(pending)
    step = int(current_app.config.get("IMPORT_BATCH_ROWS", WRITE_BATCH))
    found = _matches_per_batch(imp, pending, settings, scope_ids, step)
    retrying(prepare)
    builder = built_ahead(
        range(0, len(pending), step), _builder(imp, state["pool"], pending, settings, found, step)
    )
    try:
        for start, ready in builder:
            batch = pending.iloc[start : start + step]
            matches = found.get(start // step, _NO_MATCHES)
            write = functools.partial(
                _commit_batch, imp, state, batch, settings, matches, totals, checkpoint, ready
            )
            totals = retrying(write, again=prepare)
            checkpoint = int(batch["_row"].max()) + 1
            if progress:
                progress(
                    100.0 * (done_before + start + len(batch)) / total_rows,
                    f"Imported {totals['imported']:,} leads.",
                )
    finally:
        builder.close()  # the thread stops with the import, whatever stopped it
    totals["discarded"] = totals.get("duplicates_in_file", 0) + totals.get("discarded_existing", 0)
    _finish(imp, state["pool"], totals)
    counts = public_counts(imp)
    if with_the_results is not None:
        with_the_results(counts)
    db.session.commit()
    return counts


def _matches_per_batch(imp, pending, settings, scope_ids, step) -> dict[int, pd.DataFrame]:
    """The existing leads matched by the pending rows, searched once before anything is
    written and split by batch number. Equal to searching batch by batch: this import's
    own leads never match, and an existing lead has one key, so no batch's action changes
    what another batch matches. Searching the leads table while it grows cost more than
    the writes (the planner's statistics still describe the table before the import)."""
    if settings.scope == "none" or not scope_ids or pending.empty:
        return {}
    matches = settings.existing_matches(pending["_key"], scope_ids, imp.id)
    if matches.empty:
        return {}
    # Keys are unique among pending rows (in-file duplicates are dropped with a scope).
    batch_of = pd.Series(np.arange(len(pending)) // step, index=pending["_key"].to_numpy())
    number = matches["_key"].map(batch_of[~batch_of.index.duplicated()])
    return {int(b): part for b, part in matches.groupby(number.to_numpy(), sort=False)}


@dataclass
class Ready:
    """A batch's new leads built ahead by the builder thread, for the pool and dial
    positions it expected; the writer uses them only if the batch's transaction got
    exactly those (else it builds them again itself)."""

    pool_id: int
    first_dial: int
    leads: lead_writer.Prepared


def _builder(imp, pool, pending, settings, found, step) -> Callable[[int], tuple]:
    """What the builder thread does for the batch at ``start``: the rows it will insert,
    as leads serialised for this database. Dial positions are reserved batch after batch
    for the whole batch, so the batch at ``start`` expects the pool's next position now
    plus ``start``; a retry (a new pool) or another writer of the pool (a lead added by
    hand) gives other positions, and the writer then builds the batch again."""
    # Plain values only from here: the thread must not load anything through the session.
    dialect = db.session.connection().dialect.name
    pool_id = pool.id
    first_dial = db.session.scalar(
        sa.select(LeadPool.dial_order_next).where(LeadPool.id == pool_id)
    )
    zone = db.session.get(Account, imp.account_id).timezone
    target = lead_writer.Target(imp.account_id, pool_id, imp.id, zone)

    def build(start: int) -> tuple[int, Ready]:
        batch = pending.iloc[start : start + step]
        first = int(first_dial or 0) + start
        rows = _rows_to_insert(
            _with_dial_orders(batch, first), found.get(start // step, _NO_MATCHES), settings
        )
        return start, Ready(pool_id, first, lead_writer.prepare(target, rows, dialect))

    return build


def _commit_batch(
    imp, state, batch, settings, matches, totals, checkpoint: int, ready: Ready | None = None
) -> dict:
    """Write one batch and its checkpoint in one transaction; the new running totals.

    The checkpoint moves by compare-and-set from ``checkpoint``, the one this run continued
    from: if another process wrote these rows first, this batch is rolled back whole and
    ``ImportTakenOver`` raised, so no row is ever written twice."""
    outcome = _write_batch(imp, state["pool"], batch, settings, state["scope_ids"], matches, ready)
    after = dict(totals)
    for name, value in outcome.items():
        after[name] = after.get(name, 0) + value
    done = int(batch["_row"].max()) + 1
    moved = db.session.execute(
        sa.update(Import)
        .where(Import.id == imp.id, Import.rows_done == checkpoint)
        .values(rows_done=done)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.rollback()
        raise ImportTakenOver(
            "Another process is writing this import's leads; this one stopped without "
            "writing anything twice — follow the import on its page."
        )
    imp.rows_done = done
    imp.counts = dict(after)
    if db.session.connection().dialect.name == "postgresql":
        # This commit need not wait for the disk: the batch and its checkpoint are one
        # transaction, so a commit lost in a server crash loses both, and the resume writes
        # the batch again, once. (The import's final commit, with its results, still waits.)
        db.session.execute(sa.text("SET LOCAL synchronous_commit TO off"))
    db.session.commit()  # the batch and its checkpoint, together
    return after


def _write_batch(
    imp,
    pool,
    batch: pd.DataFrame,
    settings,
    scope_ids,
    matches: pd.DataFrame | None = None,
    ready: Ready | None = None,
) -> dict:
    """Write one batch; ``matches``: its existing matches when already searched;
    ``ready``: its new leads when built ahead."""
    out = {"imported": 0, "updated": 0, "discarded_existing": 0}
    first = pool_service.reserve_dial_orders(pool, len(batch))
    batch = _with_dial_orders(batch, first)
    to_insert = batch
    if settings.scope != "none" and scope_ids:
        if matches is None:
            matches = settings.existing_matches(batch["_key"], scope_ids, imp.id)
        if not matches.empty:
            to_insert, acted = _apply_duplicate_action(imp, pool, batch, matches, settings)
            out["discarded_existing"] += acted.pop("discarded")
            for name, value in acted.items():
                out[name] = out.get(name, 0) + value
    if ready is not None and (ready.pool_id, ready.first_dial) == (pool.id, first):
        if len(ready.leads.frame) != len(to_insert):
            raise AssertionError("the batch built ahead differs from the batch written")
        out["imported"] = lead_writer.write_prepared(ready.leads)
    else:
        out["imported"] = lead_writer.insert_leads(imp, pool, to_insert)
    return out


def _with_dial_orders(batch: pd.DataFrame, first: int) -> pd.DataFrame:
    """Dial order is file order: the batch's rows take the positions from ``first`` in the
    order of their lines (a moved lead takes the position of the row that matched it)."""
    line_rank = batch["_row"].rank(method="first").astype("int64").to_numpy() - 1
    return batch.assign(_dial=first + line_rank)


def _rows_to_insert(batch: pd.DataFrame, matches: pd.DataFrame, settings) -> pd.DataFrame:
    """The rows of ``batch`` that become new leads, as ``_apply_duplicate_action`` leaves
    them (pure: the builder thread runs it ahead)."""
    if settings.scope == "none" or matches.empty:
        return batch
    if settings.action == "discard-new":
        return batch[~batch["_key"].isin(set(matches["_key"]))]
    if settings.action in ("update-existing", "move-existing"):
        acting = import_outcomes.plan(matches, settings).acting
        return batch[~batch["_key"].isin(set(acting["_key"]))]
    return batch  # notify, deactivate-existing, remove-existing: every row is inserted


def _apply_duplicate_action(imp, pool, batch, matches, settings) -> tuple[pd.DataFrame, dict]:
    """Act on the existing leads matched by ``batch`` as ``import_outcomes.plan`` says;
    return the rows still to insert and what was done (``updated``, ``moved``,
    ``deactivated``, ``removed``, ``discarded``, ``notified``)."""
    dup_rows = batch["_key"].isin(set(matches["_key"]))
    planned = import_outcomes.plan(matches, settings)
    actionable = planned.acting
    acted = {
        "updated": 0,
        "discarded": 0,
        "moved": 0,
        "deactivated": 0,
        "removed": 0,
        "notified": int(batch["_key"].isin(planned.reported).sum()),
    }
    action = settings.action
    lead_ids = [int(i) for i in actionable["lead_id"]]
    if action == "notify":
        return batch, acted
    if action == "discard-new":
        keep = ~dup_rows
        acted["discarded"] = int(dup_rows.sum())
        return batch[keep], acted
    if action in ("deactivate-existing", "remove-existing"):
        status = "inactive" if action == "deactivate-existing" else "removed"
        done = lead_writer.set_status(sorted(set(lead_ids)), status)
        acted["deactivated" if status == "inactive" else "removed"] = done
        return batch, acted
    # update-existing and move-existing replace the new lead by the existing one
    handled = batch["_key"].isin(set(actionable["_key"]))
    if action == "update-existing":
        acted["updated"] = lead_writer.update_leads(
            batch[handled], actionable, fill_blanks=settings.update_mode == "fill-blanks"
        )
    else:
        position = {}
        if "_dial" in batch:  # the import's rows; a lead added by hand has none
            position = dict(zip(batch["_key"], batch["_dial"], strict=True))
        dial_orders = {
            int(lead): int(position[key])
            for lead, key in zip(actionable["lead_id"], actionable["_key"], strict=True)
            if key in position
        }
        acted["moved"] = lead_writer.move_leads(lead_ids, pool.id, dial_orders)
    return batch[~handled], acted


def _finish(imp: Import, pool: LeadPool, totals: dict) -> None:
    # Read before writing (SQLite's write lock comes with the first write): the listed
    # leads are searched and every pool recounted (seconds for a big pool) before the
    # import's own changes, so the lock is taken for the UPDATEs only.
    # Listed numbers: every lead written, or (updates reach other pools) the whole account.
    dnc.mark_do_not_call(
        None if (imp.duplicate_settings or {}).get("action") == "update-existing" else [pool.id]
    )
    pool_service.refresh_counts(list(db.session.scalars(sa.select(LeadPool))))
    totals.pop("discarded_existing", None)
    imp.counts = totals
    imp.status = "completed"
    imp.step = "done"
    imp.finished_at = utcnow()
    pool.valid_count = (pool.valid_count or 0) + totals.get("valid", 0)
    pool.invalid_count = (pool.invalid_count or 0) + totals.get("invalid", 0)
    pool.source_file_name = pool.source_file_name or imp.file_name
    pool.modified_by_id = imp.user_id
    pool.updated_at = utcnow()
    audit.record(
        imp.account_id,
        imp.user_id,
        "import.completed",
        pool,
        import_id=imp.id,
        file=imp.file_name,
        **public_counts(imp),
    )
    db.session.flush()
