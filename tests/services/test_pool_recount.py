"""A pool's counters after a request whose set-based statements move no counter (a
duplicate action on the matched leads): counted once the request has committed, without
holding SQLite's write lock; never for a request that rolled back. (A call outcome moves
the counters by its delta instead: tests/services/test_pool_counters.py.)"""

from __future__ import annotations

import json

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import accounts as account_service
from leadapp.services import pool_counters
from tests.test_write_lock import api_token, lock_is_free, sqlite_path


def test_a_duplicate_found_through_the_api_counts_its_pool_after_the_commit_unlocked(
    committed, app_environ, client, make_account, monkeypatch
):
    """Counting a pool reads every lead of it (0.1 s for 16,000 here): inside the request's
    transaction it held the lock for every other writer."""
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
        db.session.add(Lead(pool_id=pool.id, phone1="+14155550132", call_count=1))
        db.session.flush()
        # Off by one, as after a set-based change: the recount puts it right.
        db.session.execute(sa.update(LeadPool).where(LeadPool.id == pool.id).values(used_count=0))
        db.session.commit()
        pool_id, code = pool.id, campaign.api_code
    plaintext = api_token(app, "admin@acme.test")
    free_while_counting = []
    count = pool_counters.recount

    def observed(pool_ids=None):
        free_while_counting.append(lock_is_free(path))
        return count(pool_ids)

    monkeypatch.setattr(pool_counters, "recount", observed)
    answer = client.post(
        f"/api/v1/campaigns/{code}/leads",
        data=json.dumps({"phone1": "+14155550132", "first_name": "Again"}),
        headers={"Authorization": f"Bearer {plaintext}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200 and answer.json["action"] == "discarded", answer.text
    assert free_while_counting == [True]
    with app.app_context():
        used = db.session.scalar(
            sa.select(LeadPool.used_count)
            .where(LeadPool.id == pool_id)
            .execution_options(all_accounts=True)
        )
        assert used == 1  # the called lead, counted after the commit
