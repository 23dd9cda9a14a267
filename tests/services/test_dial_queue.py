"""The dial queue (issue 18): each eligibility rule at its boundary, the order, the weighted
interleave and the leases."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import DialLease, Lead, LeadPool, PoolAssignment
from leadapp.models.base import utcnow
from leadapp.security import account_scope
from leadapp.services import dial_candidates, dial_queue, dial_settings
from leadapp.services import leads as lead_service
from tests.services.dial_helpers import AT, add_leads, build, campaign

MIN = dt.timedelta(minutes=1)
ALL_DAY = {
    "days": {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "states": {},
    "holidays_off": False,
}


@pytest.fixture
def ctx(app, make_account):
    account_id = make_account("dialco")
    with app.app_context(), account_scope(account_id):
        yield account_id


def _next(world, count=1, at=AT, agent=None):
    return dial_queue.next_leads(campaign(world), count, at=at, agent_email=agent)


def _ids(handed):
    return [h.lead.id for h in handed]


def _lead(world, pool="A", order=0):
    return db.session.scalar(
        sa.select(Lead).where(Lead.pool_id == world.pools[pool], Lead.dial_order == order)
    )


# --- Order and mix -------------------------------------------------------------------


def test_weights_70_30_100_give_35_15_50_in_100_calls_one_at_a_time(ctx):
    world = build(ctx, {"A": 70, "B": 30, "C": 100}, leads=60)
    pools = []
    for _ in range(100):
        (handed,) = _next(world)
        pools.append(handed.pool.name)
    assert Counter(pools) == {"A": 35, "B": 15, "C": 50}
    # Any window of 100 within 2: here every 20 is exact.
    for start in range(0, 81, 10):
        assert Counter(pools[start : start + 20]) == {"A": 7, "B": 3, "C": 10}


def test_within_a_pool_leads_come_in_dial_order(ctx):
    world = build(ctx, {"A": 1}, leads=10)
    handed = _next(world, count=10)
    assert [h.lead.dial_order for h in handed] == list(range(10))


def test_a_dry_pool_gives_its_share_to_the_others(ctx):
    world = build(ctx, {"A": 70, "B": 30, "C": 100}, leads=0)
    for name, n in (("A", 3), ("B", 100), ("C", 100)):
        add_leads(db.session.get(LeadPool, world.pools[name]), n)
    handed = _next(world, count=50)
    counts = Counter(h.pool.name for h in handed)
    assert counts["A"] == 3 and len(handed) == 50
    assert abs(counts["B"] - 47 * 30 / 130) <= 2


def test_higher_priority_pool_first(ctx):
    world = build(ctx, {"A": 100, "B": 100}, leads=3)
    db.session.get(LeadPool, world.pools["B"]).priority = 9
    handed = _next(world, count=6)
    assert [h.pool.name for h in handed] == ["B", "B", "B", "A", "A", "A"]


def test_fewest_attempts_first_as_a_campaign_option(ctx):
    world = build(ctx, {"A": 1}, leads=3)
    for order, attempts in ((0, 2), (1, 0), (2, 1)):
        _lead(world, order=order).dial_attempts = attempts
    settings = dial_settings.settings_for(campaign(world))
    assert [h.lead.dial_order for h in _next(world, 3)] == [0, 1, 2]  # file order
    for h in db.session.scalars(sa.select(DialLease)):
        dial_queue.release(h)
    settings.lead_order = "fewest_attempts"
    assert [h.lead.dial_order for h in _next(world, 3)] == [1, 2, 0]


# --- Eligibility, one rule at a time ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "eligible"),
    [
        ({"status": "closed"}, False),
        ({"status": "removed"}, False),
        ({"status": "inactive"}, False),
        ({"completed": True}, False),
        ({"do_not_call": True}, False),
        ({"dial_attempts": 4}, True),  # maximum 5
        ({"dial_attempts": 5}, False),
        ({"next_call_at": AT}, True),  # recycle delay passed exactly now
        ({"next_call_at": AT + dt.timedelta(seconds=1)}, False),
        ({"callback_at": AT + MIN}, False),
        ({"callback_at": AT}, True),
    ],
)
def test_a_lead_rule_at_its_boundary(ctx, change, eligible):
    world = build(ctx, {"A": 1}, leads=1)
    lead = _lead(world)
    for key, value in change.items():
        setattr(lead, key, value)
    db.session.flush()
    assert _ids(_next(world)) == ([lead.id] if eligible else [])


@pytest.mark.parametrize(
    ("local", "eligible"),
    [("07:59", False), ("08:00", True), ("20:59", True), ("21:00", False)],
)
def test_calling_hours_in_the_leads_local_time(ctx, local, eligible):
    world = build(ctx, {"A": 1}, leads=0)
    add_leads(db.session.get(LeadPool, world.pools["A"]), 1, zone="America/New_York")
    hour, minute = map(int, local.split(":"))
    at = dt.datetime(2026, 6, 2, hour, minute) + dt.timedelta(hours=4)  # New York: UTC-4
    assert len(_next(world, at=at)) == (1 if eligible else 0)


@pytest.mark.parametrize(
    ("pool_change", "eligible"),
    [
        ({"status": "inactive"}, False),
        ({"active_from": dt.date(2026, 6, 3)}, False),
        ({"active_from": dt.date(2026, 6, 2)}, True),
        ({"active_until": dt.date(2026, 6, 1)}, False),
        ({"active_until": dt.date(2026, 6, 2)}, True),
        ({"active_from": dt.date(2026, 5, 31), "day_offset": 3}, False),
        ({"active_from": dt.date(2026, 5, 31), "day_offset": 2}, True),
        ({"time_from": dt.time(11, 1)}, False),  # 11:00 in Chicago
        ({"time_from": dt.time(11, 0)}, True),
        ({"time_until": dt.time(10, 59)}, False),
    ],
)
def test_a_pool_rule_at_its_boundary(ctx, pool_change, eligible):
    world = build(ctx, {"A": 1}, leads=1)
    pool = db.session.get(LeadPool, world.pools["A"])
    for key, value in pool_change.items():
        setattr(pool, key, value)
    db.session.flush()
    assert len(_next(world)) == (1 if eligible else 0)


def test_a_pool_not_to_dial_gives_nothing(ctx):
    world = build(ctx, {"A": 1}, leads=2)
    db.session.scalar(sa.select(PoolAssignment)).to_dial = False
    assert _next(world) == []


def test_day_count_releases_an_equal_share_a_day(ctx):
    world = build(ctx, {"A": 1}, leads=10, day_count=5)
    pool = db.session.get(LeadPool, world.pools["A"])
    pool.active_from = dt.date(2026, 6, 1)  # day 2 of 5 on AT: 4 of 10 released
    handed = _next(world, count=10)
    assert [h.lead.dial_order for h in handed] == [0, 1, 2, 3]


# --- Callbacks ---------------------------------------------------------------------------


def test_due_callbacks_first_and_an_agents_own_to_that_agent(ctx, make_user):
    ann = make_user(ctx, "ann@dialco.test")
    bob = make_user(ctx, "bob@dialco.test")
    world = build(ctx, {"A": 1}, leads=5)
    mine, theirs = _lead(world, order=3), _lead(world, order=4)
    mine.callback_at, mine.callback_agent_id = AT - MIN, ann
    theirs.callback_at, theirs.callback_agent_id = AT - MIN, bob
    db.session.flush()
    handed = _next(world, count=2, agent="ann@dialco.test")
    assert [h.lead.id for h in handed] == [mine.id, _lead(world, order=0).id]
    assert handed[0].reason == "callback"
    # Bob's callback is his for a few minutes, then anyone's.
    later = AT + dial_candidates.CALLBACK_GRACE - 2 * MIN
    assert theirs.id not in _ids(_next(world, count=5, at=later, agent="ann@dialco.test"))
    later = AT + dial_candidates.CALLBACK_GRACE + 5 * MIN
    assert _ids(_next(world, count=1, at=later))[0] == theirs.id


def test_a_callback_set_without_an_agent_is_nobodys(ctx, make_user):
    # Found with the lease machine's model (test_dial_queue_machine): Ann's earlier no
    # answer made a later callback recorded without an agent hers, kept from Bob and from
    # dialers asking without an agent for the grace minutes.
    ann = make_user(ctx, "ann@dialco.test")
    make_user(ctx, "bob@dialco.test")
    world = build(ctx, {"A": 1}, leads=1)
    (handed,) = _next(world, agent="ann@dialco.test")
    lead = handed.lead
    lead_service.record_interaction(
        lead, campaign=campaign(world), agent_id=ann, wrap_code="NO_ANSWER", at=AT
    )
    again = AT + 60 * MIN
    assert _ids(_next(world, at=again)) == [lead.id]
    lead_service.record_interaction(
        lead, campaign=campaign(world), wrap_code="CALLBACK", at=again, callback_at=again
    )
    assert lead.callback_agent_id is None
    for agent in ("bob@dialco.test", None):
        (due,) = _next(world, at=again + MIN, agent=agent)
        assert (due.lead.id, due.reason) == (lead.id, "callback")
        dial_queue.release(due.lease)
    # A callback Ann sets is hers.
    lead_service.record_interaction(
        lead,
        campaign=campaign(world),
        agent_id=ann,
        wrap_code="CALLBACK",
        at=again,
        callback_at=again + 30 * MIN,
    )
    assert lead.callback_agent_id == ann
    assert _next(world, at=again + 31 * MIN, agent="bob@dialco.test") == []


def test_a_lead_reopened_in_a_pool_that_ran_dry_is_handed_out_at_once(ctx):
    # Found by the lease machine on PostgreSQL: the pool's zones were read while it had
    # nothing to dial, and a lead reopened since (a later call's outcome) waited for the
    # zones to be read again a minute later.
    world = build(ctx, {"A": 1}, leads=1)
    (handed,) = _next(world)
    lead_service.record_interaction(handed.lead, campaign=campaign(world), wrap_code="SALE", at=AT)
    assert _next(world, at=AT + MIN) == []
    lead_service.record_interaction(
        handed.lead, campaign=campaign(world), wrap_code="BUSY", at=AT + MIN
    )
    assert handed.lead.status == "open"
    assert _ids(_next(world, at=AT + 20 * MIN)) == [handed.lead.id]


# --- Leases ----------------------------------------------------------------------------


def test_a_leased_lead_is_not_handed_out_again_until_released(ctx):
    world = build(ctx, {"A": 1}, leads=2)
    (first,) = _next(world)
    assert first.lease.expires_at - first.lease.leased_at == dt.timedelta(minutes=5)
    (second,) = _next(world)
    assert second.lead.id != first.lead.id
    assert _next(world) == []
    assert dial_queue.release(first.lease) is True
    assert dial_queue.release(first.lease) is False  # once
    assert _ids(_next(world)) == [first.lead.id]


def test_an_expired_lease_frees_the_lead(ctx):
    world = build(ctx, {"A": 1}, leads=1)
    campaign(world).calling_hours = ALL_DAY  # the real clock's hour does not matter here
    dial_settings.settings_for(campaign(world)).lease_minutes = 2
    now = utcnow()
    (first,) = _next(world, at=now)
    assert now + 2 * MIN <= first.lease.expires_at <= utcnow() + 2 * MIN
    # A later clock does not free a lead whose lease still runs on the real clock.
    assert _next(world, at=now + 10 * MIN) == []
    # Three minutes on: the lease has ended by itself.
    first.lease.expires_at -= 3 * MIN
    first.lead.next_call_at -= 3 * MIN
    db.session.flush()
    (again,) = _next(world, at=utcnow())
    assert again.lead.id == first.lead.id
    db.session.refresh(first.lease)
    assert first.lease.end_reason == "expired"
    open_leases = sa.select(sa.func.count()).select_from(DialLease)
    assert db.session.scalar(open_leases.where(DialLease.ended_at.is_(None))) == 1


def test_leads_leased_on_the_real_clock_do_not_cost_their_pool_its_turns_ahead(ctx):
    # A clock ahead of the real one (``--at``, planning, the bench's simulated day) sees
    # the leads leased on the real clock as due again, though their leases still run: the
    # first in each pool's dial order. Read as candidates and refused by the lock, 210 of
    # them in A and 300 in C cost those pools every turn, which went to B (90 leased).
    world = build(ctx, {"A": 70, "B": 30, "C": 100}, leads=400)
    campaign(world).calling_hours = ALL_DAY
    for _ in range(6):
        assert len(_next(world, count=100)) == 100
    ahead = utcnow() + dt.timedelta(days=1)
    pools = [h.pool.name for _ in range(40) for h in _next(world, at=ahead)]
    assert Counter(pools) == {"A": 14, "B": 6, "C": 20}
    leased = db.session.scalars(sa.select(DialLease.lead_id)).all()
    assert len(leased) == len(set(leased)) == 640


def test_a_lead_leased_ahead_of_the_real_clock_is_blocked_only_while_its_lease_runs(ctx):
    # A planner's ask a day ahead (``flask dial next --at``) leases for real: five minutes
    # on the real clock. The lead was blocked until the lease's end on the planner's clock,
    # so once the lease ran out, dialers on the real clock could not have it for a day.
    world = build(ctx, {"A": 1}, leads=1)
    campaign(world).calling_hours = ALL_DAY
    (planned,) = _next(world, at=utcnow() + dt.timedelta(days=1))
    assert planned.lead.next_call_at <= planned.lease.expires_at
    # While the lease runs, neither clock hands the lead out again.
    assert _next(world) == [] and _next(world, at=utcnow() + dt.timedelta(days=1)) == []


def test_releasing_a_lease_that_ran_out_answers_that_it_had_ended(ctx):
    # A lease past its end that nobody closed was "released" (True): the dialer was told it
    # gave the lead back, though the lease had ended by itself. It is closed as expired.
    world = build(ctx, {"A": 1}, leads=1)
    (first,) = _next(world)
    first.lease.expires_at = utcnow() - MIN
    db.session.flush()
    assert dial_queue.release(first.lease) is False
    assert first.lease.end_reason == "expired"
    assert first.lease.ended_at is not None
    assert dial_queue.release(first.lease) is False


def _ann_late_bob_now(ctx, make_user):
    """Ann's lease on the one lead runs out before she posts her call; Bob leases it."""
    ann = make_user(ctx, "ann@dialco.test")
    bob = make_user(ctx, "bob@dialco.test")
    world = build(ctx, {"A": 1}, leads=1)
    dial_settings.settings_for(campaign(world)).lease_minutes = 2
    (hers,) = _next(world, at=AT, agent="ann@dialco.test")
    hers.lease.expires_at = utcnow() - MIN  # ran out on the real clock
    hers.lead.next_call_at = AT + MIN
    db.session.flush()
    (his,) = _next(world, at=AT + 3 * MIN, agent="bob@dialco.test")
    db.session.refresh(hers.lease)
    assert his.lead.id == hers.lead.id and hers.lease.end_reason == "expired"
    return world, hers.lead, his.lease, ann, bob


