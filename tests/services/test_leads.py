"""The single-lead service: the import's rules for one lead, audit and counters."""

import datetime as dt

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, AuditLog, FieldDefinition, Interaction, Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services import dnc
from leadapp.services import leads as service
from leadapp.services.accounts import create_campaign
from leadapp.services.pools import pool_counts

COUNTERS = ("total_count", "open_count", "ready_count", "closed_count", "used_count")


@pytest.fixture
def ctx(app_ctx, make_account):
    """An account with a campaign and a pool assigned to it, bound as the current account."""
    from leadapp.models import PoolAssignment

    account_id = make_account("acme")
    with account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = create_campaign(account, "Spring")
        pool = LeadPool(account_id=account_id, name="Spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(
            PoolAssignment(account_id=account_id, pool_id=pool.id, campaign_id=campaign.id)
        )
        db.session.flush()
        yield {"account": account, "campaign": campaign, "pool": pool}


def assert_counters_match(*pools):
    fresh = pool_counts([p.id for p in pools])
    for pool in pools:
        db.session.refresh(pool)
        c = fresh.get(pool.id, dict.fromkeys(("total", "open", "ready", "closed", "used"), 0))
        stored = [getattr(pool, name) for name in COUNTERS]
        assert stored == [c["total"], c["open"], c["ready"], c["closed"], c["used"]], pool.name


def test_create_normalises_like_an_import_and_refreshes_counters(ctx):
    pool = ctx["pool"]
    out = service.create_lead(
        pool,
        {
            "first_name": " Ada ",
            "last_name": "Lovelace",
            "email": "Ada@Example.COM",
            "phone1": "(415) 555-0132",
            "phone2": "12",
        },
        user_id=None,
    )
    assert out.action == "created" and out.errors == {}
    lead = out.lead
    assert lead.phone1 == "+14155550132"
    assert lead.phone1_raw == "(415) 555-0132"
    assert lead.phone2 is None and "phone2" in out.warnings  # an extra bad phone is dropped
    assert lead.email_key == "ada@example.com"
    assert lead.first_name == "Ada"
    assert lead.timezone == "America/Los_Angeles" and lead.timezone_source == "number"
    assert lead.source == "manual" and lead.status == "open" and not lead.do_not_call
    assert pool.total_count == 1 and pool.ready_count == 1
    assert_counters_match(pool)
    assert db.session.scalar(
        sa.select(AuditLog.id).where(
            AuditLog.action == "lead.created", AuditLog.object_id == lead.id
        )
    )


def test_create_refuses_invalid_input_and_writes_nothing(ctx):
    out = service.create_lead(
        ctx["pool"], {"phone1": "555-01", "email": "not an email"}, user_id=None
    )
    assert out.action == "invalid" and out.lead is None
    assert set(out.errors) == {"phone1", "email"}
    assert "too few digits" in out.errors["phone1"]
    assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0
    empty = service.create_lead(ctx["pool"], {"first_name": "Nobody"}, user_id=None)
    assert empty.action == "invalid" and "phone1" in empty.errors
    zone = service.create_lead(
        ctx["pool"], {"phone1": "4155550132", "timezone": "Mars/Olympus"}, user_id=None
    )
    assert zone.errors == {"timezone": zone.errors["timezone"]} and zone.lead is None
    with pytest.raises(service.LeadError, match="no lead field"):
        service.create_lead(ctx["pool"], {"phone1": "4155550132", "shoe": "42"}, user_id=None)
    assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 0


def test_required_custom_field_and_custom_values(ctx):
    db.session.add(FieldDefinition(key="plan", label="Plan", required=True, position=50))
    db.session.flush()
    out = service.create_lead(ctx["pool"], {"phone1": "4155550132"}, user_id=None)
    assert out.errors.get("plan") == "This field is required but empty."
    ok = service.create_lead(ctx["pool"], {"phone1": "4155550132", "plan": "Gold"}, user_id=None)
    assert ok.lead.custom == {"plan": "Gold"}


