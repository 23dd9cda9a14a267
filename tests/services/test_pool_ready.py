"""'Ready to dial' is what the dial queue could hand out today apart from the hour: the
same figure on the grid, the pool page, the API and ``flask pools stats``."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.api.views import pool_json
from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dial_hours, dial_queue, dial_settings, pool_grid, pool_ready
from leadapp.services import leads as lead_service
from leadapp.services import pools as pool_service
from tests.services.dial_helpers import build, campaign
from tests.services.test_dial_queue import ALL_DAY

HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def ctx(app, make_account):
    account_id = make_account("dialco")
    with app.app_context(), account_scope(account_id):
        yield account_id


def _leads(world) -> list[Lead]:
    return list(
        db.session.scalars(
            sa.select(Lead).where(Lead.pool_id == world.pools["A"]).order_by(Lead.dial_order)
        )
    )


def _shown(pool: LeadPool, today: dt.date, now: dt.datetime) -> dict[str, int]:
    """The figure as each place shows it."""
    (row,) = [r for r in pool_grid.grid(pool_grid.GridFilters(), today).rows if r.pool == pool]
    (stats,) = [r for r in pool_service.pool_stats(today) if r["id"] == pool.id]
    return {
        "ready_now": pool_ready.ready_one(pool, today, now),
        "grid": row.ready,
        "stats": stats["ready_to_dial"],
        "api": pool_json(pool)["ready_to_dial"],
    }


def test_ready_to_dial_is_what_the_queue_hands_out_apart_from_the_hour(ctx):
    world = build(ctx, {"A": 1}, leads=10)
    campaign(world).calling_hours = ALL_DAY  # the hour of day is not part of the figure
    dial_settings.settings_for(campaign(world)).max_attempts = 3
    pool = db.session.get(LeadPool, world.pools["A"])
    pool_service.refresh_counts([pool])  # the helper's leads came by a bulk insert
    now = utcnow()
    today = dial_hours.account_day(db.session.get(Account, ctx), now)
    leads = _leads(world)
    (leased,) = dial_queue.next_leads(campaign(world), 1, at=now)
    assert leased.lead == leads[0]
    lead_service.record_interaction(leads[1], campaign=campaign(world), wrap_code="NO_ANSWER")
    leads[2].dial_attempts = 3  # the campaign's maximum
    leads[3].do_not_call = True
    leads[4].status = "closed"
    leads[5].callback_at = now + 2 * HOUR  # not due yet
    leads[6].callback_at = now - HOUR  # due
    leads[7].dial_attempts, leads[7].next_call_at = 1, now - HOUR  # its recycle delay passed
    db.session.flush()
    expected = {leads[i].id for i in (6, 7, 8, 9)}
    assert _shown(pool, today, now) == dict.fromkeys(("ready_now", "grid", "stats", "api"), 4)
    assert pool.ready_count == pool_service.pool_counts([pool.id])[pool.id]["ready"] == 7

    handed = dial_queue.next_leads(campaign(world), 100, at=now)
    assert {h.lead.id for h in handed} == expected
    assert pool_ready.ready_one(pool, today, now) == 0  # all of them leased now
    # A lead given back is ready again; a day on, the recycled and leased leads are too.
    dial_queue.release(handed[0].lease)
    assert pool_ready.ready_one(pool, today, now) == 1
    assert pool_ready.ready_one(pool, today, now + 3 * HOUR) == 7


def test_the_pools_schedule_decides_whether_it_is_ready_at_all(ctx):
    world = build(ctx, {"A": 1}, leads=4)
    pool = db.session.get(LeadPool, world.pools["A"])
    pool_service.refresh_counts([pool])
    now = utcnow()
    today = dial_hours.account_day(db.session.get(Account, ctx), now)
    assert pool_ready.ready_one(pool, today, now) == 4
    pool.day_offset = (today - dt.date(2026, 1, 1)).days + 1  # its first day is tomorrow
    assert pool_ready.ready_one(pool, today, now) == 0
    pool.day_offset, pool.day_count = 0, None
    pool.status = "inactive"
    assert pool_ready.ready_one(pool, today, now) == 0
    pool.status = "active"
    assignment = db.session.scalar(sa.select(PoolAssignment))
    assignment.to_dial = False
    db.session.flush()
    assert _shown(pool, today, now) == dict.fromkeys(("ready_now", "grid", "stats", "api"), 0)


def _statements_of(read) -> list[tuple[str, object]]:
    seen = []

    def remember(_conn, _cursor, statement, parameters, *_args):
        seen.append((statement, parameters))

    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        read()
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    return seen


def _assert_read_on_the_waiting_indexes(statement, parameters) -> None:
    """``statement`` (held leads UNION ALL called back ones) reads ix_leads_pool_next_call
    and ix_leads_callbacks."""
    conn = db.session.connection()
    indexes = ("ix_leads_pool_next_call", "ix_leads_callbacks")
    if conn.dialect.name == "postgresql":
        # Statistics of this test's rows (ANALYZE counts the transaction's own inserts), not
        # those other tests' committed rows left: the choice among usable indexes follows them.
        conn.exec_driver_sql("ANALYZE leads")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a few rows: force a choice
        plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars().all()
        for index in indexes:
            assert any(index in line for line in plan), plan
        return
    # SQLite refuses an index that cannot serve the query ("no query solution").
    head, held, called_back = statement.split("FROM leads ")
    statement = f"{head}FROM leads INDEXED BY {indexes[0]} {held}"
    statement += f"FROM leads INDEXED BY {indexes[1]} {called_back}"
    plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
    for index in indexes:
        assert any(index in line for line in plan), plan


def test_the_leads_waiting_for_a_time_are_counted_on_their_indexes_alone(ctx):
    """Flat cost: the part that changes with the clock reads the index of the leads leased
    or recycling (ix_leads_pool_next_call) and the callbacks' (ix_leads_callbacks), never
    the pool's other leads."""
    world = build(ctx, {"A": 1}, leads=20)
    now = utcnow()
    ((statement, parameters),) = _statements_of(
        lambda: db.session.execute(
            sa.select(pool_ready.waiting(now)).where(LeadPool.id == world.pools["A"])
        )
    )
    _assert_read_on_the_waiting_indexes(statement, parameters)


def test_the_campaign_pages_waiting_leads_are_read_on_their_indexes_alone(ctx):
    """The same for the campaign page's figures (``eligible_by_zone``): the leads held by a
    lease, a recycle delay or a callback, per zone key."""
    world = build(ctx, {"A": 1}, leads=20)
    now = utcnow()
    seen = _statements_of(
        lambda: pool_ready.eligible_by_zone([world.pools["A"]], 5, now, now - 5 * MINUTE)
    )
    ((statement, parameters),) = [(s, p) for s, p in seen if "UNION ALL" in s]
    _assert_read_on_the_waiting_indexes(statement, parameters)
