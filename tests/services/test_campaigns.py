"""Projects, campaigns and pool assignment: the rules, their sentences and the audit log."""

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, Campaign, LeadPool, PoolAssignment, Project
from leadapp.security import account_scope
from leadapp.services import accounts
from leadapp.services import campaigns as svc
from leadapp.services.campaigns import CampaignError
from tests.conftest import PASSWORD

# --- shares: the pure helper -------------------------------------------------------------


def test_shares_of_70_30_100_are_35_15_50():
    assert svc.shares({"a": 70, "b": 30, "c": 100}) == {"a": 35.0, "b": 15.0, "c": 50.0}


def test_all_zero_weights_give_everyone_zero_and_no_division_error():
    assert svc.shares({"a": 0, "b": 0}) == {"a": 0.0, "b": 0.0}
    assert svc.shares({}) == {}


def test_a_zero_weight_next_to_others_gets_zero():
    assert svc.shares({"a": 0, "b": 1}) == {"a": 0.0, "b": 100.0}


def test_rounded_shares_still_add_up_to_100():
    thirds = svc.shares({"a": 1, "b": 1, "c": 1})
    assert sorted(thirds.values()) == [33.3, 33.3, 33.4]
    assert round(sum(thirds.values()), 1) == 100.0
    odd = svc.shares({i: w for i, w in enumerate([7, 13, 1, 1000, 999, 3])})
    assert round(sum(odd.values()), 1) == 100.0
    assert all(round(v, 1) == v for v in odd.values())


def test_shares_refuse_negative_weights():
    with pytest.raises(ValueError):
        svc.shares({"a": -1, "b": 2})


def test_format_share_drops_a_zero_decimal():
    assert [svc.format_share(v) for v in (35.0, 33.3, 0.0, 100.0)] == [
        "35 %",
        "33.3 %",
        "0 %",
        "100 %",
    ]


# --- projects and campaigns --------------------------------------------------------------


@pytest.fixture
def account(app_ctx):
    account = accounts.create_account("Acme", "acme", "admin@acme.test", PASSWORD)
    with account_scope(account.id):
        yield account


@pytest.fixture
def other(app_ctx):
    """A second account, made before ``account`` binds the session to the first one."""
    return accounts.create_account("Other", "other", "admin@other.test", PASSWORD)


def _audit(action):
    return db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    ).all()


def test_projects_are_created_renamed_and_audited(account):
    outbound = svc.create_project(account, "  Outbound ", user_id=None)
    assert outbound.name == "Outbound"
    with pytest.raises(CampaignError) as info:
        svc.create_project(account, "Outbound")
    assert str(info.value) == "The project 'Outbound' already exists in this account."
    with pytest.raises(CampaignError) as info:
        svc.create_project(account, "  ")
    assert str(info.value) == "Give the project a name."
    inbound = svc.create_project(account, "Inbound")
    with pytest.raises(CampaignError) as info:
        svc.rename_project(inbound, "Outbound")
    assert str(info.value) == "The project 'Outbound' already exists in this account."
    assert svc.rename_project(outbound, "Outbound") is False
    assert svc.rename_project(outbound, "Outbound 2026") is True
    (entry,) = _audit("project.rename")
    assert entry.details == {"name": ["Outbound", "Outbound 2026"]}
    assert len(_audit("project.create")) == 2


def test_create_campaign_with_every_setting(account):
    project = svc.create_project(account, "Outbound")
    campaign = svc.create_campaign(
        account,
        "Renewals",
        project=project,
        purpose="retention",
        region="gb",
        timezone="Europe/London",
        api_code="renew_2026",
        window_start="09:30",
        window_end="20:00",
        weighting=False,
        active=False,
    )
    assert (campaign.api_code, campaign.default_region, campaign.timezone) == (
        "RENEW_2026",
        "GB",
        "Europe/London",
    )
    assert (campaign.window_start, campaign.window_end) == (dt.time(9, 30), dt.time(20, 0))
    assert (campaign.weighting, campaign.active, campaign.project_id) == (False, False, project.id)
    (entry,) = _audit("campaign.create")
    assert entry.object_id == campaign.id and entry.details["api_code"] == "RENEW_2026"


