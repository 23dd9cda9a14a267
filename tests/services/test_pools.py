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
        "ready_to_dial": 0,  # as the grid shows it: no campaign dials the pool
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


# ---------------------------------------------------------------------------------------
# Services that change leads keep the counters equal to a full recount.

import datetime as dt  # noqa: E402

import pytest  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

from leadapp.models import Account, Campaign, PoolAssignment, SavedView, User  # noqa: E402
from leadapp.services import pool_grid, saved_views  # noqa: E402
from leadapp.services import pools as pool_service  # noqa: E402
from leadapp.services.accounts import create_campaign, create_user  # noqa: E402


def _stored(pools):
    db.session.expire_all()
    return {
        p.id: {
            "total": p.total_count,
            "open": p.open_count,
            "ready": p.ready_count,
            "closed": p.closed_count,
            "used": p.used_count,
        }
        for p in (db.session.get(LeadPool, p.id) for p in pools)
    }


def _recount(pools):
    zero = {"total": 0, "open": 0, "ready": 0, "closed": 0, "used": 0}
    counts = pool_counts([p.id for p in pools])
    return {p.id: counts.get(p.id, zero) for p in pools}


@pytest.fixture
def acme(app_ctx, make_account):
    account_id = make_account("acme")
    with account_scope(account_id):
        admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
        yield account_id, admin


