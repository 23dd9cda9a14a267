"""The campaign page's Dialing figures (issue 18/19): "Callable now" and "Ready to dial"
per pool are exactly a straightforward count of the queue's eligible leads, read at a
cost that does not grow with the pools."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import dial_candidates, dial_queue, dial_report, dial_settings
from leadapp.services import leads as lead_service
from leadapp.services import pools as pool_service
from leadapp.services.accounts import create_campaign
from tests.pools.helpers import recounted
from tests.services.dial_helpers import AT, add_leads, build, campaign

MIN = dt.timedelta(minutes=1)


@pytest.fixture
def ctx(app, make_account):
    account_id = make_account("dialco")
    with app.app_context(), account_scope(account_id):
        yield account_id


def _counted(world, at) -> dict[int, tuple[int, int]]:
    """Per pool (callable now, ready to dial), counted over the leads one by one with the
    queue's own conditions (what the page showed before its figures were stored)."""
    c = campaign(world)
    settings = dial_settings.settings_for(c)
    out = {}
    for plan in dial_candidates.plans(c, at):

        def count(zones, plan=plan):
            if not zones:
                return 0
            keyed = sa.or_(*(dial_candidates.zone_is(z) for z in zones))
            conditions = dial_candidates.eligible(plan, settings, at, None)
            return db.session.scalar(sa.select(sa.func.count(Lead.id)).where(*conditions, keyed))

        out[plan.pool.id] = (count(plan.zones), count(plan.all_zones))
    return out


def _shown(world, at) -> dict[int, tuple[int, int]]:
    panel = dial_report.panel(campaign(world), at)
    return {line.pool_id: (line.callable_now, line.ready) for line in panel["lines"]}


def _lead(pool_id, order):
    return db.session.scalar(
        sa.select(Lead).where(Lead.pool_id == pool_id, Lead.dial_order == order)
    )


def test_the_figures_are_a_count_of_the_eligible_leads_in_every_state(ctx, make_user):
    bob = make_user(ctx, "bob@dialco.test")
    world = build(ctx, {"A": 1, "B": 1}, leads=20)
    a, b = world.pools["A"], world.pools["B"]
    pool_a = db.session.get(LeadPool, a)
    add_leads(pool_a, 6, zone="Asia/Tokyo", first_order=20)  # 01:00 there: outside the hours
    pool_b = db.session.get(LeadPool, b)
    pool_b.day_count, pool_b.active_from = 5, dt.date(2026, 6, 1)  # 8 of 20 released on AT
    # Another campaign dials A with more attempts: A's counters use 5, this campaign 3.
    other = create_campaign(db.session.get(Account, ctx), "Renewals")
    db.session.add(PoolAssignment(account_id=ctx, pool_id=a, campaign_id=other.id))
    dial_settings.settings_for(campaign(world)).max_attempts = 3
    dial_settings.settings_for(other).max_attempts = 5
    db.session.flush()
    pool_service.refresh_counts([pool_a, pool_b])  # the helper's leads came by a bulk insert
    pool_a.priority = 9  # the lead leased below is A's first
    c = campaign(world)
    (leased,) = dial_queue.next_leads(c, 1, at=AT)
    assert leased.lead.pool_id == a
    for pool_id in (a, b):
        lead_service.record_interaction(_lead(pool_id, 1), campaign=c, wrap_code="NO_ANSWER")
        due, not_due, bobs, bobs_late = (_lead(pool_id, i) for i in (2, 3, 4, 5))
        due.callback_at = AT - MIN
        not_due.callback_at = AT + MIN
        bobs.callback_at, bobs.callback_agent_id = AT - 2 * MIN, bob  # within his grace
        bobs_late.callback_at, bobs_late.callback_agent_id = AT - 10 * MIN, bob  # past it
        _lead(pool_id, 6).dial_attempts = 3  # this campaign's maximum, below the pool's
        _lead(pool_id, 7).dial_attempts = 5  # the pool's maximum
        _lead(pool_id, 8).do_not_call = True
        _lead(pool_id, 9).status = "closed"
        _lead(pool_id, 10).completed = True
        _lead(pool_id, 11).phone1 = None
        recycled = _lead(pool_id, 12)
        recycled.dial_attempts, recycled.next_call_at = 2, AT - MIN  # its delay passed
    db.session.flush()
    assert recounted([a, b])  # the stored breakdowns, "ready_attempts" too, are exact

    counted = _counted(world, AT)
    assert _shown(world, AT) == counted
    # A: 26 leads less 0 (leased), 1 (recycling), 3 (not due), 4 (Bob's) and 6 to 11 = 16
    # ready, 6 of them in Tokyo. B: positions 0-7 released, less 1, 3, 4, 6, 7 = 3.
    assert counted == {a: (10, 16), b: (3, 3)}
    # Later: the lease, the recycle delay, the callback and Bob's grace have run out.
    later = AT + dt.timedelta(hours=3)
    assert _shown(world, later) == _counted(world, later)


def test_a_change_of_maximum_attempts_is_seen_at_once(ctx):
    """Raised above, or lowered below, the attempts of the pool's leads: the stored
    breakdowns follow (the change recounts the pools it dials), and so do the figures."""
    world = build(ctx, {"A": 1}, leads=4)
    pool = db.session.get(LeadPool, world.pools["A"])
    pool_service.refresh_counts([pool])
    _lead(pool.id, 0).dial_attempts = 6
    _lead(pool.id, 1).dial_attempts = 2
    db.session.flush()
    settings = dial_settings.settings_for(campaign(world))
    for most, ready in ((8, 4), (2, 2), (3, 3)):
        dial_settings.update_settings(
            settings,
            max_attempts=most,
            lease_minutes=settings.lease_minutes,
            lead_order=settings.lead_order,
            recycle_minutes={},
        )
        db.session.flush()
        assert recounted([pool.id])
        assert _shown(world, AT) == _counted(world, AT) == {pool.id: (ready, ready)}


def test_ready_to_dial_does_not_depend_on_the_hour(ctx):
    """Issue 18: "Ready to dial" means exactly "eligible apart from the hour of day". At
    03:00 in Chicago, outside the calling hours everywhere, nothing is callable now but
    every lead is still ready — on the page and in the export for dialers that load lists
    (both were empty at night)."""
    world = build(ctx, {"A": 1}, leads=4)
    pool = db.session.get(LeadPool, world.pools["A"])
    pool_service.refresh_counts([pool])
    night = dt.datetime(2026, 6, 2, 8, 0)  # 03:00 CDT
    panel = dial_report.panel(campaign(world), night)
    (line,) = panel["lines"]
    assert (line.callable_now, line.ready) == (0, 4)
    assert line.why_not == "outside calling hours or the pool's time range everywhere"
    assert (panel["callable_total"], panel["ready_total"]) == (0, 4)
    exported = b"".join(dial_report.export_chunks(campaign(world), "vicidial", night))
    assert len(exported.splitlines()) == 4
