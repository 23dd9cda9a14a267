"""The schedule page's scope options count exactly what a dedup run would look at."""

from __future__ import annotations

import pytest

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import dedup as dedup_service
from leadapp.services.accounts import create_campaign
from leadapp.services.dedup_scope import scope_options, selected_total


@pytest.fixture
def world(app, make_account):
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        sales = create_campaign(account, "Sales", purpose="sales")
        renewals = create_campaign(account, "Renewals", purpose="retention")
        pools = [LeadPool(name=n) for n in ("North", "South", "Unassigned")]
        db.session.add_all(pools)
        db.session.flush()
        north, south, _ = pools
        db.session.add_all(
            [
                PoolAssignment(pool_id=north.id, campaign_id=sales.id),
                PoolAssignment(pool_id=south.id, campaign_id=sales.id),
                PoolAssignment(pool_id=south.id, campaign_id=renewals.id),  # shared pool
            ]
        )
        for pool, n in zip(pools, (3, 5, 2), strict=True):
            for i in range(n):
                db.session.add(Lead(pool_id=pool.id, phone1=f"+1415555{pool.id:02d}{i:02d}"))
        db.session.add(Lead(pool_id=north.id, phone1="+14155559999", status="inactive"))
        db.session.flush()
        yield


def test_every_option_counts_what_the_run_would_count(world):
    options = scope_options()
    assert options.account == 10 == dedup_service.count_in_scope(dedup_service.DedupSettings())
    seen = 0
    for scope in ("campaign", "list", "purpose"):
        for option in options.for_scope(scope):
            settings = dedup_service.DedupSettings(scope=scope, targets=[option.value])
            assert option.count == dedup_service.count_in_scope(settings), (scope, option)
            assert selected_total(scope, [option.value]) == option.count
            seen += 1
    assert seen == 2 + 3 + 2
    by_label = {o.label: o.count for o in options.campaigns}
    assert by_label == {"Renewals": 5, "Sales": 8}  # inactive leads are out of scope


def test_options_over_the_limit_are_marked(world, monkeypatch):
    monkeypatch.setattr(dedup_service, "SCOPE_LIMIT", 4)
    over = {o.label for o in scope_options().pools if o.over}
    assert over == {"South"}