def test_a_late_outcome_leaves_the_next_agents_lease_and_the_attempts_alone(ctx, make_user):
    # Ann's outcome came after her lease ran out and Bob had the lead: it ended Bob's
    # lease (the lead could go to a third caller while Bob was on the phone) and counted
    # an attempt that was not his call. It is history: recorded, the lead's queue state
    # stays Bob's.
    world, lead, his, ann, _bob = _ann_late_bob_now(ctx, make_user)
    blocked = lead.next_call_at
    lead_service.record_interaction(
        lead, campaign=campaign(world), agent_id=ann, wrap_code="NO_ANSWER", at=AT + 4 * MIN
    )
    assert his.ended_at is None
    assert lead.dial_attempts == 0
    assert lead.next_call_at == blocked
    assert lead.call_count == 1  # the call itself is recorded
    assert _next(world, at=AT + 5 * MIN) == []


def test_a_late_busy_after_a_sale_does_not_reopen_the_lead(ctx, make_user):
    world, lead, _his, ann, bob = _ann_late_bob_now(ctx, make_user)
    lead_service.record_interaction(
        lead, campaign=campaign(world), agent_id=bob, wrap_code="SALE", at=AT + 4 * MIN
    )
    assert (lead.status, lead.completed, lead.dial_attempts) == ("closed", True, 1)
    lead_service.record_interaction(
        lead, campaign=campaign(world), agent_id=ann, wrap_code="BUSY", at=AT + 5 * MIN
    )
    assert (lead.status, lead.completed, lead.dial_attempts) == ("closed", True, 1)
    assert _next(world, at=AT + 200 * MIN) == []


