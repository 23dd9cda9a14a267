"""The grid's "Callable now" follows the calling-hours rule (issue 15): its count equals
one made here lead by lead with leadapp.domain.calling_hours."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.domain.calling_hours import allowed, calling_hours, parse_zone_key
from leadapp.domain.subdivisions import zone_country
from leadapp.extensions import db
from leadapp.models import Campaign, Lead, LeadPool, PoolAssignment, Project
from leadapp.security import account_scope
from leadapp.services import pool_grid
from leadapp.services.calling_hours import callable_condition
from leadapp.services.pools import refresh_counts

# (zone, state, country, zone_key as an import writes it, do-not-call)
LEADS = [
    ("America/New_York", "NY", "US", None, False),
    ("America/New_York", "FL", "US", None, False),  # Florida: 8 p.m.
    ("America/Chicago", "TX", "US", None, False),  # Texas: Sundays from noon
    ("America/Los_Angeles", "CA", "US", None, False),
    ("America/Anchorage", "AK", "US", None, False),
    ("Pacific/Honolulu", "HI", "US", None, False),
    ("America/Los_Angeles", "CA", "US", "America/Los_Angeles,America/New_York|US|CA", False),
    ("America/New_York", "FL", "US", "America/Chicago,America/New_York|US|FL", False),
    ("Australia/Perth", "WA", "AU", None, False),
    (None, None, None, None, False),  # no zone: the campaign's default
    ("America/New_York", "NY", "US", None, True),  # not ready: never counted
]


def _campaign_dialling_a_pool(account_id: int) -> tuple[Campaign, LeadPool]:
    project = Project(account_id=account_id, name="P")
    db.session.add(project)
    db.session.flush()
    campaign = Campaign(
        account_id=account_id, project_id=project.id, name="C", api_code="C",
        timezone="America/Chicago",
    )  # fmt: skip
    pool = LeadPool(account_id=account_id, name="Pool")
    db.session.add_all([campaign, pool])
    db.session.flush()
    db.session.add(PoolAssignment(account_id=account_id, pool_id=pool.id, campaign_id=campaign.id))
    return campaign, pool


@pytest.fixture
def dialled_pool(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        campaign, pool = _campaign_dialling_a_pool(account_id)
        for copy in range(3):
            for i, (zone, state, country, key, dnc) in enumerate(LEADS):
                lead = Lead(
                    account_id=account_id, pool_id=pool.id, phone1=f"+1212555{copy}{i:03d}",
                    timezone=zone, state=state, country=country, do_not_call=dnc,
                )  # fmt: skip
                lead.zone_key = key
                db.session.add(lead)
        db.session.flush()
        refresh_counts([pool])
        yield pool, campaign


def independent_count(pool, campaign, at: dt.datetime) -> int:
    """Lead by lead, the rule straight from the domain (no SQL key filtering)."""
    hours = calling_hours(campaign.calling_hours, campaign.window_start, campaign.window_end)
    n = 0
    for lead in db.session.scalars(sa.select(Lead).where(Lead.pool_id == pool.id)):
        if lead.status != "open" or lead.completed or lead.do_not_call or not lead.phone1:
            continue
        zones, country, state = parse_zone_key(lead.zone_key)
        if not zones:
            zones, country = (campaign.timezone,), zone_country(campaign.timezone)
        n += allowed(zones, country, state, hours, at)
    return n


INSTANTS = [
    dt.datetime(2026, 10, 14, 12, 0, tzinfo=dt.UTC),  # 08:00 New York, 05:00 Los Angeles
    dt.datetime(2026, 10, 14, 15, 0, tzinfo=dt.UTC),  # 11:00 New York, 08:00 Los Angeles
    dt.datetime(2026, 10, 14, 18, 0, tzinfo=dt.UTC),  # 08:00 Honolulu
    dt.datetime(2026, 10, 15, 0, 0, tzinfo=dt.UTC),  # 20:00 New York: Florida closes
    dt.datetime(2026, 10, 15, 0, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 18, 16, 0, tzinfo=dt.UTC),  # Sunday 11:00 Texas
    dt.datetime(2026, 10, 18, 17, 0, tzinfo=dt.UTC),  # Sunday 12:00 Texas
    dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC),  # Thanksgiving
    dt.datetime(2026, 10, 14, 2, 0, tzinfo=dt.UTC),  # 10:00 Perth
]


@pytest.mark.parametrize("at", INSTANTS, ids=lambda at: at.strftime("%a %d %b %H:%M"))
def test_callable_now_equals_an_independent_count(dialled_pool, at):
    pool, campaign = dialled_pool
    expected = independent_count(pool, campaign, at)
    assert pool_grid.callable_now({pool.id: [campaign]}, at) == {pool.id: expected}
    inside = callable_condition(campaign, at)
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Lead.id)).where(
                Lead.pool_id == pool.id, Lead.do_not_call.is_(False), inside
            )
        )
        == expected
    )


def test_the_counts_differ_across_the_day(dialled_pool):
    """The instants above are not all equal answers (the test could not fail otherwise)."""
    pool, campaign = dialled_pool
    counts = {independent_count(pool, campaign, at) for at in INSTANTS}
    assert len(counts) >= 4


def test_the_grid_shows_the_same_count(dialled_pool):
    pool, campaign = dialled_pool
    now = dt.datetime.now(dt.UTC)
    page = pool_grid.grid(pool_grid.GridFilters(cols=["callable"]), now.date())
    row = next(r for r in page.rows if r.pool.id == pool.id)
    assert row.extra["callable"] == independent_count(pool, campaign, now)


def test_callable_now_is_part_of_ready_to_dial(app_ctx, make_account):
    """Issue 18: "Callable now" is "Ready to dial" inside the calling hours, never more. It
    counted with the old ready clause: leads at the campaign's maximum attempts, leased or
    waiting for a later callback were callable now but not ready."""
    from leadapp.models import DialSettings
    from leadapp.services import pool_ready

    account_id = make_account("acme")
    at = dt.datetime(2027, 6, 15, 16, 0)  # 12:00 in New York, after the pool was made
    with account_scope(account_id):
        campaign, pool = _campaign_dialling_a_pool(account_id)
        db.session.add(DialSettings(account_id=account_id, campaign_id=campaign.id, max_attempts=2))
        later = at + dt.timedelta(minutes=10)
        for i, values in enumerate(
            [
                {},  # ready
                {"dial_attempts": 2},  # at the maximum
                {"dial_attempts": 1, "next_call_at": later},  # leased
                {"dial_attempts": 1, "next_call_at": at, "callback_at": at + dt.timedelta(days=1)},
            ]
        ):
            db.session.add(
                Lead(
                    account_id=account_id,
                    pool_id=pool.id,
                    phone1=f"+1212555{i:04d}",
                    timezone="America/New_York",
                    state="NY",
                    country="US",
                    **values,
                )  # fmt: skip
            )
        db.session.flush()
        refresh_counts([pool])
        ready = pool_ready.ready_one(pool, at.date(), at)
        assert ready == 1
        assert pool_grid.callable_now({pool.id: [campaign]}, at) == {pool.id: 1}
        # The pool's time range decides the hour too, as in the dial queue: at noon in New
        # York a pool dialled from 14:00 to 18:00 has nothing callable (still 1 ready).
        pool.time_from, pool.time_until = dt.time(14), dt.time(18)
        db.session.flush()
        assert pool_grid.callable_now({pool.id: [campaign]}, at) == {pool.id: 0}
        assert pool_ready.ready_one(pool, at.date(), at) == 1