@pytest.mark.parametrize(
    ("settings", "sentence"),
    [
        ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone name"),
        ({"region": "XX"}, "'XX' is not a phone region; use a two-letter code like US."),
        (
            {"window_start": "21:00", "window_end": "08:00"},
            "The calling window must start before it ends; 21:00 is not before 08:00.",
        ),
        (
            {"window_start": "10:00", "window_end": "10:00"},
            "The calling window must start before it ends; 10:00 is not before 10:00.",
        ),
        ({"window_start": "8 o'clock"}, "Give the window start as a time of day like 08:00."),
        (
            {"api_code": "spring sales!"},
            "The API code must be 1 to 60 letters, digits or underscores, like SPRING_SALES.",
        ),
        ({"purpose": " "}, "Choose the campaign's purpose, for example sales or survey."),
    ],
)
def test_create_campaign_refuses_bad_settings_with_one_sentence(account, settings, sentence):
    with pytest.raises(CampaignError) as info:
        svc.create_campaign(account, "Spring", **settings)
    assert str(info.value).startswith(sentence)
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0


def test_api_codes_are_unique_per_account(account):
    svc.create_campaign(account, "Spring", api_code="SPRING")
    with pytest.raises(CampaignError) as info:
        svc.create_campaign(account, "Autumn", api_code="spring")
    assert str(info.value) == "The API code SPRING is already used by the campaign 'Spring'."
    # A derived code steps around a taken one.
    assert svc.create_campaign(account, "spring!").api_code == "SPRING_2"


def test_accounts_create_campaign_still_works_and_is_a_campaign_error(account):
    campaign = accounts.create_campaign(account, "Legacy", project="  ")
    assert campaign.project.name == "Default" and campaign.api_code == "LEGACY"
    with pytest.raises(accounts.AccountError):
        accounts.create_campaign(account, "Legacy")


def _update(campaign, **changes):
    settings = {
        "name": campaign.name,
        "api_code": campaign.api_code,
        "project": campaign.project,
        "purpose": campaign.purpose,
        "timezone": campaign.timezone,
        "region": campaign.default_region,
        "window_start": campaign.window_start,
        "window_end": campaign.window_end,
        "weighting": campaign.weighting,
        "active": campaign.active,
    }
    return svc.update_campaign(campaign, **{**settings, **changes}, user_id=None)


def test_update_campaign_changes_all_or_nothing_and_audits_the_changes(account):
    spring = svc.create_campaign(account, "Spring")
    svc.create_campaign(account, "Autumn")
    with pytest.raises(CampaignError) as info:
        _update(spring, name="Spring 2", window_start="22:00")
    assert str(info.value).startswith("The calling window must start before it ends")
    assert spring.name == "Spring"
    with pytest.raises(CampaignError) as info:
        _update(spring, name="Autumn")
    assert str(info.value) == "The campaign 'Autumn' already exists in this account."
    with pytest.raises(CampaignError) as info:
        _update(spring, api_code="AUTUMN")
    assert str(info.value) == "The API code AUTUMN is already used by the campaign 'Autumn'."

    assert _update(spring) == {}  # its own name and code are fine
    changes = _update(spring, name="Spring 2", window_end="20:30", weighting=False)
    assert changes == {
        "name": ["Spring", "Spring 2"],
        "window_end": ["21:00", "20:30"],
        "weighting": [True, False],
    }
    (entry,) = _audit("campaign.update")
    assert entry.details == changes and entry.object_id == spring.id


# --- assignment --------------------------------------------------------------------------


def _pool(account, name, **kwargs):
    pool = LeadPool(account_id=account.id, name=name, **kwargs)
    db.session.add(pool)
    db.session.flush()
    return pool


def _system_pool():
    return db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))


def test_apply_assigns_and_unassigns_and_audits(account):
    campaign = svc.create_campaign(account, "Spring")
    a, b, c = (_pool(account, n) for n in ("A", "B", "C"))
    plan = svc.apply_assignment(campaign, [a.id, b.id], user_id=None)
    assert [p.name for p in plan.add] == ["A", "B"] and plan.remove == []
    rows = svc.assignments(campaign)
    assert [(r.pool.name, r.to_dial, r.strategy, r.weight) for r in rows] == [
        ("A", True, "weighted", 100),
        ("B", True, "weighted", 100),
    ]
    assert [e.details["pool"] for e in _audit("campaign.pool_assign")] == ["A", "B"]

    svc.update_assignment(rows[1], to_dial=False, strategy="sequential", weight=5, user_id=None)
    plan = svc.apply_assignment(campaign, [a.id, c.id], user_id=None)
    assert [p.name for p in plan.add] == ["C"]
    assert [r.pool.name for r in svc.assignments(campaign)] == ["A", "C"]
    (entry,) = _audit("campaign.pool_unassign")
    # The lost campaign-level state is in the log.
    assert entry.details == {
        "campaign_id": campaign.id,
        "pool_id": b.id,
        "pool": "B",
        "to_dial": False,
        "strategy": "sequential",
        "weight": 5,
    }


