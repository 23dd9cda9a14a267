"""A pool's day offset and day count in the database: what the pool page counts as ready."""

import datetime as dt

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead
from leadapp.services import pool_schedule
from tests.services.test_pools import _pool_with_leads, acme  # noqa: F401 (fixture)


def test_ready_today_counts_only_the_leads_the_day_offset_and_count_released(acme):  # noqa: F811
    account_id, _admin = acme
    pool = _pool_with_leads(account_id, "Spread", [("open", False, False, 0)] * 10)
    ids = db.session.scalars(sa.select(Lead.id).where(Lead.pool_id == pool.id)).all()
    # positions 0..9 in id order, 10 leads spread over 4 days from 2 days after the start
    for n, lead_id in enumerate(sorted(ids)):
        db.session.execute(sa.update(Lead).where(Lead.id == lead_id).values(dial_order=n))
    start = dt.date(2026, 12, 1)
    pool.active_from, pool.day_offset, pool.day_count, pool.dial_order_next = start, 2, 4, 10
    db.session.flush()
    ready = [pool_schedule.ready_today(pool, start + dt.timedelta(days=n), "UTC") for n in range(7)]
    assert ready == [0, 0, 3, 5, 8, 10, 10]
    pool.day_count = None
    assert pool_schedule.ready_today(pool, start + dt.timedelta(days=2), "UTC") == 10