def test_duplicates_follow_the_import_rules(ctx):
    pool, campaign = ctx["pool"], ctx["campaign"]
    first = service.create_lead(pool, {"phone1": "+1 415 555 0132"}, user_id=None).lead
    # Default (the import's): discard the new lead.
    again = service.create_lead(pool, {"phone1": "415.555.0132"}, user_id=None)
    assert again.action == "discarded" and again.lead is None and again.matches == [first.id]
    notify = service.create_lead(
        pool, {"phone1": "4155550132"}, user_id=None, options={"action": "notify"}
    )
    assert notify.action == "notified" and notify.lead.id != first.id
    assert sorted(notify.matches) == [first.id]
    update = service.create_lead(
        pool,
        {"phone1": "4155550132", "first_name": "Grace"},
        user_id=None,
        options={"action": "update-existing", "multiple": "update-newest"},
    )
    assert update.action == "updated" and update.lead.id == notify.lead.id
    assert update.lead.first_name == "Grace"
    # The campaign's API options are the default when none are given.
    campaign.api_duplicate_options = {"scope": "none"}
    free = service.create_lead(pool, {"phone1": "4155550132"}, user_id=None, source="api")
    assert free.action == "created" and free.lead.source == "api"
    assert_counters_match(pool)
    # Matching on email: a lead without one has no key and is never a duplicate.
    by_email = {"keys": "email", "scope": "account"}
    keyless = service.create_lead(pool, {"phone1": "4155550132"}, user_id=None, options=by_email)
    assert keyless.action == "created"
    with pytest.raises(service.LeadError, match="duplicate scope"):
        service.create_lead(pool, {"phone1": "4155550132"}, user_id=None, options={"scope": "x"})


def test_deactivate_and_move_existing_touch_the_other_pool(ctx):
    pool = ctx["pool"]
    other = LeadPool(name="Other")
    db.session.add(other)
    db.session.flush()
    from leadapp.models import PoolAssignment

    db.session.add(PoolAssignment(pool_id=other.id, campaign_id=ctx["campaign"].id))
    db.session.flush()
    old = service.create_lead(other, {"phone1": "4155550132"}, user_id=None).lead
    out = service.create_lead(
        pool, {"phone1": "4155550132"}, user_id=None, options={"action": "deactivate-existing"}
    )
    assert out.action == "deactivated" and out.lead is not None
    db.session.refresh(old)
    assert old.status == "inactive"
    assert_counters_match(pool, other)
    moved = service.create_lead(
        pool,
        {"phone1": "4155550133"},
        user_id=None,
        options={"action": "move-existing"},
    )
    assert moved.action == "created"
    old2 = service.create_lead(other, {"phone1": "4155550134"}, user_id=None).lead
    moved = service.create_lead(
        pool, {"phone1": "4155550134"}, user_id=None, options={"action": "move-existing"}
    )
    assert moved.action == "moved" and moved.lead.id == old2.id and moved.lead.pool_id == pool.id
    assert_counters_match(pool, other)


def test_listed_number_marks_a_new_lead_do_not_call(ctx):
    dnc.add_number(ctx["account"], "415-555-0132", user_id=None)
    out = service.create_lead(ctx["pool"], {"phone1": "(415) 555 0132"}, user_id=None)
    assert out.lead.do_not_call
    assert ctx["pool"].ready_count == 0 and ctx["pool"].total_count == 1


def test_update_wrap_code_copy_delete_keep_counters(ctx):
    pool = ctx["pool"]
    lead = service.create_lead(
        pool, {"phone1": "4155550132", "first_name": "Ada", "customer_key": "C-1"}, user_id=None
    ).lead
    bad = service.update_lead(lead, {"phone1": "12", "email": "x"}, user_id=None)
    assert bad.action == "invalid" and set(bad.errors) == {"phone1", "email"}
    assert lead.phone1 == "+14155550132"
    out = service.update_lead(
        lead, {"phone1": "212-555-0199", "last_name": "King", "timezone": ""}, user_id=None
    )
    assert out.action == "updated" and lead.phone1 == "+12125550199"
    assert lead.phone1_raw == "212-555-0199" and lead.first_name == "Ada"
    assert lead.last_name == "King" and lead.timezone == "America/New_York"
    assert service.update_lead(lead, {"phone1": ""}, user_id=None).errors
    # A zone that came from the number follows a new number; one given by hand stays.
    service.update_lead(lead, {"phone1": "+61 2 9374 4000"}, user_id=None)
    assert (lead.timezone, lead.timezone_source) == ("Australia/Sydney", "number")
    service.update_lead(lead, {"timezone": "Europe/Berlin"}, user_id=None)
    service.update_lead(lead, {"phone1": "212-555-0199"}, user_id=None)
    assert (lead.timezone, lead.timezone_source) == ("Europe/Berlin", "field")

    with pytest.raises(service.LeadError, match="date and time"):
        service.set_wrap_code(lead, "CALLBACK", completed=False, user_id=None)
    when = dt.datetime(2030, 1, 2, 15, 30, tzinfo=dt.UTC)
    service.set_wrap_code(lead, "CALLBACK", completed=False, callback_at=when, user_id=None)
    assert lead.callback_at == dt.datetime(2030, 1, 2, 15, 30)
    service.set_wrap_code(lead, "SALE", completed=True, user_id=None)
    assert lead.callback_at is None and lead.completed and pool.ready_count == 0
    assert_counters_match(pool)

    other = LeadPool(name="Copies")
    db.session.add(other)
    db.session.flush()
    copy = service.copy_lead(lead, other, as_update_by_customer_key=False, user_id=None).lead
    assert copy.pool_id == other.id and copy.phone1 == lead.phone1 and copy.call_count == 0
    lead.first_name = "Augusta"
    again = service.copy_lead(lead, other, as_update_by_customer_key=True, user_id=None)
    assert again.action == "updated" and again.lead.id == copy.id
    assert copy.first_name == "Augusta"
    assert other.total_count == 1
    with pytest.raises(service.LeadError):
        service.copy_lead(lead, pool, as_update_by_customer_key=False, user_id=None)

    service.delete_lead(copy, user_id=None)
    assert other.total_count == 0
    assert_counters_match(pool, other)
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"lead.updated", "lead.wrap_code", "lead.copied", "lead.deleted"} <= actions


