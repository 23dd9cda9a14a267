"""A pool's counters after a request: counted once the request has committed, without
holding SQLite's write lock; never for a request that rolled back."""

from __future__ import annotations

import json

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import pools as pool_service
from tests.test_write_lock import api_token, lock_is_free, sqlite_path


def test_a_call_outcome_counts_its_pool_after_the_commit_without_the_write_lock(
    committed, app_environ, client, make_account, monkeypatch
):
    """Counting a pool reads every lead of it (0.1 s for 16,000 here): inside the outcome's
    transaction it held the lock for each of the dialer's twenty calls a second."""
    app = committed
    path = sqlite_path(app_environ)
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        campaign = account_service.create_campaign(account, "Spring")
        pool = LeadPool(name="Spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
        lead = Lead(pool_id=pool.id, phone1="+14155550132")
        db.session.add(lead)
        db.session.flush()
        pool_service.refresh_counts([pool])
        db.session.commit()
        lead_id, pool_id, code = lead.id, pool.id, campaign.api_code
    plaintext = api_token(app, "admin@acme.test")
    free_while_counting = []
    count = pool_service.pool_counts

    def observed(pool_ids=None):
        free_while_counting.append(lock_is_free(path))
        return count(pool_ids)

    monkeypatch.setattr(pool_service, "pool_counts", observed)
    answer = client.post(
        f"/api/v1/leads/{lead_id}/interactions",
        data=json.dumps({"campaign": code, "outcome": "answered", "direction": "outbound"}),
        headers={"Authorization": f"Bearer {plaintext}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    assert free_while_counting == [True]
    with app.app_context():
        used = db.session.scalar(
            sa.select(LeadPool.used_count)
            .where(LeadPool.id == pool_id)
            .execution_options(all_accounts=True)
        )
        assert used == 1  # the lead was called: counted after the commit
