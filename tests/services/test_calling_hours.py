"""Calling hours in SQL and on single leads (issue 15): the condition the grid and the dial
queue use, and each lead's zone key kept in step with its zone, state and country."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import leads as lead_service
from leadapp.services.accounts import create_campaign
from leadapp.services.calling_hours import callable_condition, callable_keys, lead_callable

# Wednesday 2026-10-14 at 12:30 UTC: 08:30 New York, 07:30 Chicago, 05:30 Los Angeles.
MORNING = dt.datetime(2026, 10, 14, 12, 30, tzinfo=dt.UTC)
# 00:30 UTC the next day: 20:30 New York, 19:30 Chicago, 17:30 Los Angeles.
EVENING = dt.datetime(2026, 10, 15, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def spring(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = create_campaign(account, "Spring", timezone="America/Los_Angeles")
        pool = LeadPool(name="Spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
        db.session.flush()
        yield campaign, pool


def _add(pool, **data):
    outcome = lead_service.create_lead(pool, data, user_id=None)
    assert outcome.action == "created", outcome.errors
    return outcome.lead


def _callable(campaign, at) -> set[str]:
    return set(
        db.session.scalars(sa.select(Lead.last_name).where(callable_condition(campaign, at)))
    )


def test_the_condition_selects_leads_by_their_zones_state_and_unsureness(spring):
    campaign, pool = spring
    _add(pool, last_name="ny", phone1="212 555 0101", state="NY")
    _add(pool, last_name="fl", phone1="305 555 0101", state="FL")  # Florida ends at 8 p.m.
    _add(pool, last_name="unsure", phone1="850 555 0101", state="FL")  # Eastern or Central
    _add(pool, last_name="la", phone1="213 555 0101", state="CA")
    db.session.flush()
    assert _callable(campaign, MORNING) == {"ny", "fl"}
    assert _callable(campaign, EVENING) == {"ny", "la"}
    # 14:30 UTC: 10:30 New York, 09:30 Chicago, 07:30 Los Angeles.
    assert _callable(campaign, MORNING + dt.timedelta(hours=2)) == {"ny", "fl", "unsure"}
    # The keys are few: one per zone / country / state.
    keys = set(db.session.scalars(sa.select(Lead.zone_key)))
    assert keys == {
        "America/New_York|US|NY", "America/New_York|US|FL",
        "America/Chicago,America/New_York|US|FL", "America/Los_Angeles|US|CA",
    }  # fmt: skip


def test_a_lead_without_a_zone_is_judged_in_the_campaigns_zone(spring):
    campaign, pool = spring
    lead = _add(pool, last_name="nozone", phone1="212 555 0102")
    lead.timezone = None
    db.session.flush()
    assert lead.zone_key is None
    assert callable_keys(campaign, EVENING) == ([], True)  # 17:30 in Los Angeles
    assert _callable(campaign, MORNING) == set()  # 05:30 in Los Angeles
    assert _callable(campaign, EVENING) == {"nozone"}


def test_a_zone_set_by_hand_makes_the_lead_sure_and_an_address_change_resolves_again(spring):
    campaign, pool = spring
    lead = _add(pool, last_name="x", phone1="850 555 0103", state="FL")
    assert lead.zone_key == "America/Chicago,America/New_York|US|FL"
    assert lead.timezone_note.startswith("zone unsure")
    out = lead_service.update_lead(lead, {"postal_code": "32501"}, user_id=None)
    assert out.action == "updated", out.errors
    db.session.flush()
    assert (lead.timezone, lead.timezone_source, lead.timezone_note) == (
        "America/Chicago", "postal", None,
    )  # fmt: skip
    assert lead.zone_key == "America/Chicago|US|FL"
    lead_service.update_lead(lead, {"timezone": "America/New_York"}, user_id=None)
    db.session.flush()
    assert (lead.timezone_source, lead.zone_key) == ("field", "America/New_York|US|FL")
    # Written through the ORM without the engine: the key follows the zone and state.
    lead.timezone = "America/Denver"
    lead.state = "Colorado"
    db.session.flush()
    assert lead.zone_key == "America/Denver|US|CO"


def test_the_lead_page_answer_is_the_conditions(spring):
    campaign, pool = spring
    lead = _add(pool, last_name="fl", phone1="305 555 0104", state="FL")
    at_1959 = dt.datetime(2026, 10, 14, 23, 59, tzinfo=dt.UTC)  # 19:59 in Florida
    assert lead_callable(lead, at_1959) == [(campaign, True)]
    assert lead_callable(lead, at_1959 + dt.timedelta(minutes=1)) == [(campaign, False)]
    assert _callable(campaign, at_1959) == {"fl"}
    assert _callable(campaign, at_1959 + dt.timedelta(minutes=1)) == set()
