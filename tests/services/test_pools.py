"""Pool counters: one grouped query, stored on the pool, reported by ``pools stats``."""

import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from leadapp.security import account_scope
from leadapp.services.pools import list_pools, pool_counts, pool_stats, refresh_counts

DESIGN_KEYS = {
    "id",
    "name",
    "status",
    "total",
    "open",
    "ready_to_dial",
    "closed_pct",
    "used_pct",
    "invalid_in_upload",
    "is_system",
}

# status, completed, do_not_call, call_count
LEADS = [
    ("open", False, False, 0),  # ready
    ("open", False, False, 2),  # ready, used
    ("open", True, False, 1),  # open but completed: not ready; used
    ("open", False, True, 0),  # open but do-not-call: not ready
    ("closed", False, False, 3),  # closed, used
    ("closed", True, False, 0),  # closed
    ("removed", False, False, 0),
    ("inactive", False, False, 5),  # used
]


def _pool_with_leads(account_id, name, leads):
    pool = LeadPool(account_id=account_id, name=name)
    db.session.add(pool)
    db.session.flush()
    db.session.add_all(
        Lead(
            account_id=account_id,
            pool_id=pool.id,
            phone1=f"+1212555{i:04d}",
            status=status,
            completed=completed,
            do_not_call=dnc,
            call_count=calls,
        )
        for i, (status, completed, dnc, calls) in enumerate(leads)
    )
    db.session.flush()
    return pool


def test_pool_counts_per_pool(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        mixed = _pool_with_leads(account_id, "Mixed", LEADS)
        small = _pool_with_leads(account_id, "Small", [("open", False, False, 0)] * 3)
        empty = _pool_with_leads(account_id, "Empty", [])
        counts = pool_counts()
    assert counts[mixed.id] == {"total": 8, "open": 4, "ready": 2, "closed": 2, "used": 4}
    assert counts[small.id] == {"total": 3, "open": 3, "ready": 3, "closed": 0, "used": 0}
    assert empty.id not in counts  # no leads, no row; refresh_counts stores zeros


def test_pool_counts_can_be_limited_and_stay_in_the_account(app_ctx, make_account):
    acme, other = make_account("acme"), make_account("other")
    with account_scope(other):
        theirs = _pool_with_leads(other, "Theirs", LEADS)
    with account_scope(acme):
        mine = _pool_with_leads(acme, "Mine", LEADS[:2])
        assert set(pool_counts()) == {mine.id}
        assert pool_counts([theirs.id]) == {}
        assert set(pool_counts([mine.id])) == {mine.id}


def test_refresh_counts_stores_the_counters(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = _pool_with_leads(account_id, "Mixed", LEADS)
        empty = _pool_with_leads(account_id, "Empty", [])
        empty.total_count = 99  # stale
        refresh_counts([pool, empty])
        db.session.expire_all()
        pool = db.session.get(LeadPool, pool.id)
        empty = db.session.get(LeadPool, empty.id)
    assert (
        pool.total_count,
        pool.open_count,
        pool.ready_count,
        pool.closed_count,
        pool.used_count,
    ) == (8, 4, 2, 2, 4)
    assert (pool.closed_pct, pool.used_pct) == (25.0, 50.0)
    assert pool.counts_refreshed_at is not None
    assert (empty.total_count, empty.open_count, empty.closed_pct) == (0, 0, 0.0)


def test_pool_stats_rows_have_exactly_the_design_keys(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        pool = _pool_with_leads(account_id, "Mixed", LEADS)
        pool.invalid_count = 3
        refresh_counts(list_pools())
        rows = pool_stats()
    assert [set(row) for row in rows] == [DESIGN_KEYS] * 2
    by_name = {row["name"]: row for row in rows}
    assert by_name["Mixed"] == {
        "id": pool.id,
        "name": "Mixed",
        "status": "active",
        "total": 8,
        "open": 4,
        "ready_to_dial": 2,
        "closed_pct": 25.0,
        "used_pct": 50.0,
        "invalid_in_upload": 3,
        "is_system": False,
    }
    assert by_name["Inactive"]["is_system"] is True
    assert by_name["Inactive"]["status"] == "inactive"


def test_list_pools_can_leave_out_the_system_pool(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        _pool_with_leads(account_id, "Mine", [])
        assert {p.name for p in list_pools()} == {"Mine", "Inactive"}
        assert [p.name for p in list_pools(include_system=False)] == ["Mine"]
        assert db.session.scalar(sa.select(sa.func.count(LeadPool.id))) == 2