class StatementCounter:
    """Counts the SQL statements touching ``leads`` while active."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        if "leads" in statement:
            self.statements.append(statement.split()[0].upper())

    def __enter__(self):
        sa.event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa.event.remove(db.engine, "before_cursor_execute", self)


def test_shuffle_is_one_update_and_keeps_counts(acme):
    account_id, admin = acme
    big = _pool_with_leads(account_id, "Big", LEADS * 50)
    small = _pool_with_leads(account_id, "Small", LEADS)
    refresh_counts([big, small])
    with StatementCounter() as counter:
        touched = pool_service.shuffle([big, small], admin)
    assert touched == 408
    assert counter.statements.count("UPDATE") == 1  # set-based, whatever the pool size
    orders = db.session.scalars(sa.select(Lead.dial_order).where(Lead.pool_id == big.id)).all()
    assert len(set(orders)) > 350
    assert _stored([big, small]) == _recount([big, small])


def test_delete_unprocessed_keeps_counts_equal_to_a_recount(acme):
    account_id, admin = acme
    a = _pool_with_leads(account_id, "A", LEADS * 3)
    b = _pool_with_leads(account_id, "B", LEADS)
    untouched = _pool_with_leads(account_id, "C", LEADS)
    refresh_counts([a, b, untouched])
    assert pool_service.unprocessed_count([a, b]) == 16  # call_count 0: 4 of 8 each
    with StatementCounter() as counter:
        deleted = pool_service.delete_unprocessed([a, b], admin)
    assert deleted == 16
    assert counter.statements.count("DELETE") == 1
    assert _stored([a, b, untouched]) == _recount([a, b, untouched])
    assert _stored([a])[a.id] == {"total": 12, "open": 6, "ready": 3, "closed": 3, "used": 12}
    assert _stored([untouched])[untouched.id]["total"] == 8
    assert pool_service.unprocessed_count([a, b]) == 0


def test_delete_unprocessed_refuses_the_system_pool(acme):
    account_id, admin = acme
    system = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
    db.session.add(Lead(account_id=account_id, pool_id=system.id, phone1="+12125550100"))
    db.session.flush()
    assert pool_service.unprocessed_count([system]) == 0  # never offered
    with pytest.raises(pool_service.PoolError, match="keeps its leads"):
        pool_service.delete_unprocessed([system], admin)
    assert db.session.scalar(sa.select(sa.func.count(Lead.id))) == 1


def test_reset_keeps_counts_equal_to_a_recount(acme):
    account_id, admin = acme
    pool = _pool_with_leads(account_id, "Mixed", LEADS)
    refresh_counts([pool])
    assert pool_service.reopenable_count(pool) == 3
    assert pool_service.reset_pool(pool, admin) == 3
    assert _stored([pool]) == _recount([pool])
    statuses = db.session.scalars(sa.select(Lead.status).where(Lead.completed.is_(True))).all()
    assert statuses == []


def test_set_status_is_audited_and_skips_the_system_pool(acme):
    account_id, admin = acme
    pool = _pool_with_leads(account_id, "Mine", [])
    system = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
    assert pool_service.set_status([pool, system], "active", admin) == (0, ["Inactive"])
    assert pool_service.set_status([pool, system], "inactive", admin) == (1, [])
    assert (pool.status, pool.modified_by_id) == ("inactive", admin.id)
    with pytest.raises(pool_service.PoolError):
        pool_service.set_status([pool], "paused", admin)


# ---------------------------------------------------------------------------------------
# Ready to dial as shown, and callable now in the leads' local calling window


def test_ready_shown_needs_active_today_and_a_to_dial_assignment(acme):
    account_id, _admin = acme
    account = db.session.get(Account, account_id)
    sales = create_campaign(account, "Sales")
    today = dt.date(2026, 6, 15)
    cases = {
        "ok": ({}, True, True),
        "not to dial": ({}, True, False),
        "unassigned": ({}, False, False),
        "inactive": ({"status": "inactive"}, True, True),
        "ended": ({"active_until": dt.date(2026, 6, 14)}, True, True),
        "ends today": ({"active_until": today}, True, True),
        "starts tomorrow": ({"active_from": dt.date(2026, 6, 16)}, True, True),
        "started today": ({"active_from": today}, True, True),
    }
    ids = {}
    for name, (fields, assigned, to_dial) in cases.items():
        pool = _pool_with_leads(account_id, name, LEADS)
        for key, value in fields.items():
            setattr(pool, key, value)
        if assigned:
            db.session.add(
                PoolAssignment(
                    account_id=account_id, pool_id=pool.id, campaign_id=sales.id, to_dial=to_dial
                )
            )
        refresh_counts([pool])
        ids[name] = pool.id
    shown = dict(
        db.session.execute(
            sa.select(LeadPool.name, pool_grid.ready_shown(today)).where(
                LeadPool.id.in_(ids.values())
            )
        ).all()
    )
    assert shown == {
        "ok": 2, "not to dial": 0, "unassigned": 0, "inactive": 0, "ended": 0,
        "ends today": 2, "starts tomorrow": 0, "started today": 2,
    }  # fmt: skip


def test_callable_now_groups_by_time_zone(acme):
    account_id, _admin = acme
    zones = ["America/New_York"] * 3 + ["America/Los_Angeles"] * 2 + ["Australia/Sydney", None]
    pool = _pool_with_leads(account_id, "Zones", [("open", False, False, 0)] * len(zones))
    for lead, zone in zip(
        db.session.scalars(sa.select(Lead).where(Lead.pool_id == pool.id).order_by(Lead.id)),
        zones,
        strict=True,
    ):
        lead.timezone = zone
    # One not ready lead in New York does not count.
    db.session.add(
        Lead(
            account_id=account_id,
            pool_id=pool.id,
            phone1="+12125559999",
            timezone="America/New_York",
            do_not_call=True,
        )
    )
    db.session.flush()
    campaign = Campaign(
        account_id=account_id, project_id=0, name="C", api_code="C",
        timezone="America/Chicago", window_start=dt.time(8), window_end=dt.time(21),
    )  # fmt: skip
    # 2026-06-15 16:00 UTC: New York 12:00, Los Angeles 09:00, Chicago 11:00, Sydney 02:00
    now = dt.datetime(2026, 6, 15, 16, 0)
    assert pool_grid.callable_now({pool.id: [campaign]}, now) == {pool.id: 6}
    # 2026-06-16 03:30 UTC: New York 23:30, Los Angeles 20:30, Chicago 22:30, Sydney 13:30
    now = dt.datetime(2026, 6, 16, 3, 30)
    assert pool_grid.callable_now({pool.id: [campaign]}, now) == {pool.id: 3}
    with StatementCounter() as counter:
        pool_grid.callable_now({pool.id: [campaign]}, now)
    # The pools' stored ready leads per zone key, then one count of those waiting for a time
    # (calling hours per key): no read of every lead.
    assert counter.statements == ["SELECT", "SELECT"]


# ---------------------------------------------------------------------------------------
# Grid filters and saved views


def test_grid_filters_from_args_are_whitelisted_and_round_trip():
    f = pool_grid.GridFilters.from_args(
        MultiDict(
            [("q", "  spring "), ("status", "weird"), ("project", "3"), ("project", "x"),
             ("campaign", "2"), ("sort", "name; drop table"), ("dir", "up"),
             ("col", "duplicates"), ("col", "password"), ("col", "invalid"), ("page", "-4")]
        )
    )  # fmt: skip
    assert f.to_dict() == {
        "q": "spring", "status": "all", "projects": [3], "campaigns": [2],
        "sort": "uploaded", "dir": "desc", "cols": ["invalid", "duplicates"],
    }  # fmt: skip
    assert f.page == 1
    assert pool_grid.GridFilters.from_dict(f.to_dict()) == f
    assert pool_grid.GridFilters.from_dict({}) == pool_grid.GridFilters()


def test_saved_views_belong_to_their_owner(acme):
    account_id, admin = acme
    account = db.session.get(Account, account_id)
    sup = create_user(account, "sup@acme.test", "Sup", "correct horse battery")
    f = pool_grid.GridFilters(q="spring")
    view = saved_views.save_view(admin, "Spring", f)
    assert saved_views.visible_views(sup) == ([], [])
    with pytest.raises(pool_service.NotYours):
        saved_views.set_shared(sup, view, True)
    saved_views.set_shared(admin, view, True)
    assert saved_views.visible_views(sup) == ([], [view])
    for change in (
        lambda: saved_views.set_starred(sup, view, True),
        lambda: saved_views.delete_view(sup, view),
        lambda: saved_views.set_shared(sup, view, False),
    ):
        with pytest.raises(pool_service.NotYours):
            change()
    copy = saved_views.copy_view(sup, view)
    saved_views.set_starred(sup, copy, True)
    assert saved_views.default_view(sup) == copy and saved_views.default_view(admin) is None
    with pytest.raises(pool_service.PoolError, match="Give the view a name"):
        saved_views.save_view(admin, " ", f)
    with pytest.raises(pool_service.PoolError, match="at most 120"):
        saved_views.save_view(admin, "x" * 121, f)
    assert db.session.scalar(sa.select(sa.func.count(SavedView.id))) == 2


# ---------------------------------------------------------------------------------------
# Dial order (file order until Shuffle) and the day offset / day count (issue 17, 13-14)


def test_shuffle_numbers_each_pool_with_a_random_permutation_of_its_positions(acme):
    account_id, admin = acme
    big = _pool_with_leads(account_id, "Big", LEADS * 50)
    small = _pool_with_leads(account_id, "Small", LEADS)
    pool_service.shuffle([big, small], admin)
    for pool, size in ((big, 400), (small, 8)):
        orders = db.session.scalars(
            sa.select(Lead.dial_order).where(Lead.pool_id == pool.id).order_by(Lead.id)
        ).all()
        assert sorted(orders) == list(range(size))  # every position once: dense
        assert pool.dial_order_next == size
    big_orders = db.session.scalars(
        sa.select(Lead.dial_order).where(Lead.pool_id == big.id).order_by(Lead.id)
    ).all()
    assert big_orders != list(range(400))  # no longer file order


def test_reserved_positions_follow_each_other_and_a_new_lead_takes_the_next(acme):
    account_id, _admin = acme
    pool = LeadPool(account_id=account_id, name="Spring")
    db.session.add(pool)
    db.session.flush()
    assert pool_service.reserve_dial_orders(pool, 3) == 0
    assert pool_service.reserve_dial_orders(pool, 2) == 3
    db.session.expire_all()
    assert db.session.get(LeadPool, pool.id).dial_order_next == 5