def test_record_interaction_updates_the_lead(ctx):
    pool = ctx["pool"]
    lead = service.create_lead(pool, {"phone1": "4155550132"}, user_id=None).lead
    at = dt.datetime(2026, 11, 1, 17, 0)
    it = service.record_interaction(
        lead,
        campaign=ctx["campaign"],
        caller_number="(212) 555-0100",
        wrap_code="NO_ANSWER",
        outcome="no answer",
        notes="<b>rang</b>",
        at=at,
    )
    assert it.called_number == "+14155550132" and it.caller_number == "+12125550100"
    assert lead.call_count == 1 and lead.last_called_at == at
    assert lead.last_outcome == "no answer" and lead.wrap_code == "NO_ANSWER"
    assert pool.used_count == 1
    older = service.record_interaction(lead, outcome="busy", at=at - dt.timedelta(days=1))
    assert lead.call_count == 2 and lead.last_outcome == "no answer" and older.id
    service.record_interaction(lead, outcome="sale", completed=True)
    assert lead.completed and lead.last_outcome == "sale"
    assert db.session.scalar(sa.select(sa.func.count(Interaction.id))) == 3
    assert_counters_match(pool)
    with pytest.raises(service.LeadError, match="not a valid phone"):
        service.record_interaction(lead, caller_number="12")
    with pytest.raises(service.LeadError, match="direction"):
        service.record_interaction(lead, direction="sideways")


def test_duplicates_never_cross_accounts_even_unbound(app_ctx, make_account):
    """With no account bound to the session (a script's mistake), the scope is still the
    pool's own account."""
    ours, theirs = make_account("acme"), make_account("other")
    with account_scope(theirs):
        their_pool = LeadPool(name="Theirs")
        db.session.add(their_pool)
        db.session.flush()
        service.create_lead(their_pool, {"phone1": "4155550132"}, user_id=None)
    pool = LeadPool(account_id=ours, name="Ours")
    db.session.add(pool)
    db.session.flush()
    out = service.create_lead(
        pool, {"phone1": "4155550132"}, user_id=None, options={"scope": "account"}
    )
    assert out.action == "created" and out.matches == []
    assert out.lead.account_id == ours


def test_leads_take_their_lists_next_dial_positions_by_hand_and_by_copy(ctx):
    """Dial order is arrival order (file order for an import): a lead added by hand takes
    its list's next position, and so does a copy arriving in another list."""
    pool = ctx["pool"]
    first = service.create_lead(pool, {"phone1": "(415) 555-0132"}, user_id=None).lead
    second = service.create_lead(pool, {"phone1": "(415) 555-0133"}, user_id=None).lead
    assert (first.dial_order, second.dial_order) == (0, 1)
    other = LeadPool(account_id=pool.account_id, name="Other", dial_order_next=7)
    db.session.add(other)
    db.session.flush()
    copy = service.copy_lead(second, other, as_update_by_customer_key=False, user_id=None).lead
    assert copy.dial_order == 7
    assert db.session.get(LeadPool, other.id).dial_order_next == 8