def test_a_pool_marked_to_dial_cannot_be_unassigned(account):
    campaign = svc.create_campaign(account, "Spring")
    a, b = _pool(account, "A"), _pool(account, "B")
    svc.apply_assignment(campaign, [a.id, b.id])
    with pytest.raises(CampaignError) as info:
        svc.apply_assignment(campaign, [])
    assert str(info.value) == (
        "'A' and 'B' are marked to dial in this campaign; clear To dial and save before "
        "unassigning."
    )
    with pytest.raises(CampaignError) as info:
        svc.apply_assignment(campaign, [b.id])
    assert str(info.value).startswith("'A' is marked to dial in this campaign;")
    assert len(svc.assignments(campaign)) == 2
    assert _audit("campaign.pool_unassign") == []


def test_the_system_inactive_pool_can_never_be_assigned(account):
    campaign = svc.create_campaign(account, "Spring")
    inactive = _system_pool()
    assert inactive not in svc.assignable_pools(account.id)
    with pytest.raises(CampaignError) as info:
        svc.apply_assignment(campaign, [inactive.id])
    assert str(info.value) == (
        "The system pool 'Inactive' holds the Lead Deduplicator's duplicates and can never be "
        "assigned to a campaign."
    )
    assert db.session.scalar(sa.select(sa.func.count(PoolAssignment.id))) == 0


def test_another_accounts_pool_cannot_be_assigned(other, account):
    campaign = svc.create_campaign(account, "Spring")
    with account_scope(other.id):
        foreign = _pool(other, "Theirs")
    with pytest.raises(CampaignError) as info:
        svc.apply_assignment(campaign, [foreign.id])
    assert str(info.value).startswith("One of the chosen pools no longer exists")


def test_update_assignment_checks_weight_and_strategy(account):
    campaign = svc.create_campaign(account, "Spring")
    svc.apply_assignment(campaign, [_pool(account, "A").id])
    (row,) = svc.assignments(campaign)
    for bad in ("1001", "-1", "2.5", "", "many"):
        with pytest.raises(CampaignError) as info:
            svc.update_assignment(row, to_dial=True, strategy="weighted", weight=bad)
        assert str(info.value) == "The weight of 'A' must be a whole number from 0 to 1000."
    with pytest.raises(CampaignError) as info:
        svc.update_assignment(row, to_dial=True, strategy="random", weight=1)
    assert str(info.value) == (
        "The dialer strategy of 'A' must be one of: weighted, sequential, priority."
    )
    assert svc.update_assignment(row, to_dial=True, strategy="weighted", weight="100") == {}
    changes = svc.update_assignment(row, to_dial=False, strategy="priority", weight="0")
    assert changes == {
        "to_dial": [True, False],
        "strategy": ["weighted", "priority"],
        "weight": [100, 0],
    }
    (entry,) = _audit("campaign.pool_settings")
    assert entry.details["weight"] == [100, 0] and entry.details["pool"] == "A"


def test_assignment_shares_count_only_to_dial_pools_and_need_weighting(account):
    campaign = svc.create_campaign(account, "Spring")
    # Each pool holds leads: an empty one gets no share (test below).
    pools = [_pool(account, n, total_count=10) for n in ("A", "B", "C", "D")]
    svc.apply_assignment(campaign, [p.id for p in pools])
    rows = svc.assignments(campaign)
    for row, weight in zip(rows, (70, 30, 100, 500), strict=True):
        svc.update_assignment(row, to_dial=row.pool.name != "D", strategy="weighted", weight=weight)
    shares = svc.assignment_shares(campaign, rows)
    assert {r.pool.name: shares.get(r.id) for r in rows} == {
        "A": 35.0,
        "B": 15.0,
        "C": 50.0,
        "D": None,
    }
    campaign.weighting = False
    assert svc.assignment_shares(campaign, rows) == {}


def test_campaign_and_project_rows_stay_in_their_account(other, account):
    svc.create_campaign(account, "Spring", project="Outbound")
    with account_scope(other.id):
        theirs = svc.create_campaign(other, "Spring", project="Outbound", api_code="SPRING")
        assert theirs.api_code == "SPRING"
        assert db.session.scalar(sa.select(sa.func.count(Project.id))) == 1