def test_a_late_do_not_call_request_is_kept(ctx, make_user):
    # The person asked Ann not to be called again: late or not, that stands.
    world, lead, his, ann, _bob = _ann_late_bob_now(ctx, make_user)
    lead_service.record_interaction(
        lead, campaign=campaign(world), agent_id=ann, wrap_code="DNC", at=AT + 4 * MIN
    )
    assert lead.do_not_call is True
    assert his.ended_at is None


def test_an_outcome_ends_the_lease_counts_the_attempt_and_sets_the_recycle_time(ctx):
    world = build(ctx, {"A": 1}, leads=1)
    (handed,) = _next(world)
    lead = handed.lead
    lead_service.record_interaction(lead, wrap_code="NO_ANSWER", at=AT)
    assert handed.lease.end_reason == "outcome"
    assert lead.dial_attempts == 1
    assert lead.next_call_at == AT + dt.timedelta(minutes=60)
    assert _next(world, at=AT + 59 * MIN) == []
    assert _ids(_next(world, at=AT + 60 * MIN)) == [lead.id]


def test_recycle_delays_per_outcome_are_the_campaigns(ctx):
    world = build(ctx, {"A": 1}, leads=1)
    settings = dial_settings.settings_for(campaign(world))
    dial_settings.update_settings(
        settings,
        max_attempts=5,
        lease_minutes=5,
        lead_order="file",
        recycle_minutes={"busy": "7"},
    )
    (handed,) = _next(world)
    lead_service.record_interaction(handed.lead, campaign=campaign(world), wrap_code="BUSY", at=AT)
    assert handed.lead.next_call_at == AT + 7 * MIN


def test_a_closing_wrap_code_takes_the_lead_out(ctx):
    world = build(ctx, {"A": 1}, leads=1)
    (handed,) = _next(world)
    lead_service.record_interaction(handed.lead, wrap_code="SALE", at=AT)
    assert handed.lead.status == "closed"
    assert _next(world, at=AT + dt.timedelta(days=1)) == []


def test_settings_refuse_what_makes_no_sense(ctx):
    world = build(ctx, {"A": 1}, leads=0)
    settings = dial_settings.settings_for(campaign(world))
    with pytest.raises(dial_settings.DialSettingsError, match="Maximum attempts"):
        dial_settings.update_settings(
            settings, max_attempts="0", lease_minutes=5, lead_order="file", recycle_minutes={}
        )
    assert settings.max_attempts == 5


def test_count_and_agent_are_checked(ctx):
    world = build(ctx, {"A": 1}, leads=1)
    with pytest.raises(dial_queue.DialError, match="1 to 100"):
        _next(world, count=0)
    with pytest.raises(dial_queue.DialError, match="no user"):
        _next(world, agent="nobody@dialco.test")