def test_ready_in_campaign_follows_the_grids_rule(account):
    campaign = svc.create_campaign(account, "Spring")
    today = dt.date(2026, 11, 23)
    # Started before ``today`` (a pool made today would start after this fixed date).
    pool = _pool(account, "A", ready_count=12, active_from=dt.date(2026, 11, 1))
    svc.apply_assignment(campaign, [pool.id])
    (row,) = svc.assignments(campaign)
    assert svc.ready_in_campaign(row, today) == 12
    pool.active_until = dt.date(2026, 11, 22)  # ended yesterday
    assert svc.ready_in_campaign(row, today) == 0
    pool.active_until, pool.active_from = None, dt.date(2026, 11, 24)  # starts tomorrow
    assert svc.ready_in_campaign(row, today) == 0
    pool.active_from = today
    assert svc.ready_in_campaign(row, today) == 12
    pool.status = "inactive"
    assert svc.ready_in_campaign(row, today) == 0
    pool.status, row.to_dial = "active", False
    assert svc.ready_in_campaign(row, today) == 0


# --- the campaign's default zone follows its region (issue 15) ---------------------------


def test_a_campaign_for_australia_is_asked_its_zone_and_gb_gets_london(account):
    # The account's zone (Los Angeles) is not Australian: the supervisor is asked.
    with pytest.raises(CampaignError) as info:
        svc.create_campaign(account, "Sydney", region="AU")
    assert str(info.value).startswith(
        "AU has 7 time zones (Australia/Sydney, Australia/Brisbane, Australia/Adelaide, "
        "Australia/Perth, Australia/Darwin,"
    )
    assert svc.create_campaign(account, "London", region="GB").timezone == "Europe/London"
    perth = svc.create_campaign(account, "Perth", region="AU", timezone="Australia/Perth")
    assert perth.timezone == "Australia/Perth"
    # A US campaign keeps the account's zone, one of the eight US ones.
    assert svc.create_campaign(account, "Spring", region="US").timezone == "America/Los_Angeles"


def test_a_default_zone_outside_the_region_needs_a_confirmation(account):
    with pytest.raises(CampaignError) as info:
        svc.create_campaign(account, "Wrong", region="AU", timezone="America/Los_Angeles")
    assert str(info.value).startswith("America/Los_Angeles is not a time zone of AU (")
    assert str(info.value).endswith(
        "; choose one of them, or confirm that this campaign's default zone is outside its region."
    )
    confirmed = svc.create_campaign(
        account, "Wrong", region="AU", timezone="America/Los_Angeles", zone_outside_region=True
    )
    assert confirmed.timezone == "America/Los_Angeles"
    # Editing it without touching zone or region keeps the confirmed zone.
    _update(confirmed, name="Wrong but known")
    with pytest.raises(CampaignError, match="is not a time zone of GB"):
        _update(confirmed, region="GB")
    _update(confirmed, region="GB", timezone="Europe/London")
    assert (confirmed.default_region, confirmed.timezone) == ("GB", "Europe/London")
    # A zone with the same offsets all year as one of the region's is inside it.
    assert svc.campaign_zone("US", "America/Detroit", "") == "America/Detroit"


def test_a_name_that_differs_only_by_control_characters_is_refused_as_taken(account):
    """Names are cleaned as they are stored ('A\\tB' is stored 'A B'); the check for a taken
    name compared the raw text, so the database's unique name answered instead (500)."""
    svc.create_project(account, "Out bound")
    with pytest.raises(CampaignError, match="The project 'Out bound' already exists"):
        svc.create_project(account, "Out\tbound")
    svc.create_campaign(account, "Spring sales", region="GB")
    with pytest.raises(CampaignError, match="The campaign 'Spring sales' already exists"):
        svc.create_campaign(account, "Spring\r\nsales", region="GB")


def test_an_empty_pool_to_dial_gets_no_share_and_the_others_share_100(account):
    campaign = svc.create_campaign(account, "Spring")
    pools = [_pool(account, "A", total_count=10), _pool(account, "B", total_count=0)]
    svc.apply_assignment(campaign, [p.id for p in pools])
    rows = svc.assignments(campaign)
    for row, weight in zip(rows, (70, 30), strict=True):
        svc.update_assignment(row, to_dial=True, strategy="weighted", weight=weight)
    shares = svc.assignment_shares(campaign, rows)
    assert {r.pool.name: shares.get(r.id) for r in rows} == {"A": 100.0, "B": 0.0}
