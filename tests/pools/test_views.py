"""The lead-pool grid: stored counts, "ready to dial" rules, filters, sorting, paging, extra
KPI columns, saved views, bulk actions and their htmx partials."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import AuditLog, Campaign, Import, Lead, LeadPool, SavedView
from leadapp.security import account_scope
from tests.conftest import csrf_from, login
from tests.pools.helpers import (
    HX,
    account_id_of,
    campaign,
    grid_order,
    grid_rows,
    lead_rows,
    pool,
    stored_and_recounted,
)

# status, completed, do_not_call, call_count -> counted as in tests/services/test_pools.py
MIXED = [
    {},  # ready
    {"call_count": 2},  # ready, used
    {"completed": True, "call_count": 1},  # open, not ready, used
    {"do_not_call": True},  # open, not ready
    {"phone1": None},  # open, no valid phone: not ready
    {"status": "closed", "call_count": 3},  # closed, used
    {"status": "closed", "completed": True},  # closed
    {"status": "removed"},
]


@pytest.fixture
def world(app, admin_client):
    sales = campaign(app, "Spring Sales", project="Outbound")
    survey = campaign(app, "Survey", project="Research")
    yesterday = dt.date.today() - dt.timedelta(days=3)
    return {
        "sales": sales,
        "survey": survey,
        "mixed": pool(app, "Mixed", MIXED, campaigns=[sales], invalid_count=7),
        "survey_pool": pool(app, "Survey list", [{}] * 3, campaigns=[survey]),
        "not_to_dial": pool(app, "Parked", [{}] * 4, campaigns=[sales], to_dial=False),
        "unassigned": pool(app, "Loose", [{}] * 5),
        "expired": pool(app, "Expired", [{}] * 6, campaigns=[sales], active_until=yesterday),
        "future": pool(
            app,
            "Future",
            [{}] * 2,
            campaigns=[sales],
            active_from=dt.date.today() + dt.timedelta(days=5),
        ),
        "off": pool(app, "Switched off", [{}] * 9, campaigns=[sales], status="inactive"),
    }


def post(client, path, data=None, **kw):
    token = csrf_from(client, "/pools?status=all")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kw)


def test_grid_columns_and_stored_counts(admin_client, world):
    rows = grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))
    assert set(rows) == {
        "Mixed", "Survey list", "Parked", "Loose", "Expired", "Future", "Switched off", "Inactive",
    }  # fmt: skip
    # name, project, campaigns, ready, open, % closed, % used, total, uploaded, status
    mixed = rows["Mixed"]
    assert mixed[:8] == ["Mixed", "Outbound", "Spring Sales", "2", "5", "25.0", "37.5", "8"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", mixed[8])
    assert mixed[9] == "Active"
    assert rows["Survey list"][1:4] == ["Research", "Survey", "3"]
    assert rows["Inactive"][0] == "Inactive system" and rows["Inactive"][9] == "Inactive"


def test_ready_to_dial_only_when_active_today_and_assigned_to_dial(admin_client, world):
    rows = grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))
    ready = {name: cells[3] for name, cells in rows.items()}
    assert ready == {
        "Mixed": "2",
        "Survey list": "3",
        "Parked": "0",  # assigned, but not to dial
        "Loose": "0",  # not assigned
        "Expired": "0",  # active period over
        "Future": "0",  # active period not begun
        "Switched off": "0",  # inactive
        "Inactive": "0",
    }
    # The stored counter is still the leads' own readiness.
    stored, _ = stored_and_recounted(admin_client.application, [world["off"], world["unassigned"]])
    assert stored[world["off"]]["ready"] == 9 and stored[world["unassigned"]]["ready"] == 5


def test_search_filters_by_name_case_insensitively(admin_client, world):
    assert set(grid_rows(admin_client.get("/pools?q=MIX").get_data(as_text=True))) == {"Mixed"}
    html = admin_client.get("/pools?q=nothing-like-this").get_data(as_text=True)
    assert grid_rows(html) == {}
    assert "No lead pools match “nothing-like-this”." in html


def test_search_treats_percent_and_underscore_literally(app, admin_client):
    pool(app, "Top 10% buyers")
    pool(app, "a_b list")
    pool(app, "axb list")
    assert set(grid_rows(admin_client.get("/pools?q=10%25").get_data(as_text=True))) == {
        "Top 10% buyers"
    }
    assert set(grid_rows(admin_client.get("/pools?q=%25").get_data(as_text=True))) == {
        "Top 10% buyers"
    }
    assert set(grid_rows(admin_client.get("/pools?q=_").get_data(as_text=True))) == {"a_b list"}


def test_status_project_and_campaign_filters(app, admin_client, world):
    active = grid_rows(admin_client.get("/pools?status=active").get_data(as_text=True))
    assert "Switched off" not in active and "Inactive" not in active and "Mixed" in active
    inactive = grid_rows(admin_client.get("/pools?status=inactive").get_data(as_text=True))
    assert set(inactive) == {"Switched off", "Inactive"}
    research = grid_rows(
        admin_client.get(f"/pools?project={_project_id(app, world['survey'])}").get_data(
            as_text=True
        )
    )
    assert set(research) == {"Survey list"}
    sales = grid_rows(admin_client.get(f"/pools?campaign={world['sales']}").get_data(as_text=True))
    assert set(sales) == {"Mixed", "Parked", "Expired", "Future", "Switched off"}
    both = admin_client.get(f"/pools?campaign={world['sales']}&campaign={world['survey']}&q=i")
    assert set(grid_rows(both.get_data(as_text=True))) == {
        "Mixed", "Survey list", "Expired", "Switched off",
    }  # fmt: skip
    combined = admin_client.get(f"/pools?campaign={world['sales']}&status=inactive")
    assert set(grid_rows(combined.get_data(as_text=True))) == {"Switched off"}


def _project_id(app, campaign_id):
    with app.app_context():
        return db.session.get(Campaign, campaign_id).project_id


@pytest.mark.parametrize(
    "sort,expected",
    [
        ("total", ["Inactive", "Future", "Survey list", "Parked", "Loose", "Expired", "Mixed",
                   "Switched off"]),
        ("name", ["Expired", "Future", "Inactive", "Loose", "Mixed", "Parked", "Survey list",
                  "Switched off"]),
        ("ready", None),
        ("open", None),
        ("closed_pct", None),
        ("used_pct", None),
        ("uploaded", None),
        ("status", None),
        ("project", None),
        ("campaigns", None),
        ("invalid", None),
        ("duplicates", None),
        ("last_activity", None),
    ],
)  # fmt: skip
def test_sort_by_any_column(app, admin_client, world, sort, expected):
    up = grid_order(
        admin_client.get(f"/pools?status=all&sort={sort}&dir=asc").get_data(as_text=True)
    )
    down = grid_order(
        admin_client.get(f"/pools?status=all&sort={sort}&dir=desc").get_data(as_text=True)
    )
    assert len(up) == 8 and sorted(up) == sorted(down)
    if expected:
        assert up == expected
    if sort == "ready":
        assert up[-2:] == ["Mixed", "Survey list"] and down[:2] == ["Survey list", "Mixed"]
    if sort == "closed_pct":
        assert down[0] == "Mixed"
    if sort == "invalid":
        assert down[0] == "Mixed"
    if sort in ("campaigns", "project"):  # pools without a campaign come last either way
        assert set(up[-2:]) == set(down[-2:]) == {"Loose", "Inactive"}
        assert (up[5], down[0]) == ("Survey list", "Survey list")


def test_unknown_sort_and_direction_fall_back_safely(admin_client, world):
    for args in ("sort=pool_id;drop", "sort=name&dir=sideways", "sort=callable", "page=abc"):
        response = admin_client.get(f"/pools?status=all&{args}")
        assert response.status_code == 200, args
        assert len(grid_rows(response.get_data(as_text=True))) == 8


def test_server_side_paging(app, admin_client):
    for i in range(30):
        pool(app, f"Pool {i:02d}")
    first = admin_client.get("/pools?status=all&sort=name&dir=asc").get_data(as_text=True)
    assert len(grid_rows(first)) == 25
    assert "31 pools · page 1 of 2" in first
    second = admin_client.get("/pools?status=all&sort=name&dir=asc&page=2").get_data(as_text=True)
    names = grid_order(second)
    assert names == ["Pool 24", "Pool 25", "Pool 26", "Pool 27", "Pool 28", "Pool 29"]
    assert 'data-testid="page-previous"' in second and 'data-testid="page-next"' not in second
    # Beyond the last page shows the last page.
    assert (
        grid_order(admin_client.get("/pools?status=all&sort=name&page=99").get_data(as_text=True))
        == names
    )


def test_extra_kpi_columns(app, admin_client, world):
    now = dt.datetime(2026, 1, 2, 3, 4)
    with app.app_context(), account_scope(account_id_of()):
        db.session.add(
            Import(
                account_id=account_id_of(), pool_id=world["mixed"], status="completed",
                counts={"duplicates_in_file": 4, "duplicates_existing": 3},
            )
        )  # fmt: skip
        db.session.add(
            Import(
                account_id=account_id_of(),
                pool_id=world["mixed"],
                counts={"duplicates_in_file": 1},
            )
        )
        lead = db.session.scalar(sa.select(Lead).where(Lead.pool_id == world["mixed"]).limit(1))
        lead.last_called_at = now
        db.session.commit()
    html = admin_client.get(
        "/pools?status=all&col=invalid&col=duplicates&col=last_activity&col=callable"
    ).get_data(as_text=True)
    assert "Invalid in upload" in html and "Duplicates found" in html
    assert "Callable now" in html and "Last activity" in html
    mixed = grid_rows(html)["Mixed"]
    assert mixed[10:12] == ["7", "8"]
    assert mixed[12] in ("0", "1", "2")  # depends on the clock; the service test pins it
    assert mixed[13].startswith("2026-01-0")
    assert grid_rows(html)["Loose"][10:14] == ["0", "0", "0", "—"]
    # Without the menu, the columns are not there.
    plain = admin_client.get("/pools?status=all").get_data(as_text=True)
    assert 'data-testid="sort-duplicates"' not in plain and len(grid_rows(plain)["Mixed"]) == 10


def test_htmx_request_gets_only_the_partial_and_the_page_includes_it(admin_client, world):
    partial = admin_client.get("/pools?q=mixed", headers=HX)
    assert partial.status_code == 200
    body = partial.get_data(as_text=True)
    assert "<html" not in body and '<nav class="navbar' not in body
    assert body.lstrip().startswith('<div id="pool-grid"')
    assert "Mixed" in body and "Survey list" not in body
    page = admin_client.get("/pools?q=mixed").get_data(as_text=True)
    assert "<html" in page

    def same_token(html):  # a CSRF token carries the second it was signed
        return re.sub(r'(name="csrf_token" value=)"[^"]*"', r"\1", html)

    assert same_token(body.strip()) in same_token(page)
    assert 'value="mixed"' in page  # the search box keeps the query


def test_history_restore_gets_the_whole_page(admin_client, world):
    html = admin_client.get(
        "/pools", headers={**HX, "HX-History-Restore-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" in html


def test_pool_names_are_escaped(app, admin_client):
    pool_id = pool(app, "<script>x</script>")
    for path in ("/pools", f"/pools/{pool_id}"):
        html = admin_client.get(path).get_data(as_text=True)
        assert "<script>x</script>" not in html, path
        assert "&lt;script&gt;x&lt;/script&gt;" in html, path
    html = admin_client.get("/pools?q=<b>bold</b>", headers=HX).get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_new_starts_the_import_wizard(admin_client):
    html = admin_client.get("/pools").get_data(as_text=True)
    assert re.search(r'href="/imports/new"[^>]*data-testid="new-pool"', html)


# ---------------------------------------------------------------------------------------
# Saved views


def _views(app):
    with app.app_context():
        return {
            v.name: v
            for v in db.session.scalars(sa.select(SavedView).execution_options(all_accounts=True))
        }


def test_save_star_and_the_default_view_opens_first(app, admin_client, world):
    response = post(
        admin_client,
        "/pools/views",
        {
            "name": "Sales only",
            "grid_query": f"campaign={world['sales']}&status=active&sort=total&dir=desc"
            "&col=invalid",
        },
    )
    assert response.status_code == 302
    view = _views(app)["Sales only"]
    assert view.filters == {
        "q": "", "status": "active", "projects": [], "campaigns": [world["sales"]],
        "sort": "total", "dir": "desc", "cols": ["invalid"],
    }  # fmt: skip
    assert response.headers["Location"].endswith(f"/pools?view={view.id}")
    applied = admin_client.get(f"/pools?view={view.id}").get_data(as_text=True)
    assert grid_order(applied) == ["Mixed", "Expired", "Parked", "Future"]
    # Not starred yet: the grid without arguments shows everything.
    assert len(grid_rows(admin_client.get("/pools").get_data(as_text=True))) == 8
    assert post(admin_client, f"/pools/views/{view.id}/star", {"starred": "1"}).status_code == 302
    html = admin_client.get("/pools").get_data(as_text=True)
    assert grid_order(html) == ["Mixed", "Expired", "Parked", "Future"]
    assert "Invalid in upload" in html and 'data-testid="active-view"' in html
    # Explicit arguments still win over the default.
    assert len(grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))) == 8
    # Starring another view unstars the first: one default per user.
    post(admin_client, "/pools/views", {"name": "Research", "grid_query": "q=survey"})
    other = _views(app)["Research"]
    post(admin_client, f"/pools/views/{other.id}/star", {"starred": "1"})
    views = _views(app)
    assert (views["Sales only"].starred, views["Research"].starred) == (False, True)
    assert grid_order(admin_client.get("/pools").get_data(as_text=True)) == ["Survey list"]
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditLog.action)
            .where(AuditLog.object_type == "SavedView")
            .order_by(AuditLog.id)
        ).all()
    assert actions == ["view.saved", "view.starred", "view.saved", "view.starred"]


def test_a_view_needs_a_name(app, admin_client, world):
    response = post(
        admin_client, "/pools/views", {"name": "  ", "grid_query": "q=x"}, follow_redirects=True
    )
    assert "Give the view a name." in response.get_data(as_text=True)
    assert _views(app) == {}


def test_shared_views_are_seen_but_not_changed_by_others(
    app, client, admin_client, make_user, world
):
    post(admin_client, "/pools/views", {"name": "Team view", "grid_query": "q=mix"})
    view = _views(app)["Team view"]
    with app.app_context():
        account_id = account_id_of()
    make_user(account_id, "sup@acme.test")
    other = app.test_client()
    assert login(other, "sup@acme.test").status_code == 302
    # Not shared yet: invisible to a colleague.
    assert other.get(f"/pools?view={view.id}").status_code == 404
    assert "Team view" not in other.get("/pools").get_data(as_text=True)
    post(admin_client, f"/pools/views/{view.id}/share", {"shared": "1"})
    html = other.get("/pools").get_data(as_text=True)
    assert "Shared with the account" in html and "Team view" in html
    assert re.search(r"Team view <span[^>]*>by Administrator</span>", html)
    shown = other.get(f"/pools?view={view.id}").get_data(as_text=True)
    assert "shared by Administrator (read-only)" in shown
    assert 'data-testid="star-view"' not in shown and 'data-testid="copy-view"' in shown
    assert grid_order(other.get(f"/pools?view={view.id}").get_data(as_text=True)) == ["Mixed"]
    for action, data in (("star", {"starred": "1"}), ("share", {"shared": "0"}), ("delete", {})):
        assert post(other, f"/pools/views/{view.id}/{action}", data).status_code == 403, action
    assert _views(app)["Team view"].shared is True
    # A copy is theirs to change.
    assert post(other, f"/pools/views/{view.id}/copy").status_code == 302
    copy = _views(app)["Copy of Team view"]
    assert copy.user_id != view.user_id and copy.filters == view.filters and not copy.shared
    assert post(other, f"/pools/views/{copy.id}/star", {"starred": "1"}).status_code == 302
    assert grid_order(other.get("/pools").get_data(as_text=True)) == ["Mixed"]
    # The owner's own default is untouched, and deleting works for the owner.
    assert len(grid_rows(admin_client.get("/pools").get_data(as_text=True))) == 8
    assert post(admin_client, f"/pools/views/{view.id}/delete").status_code == 302
    assert "Team view" not in _views(app)


def test_views_of_another_account_are_404(app, admin_client, client, make_account, world):
    post(admin_client, "/pools/views", {"name": "Acme view", "grid_query": "q=mix"})
    view = _views(app)["Acme view"]
    post(admin_client, f"/pools/views/{view.id}/share", {"shared": "1"})
    make_account("globex")
    stranger = app.test_client()
    login(stranger, "admin@globex.test")
    assert stranger.get(f"/pools?view={view.id}").status_code == 404
    assert post(stranger, f"/pools/views/{view.id}/copy").status_code == 404
    assert "Acme view" not in stranger.get("/pools").get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# Bulk actions


def _pool_rows(app, *ids):
    with app.app_context():
        return {
            p.id: p
            for p in db.session.scalars(
                sa.select(LeadPool).where(LeadPool.id.in_(ids)).execution_options(all_accounts=True)
            )
        }


def _audit(app, action):
    with app.app_context():
        return sorted(
            db.session.scalars(sa.select(AuditLog.object_id).where(AuditLog.action == action)).all()
        )


def test_bulk_deactivate_and_activate(app, admin_client, world):
    ids = [world["mixed"], world["survey_pool"]]
    response = post(
        admin_client, "/pools/bulk",
        {"action": "deactivate", "pool_ids": ids, "grid_query": "q=s&sort=name"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/pools?q=s&sort=name")
    pools = _pool_rows(app, *ids)
    assert {p.status for p in pools.values()} == {"inactive"}
    assert all(p.modified_by_id is not None for p in pools.values())
    assert _audit(app, "pool.deactivated") == sorted(ids)
    rows = grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))
    assert rows["Mixed"][3] == "0" and rows["Mixed"][9] == "Inactive"
    post(admin_client, "/pools/bulk", {"action": "activate", "pool_ids": ids})
    assert {p.status for p in _pool_rows(app, *ids).values()} == {"active"}
    assert (
        grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))["Mixed"][3] == "2"
    )


def test_the_system_pool_stays_inactive(app, admin_client, world):
    with app.app_context():
        system = db.session.scalar(sa.select(LeadPool.id).where(LeadPool.is_system.is_(True)))
    response = post(
        admin_client, "/pools/bulk", {"action": "activate", "pool_ids": [system, world["off"]]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Inactive is the system pool and stays inactive." in response.get_data(as_text=True)
    pools = _pool_rows(app, system, world["off"])
    assert (pools[system].status, pools[world["off"]].status) == ("inactive", "active")


def test_bulk_shuffle_randomises_dial_order_and_keeps_counts(app, admin_client):
    big = pool(app, "Big", [{"dial_order": i} for i in range(300)])
    other = pool(app, "Other", [{"dial_order": 7}] * 5)
    before = [o for (o,) in lead_rows(app, big, "dial_order")]
    assert (
        post(admin_client, "/pools/bulk", {"action": "shuffle", "pool_ids": [big]}).status_code
        == 302
    )
    after = [o for (o,) in lead_rows(app, big, "dial_order")]
    assert after != before and len(set(after)) > 250  # random, nearly all distinct
    assert all(0 <= o < 2**31 for o in after)
    assert [o for (o,) in lead_rows(app, other, "dial_order")] == [7] * 5  # untouched
    stored, recount = stored_and_recounted(app, [big, other])
    assert stored == recount and stored[big]["total"] == 300
    assert _audit(app, "pool.shuffled") == [big]


def test_bulk_delete_confirmation_names_the_count_then_deletes_unprocessed(
    app, admin_client, world
):
    leads = [{"call_count": 0}] * 6 + [{"call_count": 2, "status": "closed"}] * 3
    a = pool(app, "A", leads)
    b = pool(app, "B", [{"call_count": 0}] * 4 + [{"call_count": 1}])
    html = post(
        admin_client, "/pools/bulk/confirm-delete", {"pool_ids": [a, b]}, headers=HX
    ).get_data(as_text=True)
    assert "Delete <strong>10</strong> never-called leads from 2 pools (A, B)?" in html
    assert html.count('name="pool_ids"') == 2
    # Nothing is deleted by asking.
    assert len(lead_rows(app, a, "id")) == 9
    response = post(
        admin_client, "/pools/bulk", {"action": "delete", "pool_ids": [a, b]}, follow_redirects=True
    )
    assert "Deleted 10 unprocessed leads from 2 pool(s)." in response.get_data(as_text=True)
    assert lead_rows(app, a, "call_count") == [(2,)] * 3
    assert lead_rows(app, b, "call_count") == [(1,)]
    stored, recount = stored_and_recounted(app, [a, b, world["mixed"]])
    assert stored == recount
    assert stored[a] == {"total": 3, "open": 0, "ready": 0, "closed": 3, "used": 3}
    assert stored[b]["total"] == 1
    rows = grid_rows(admin_client.get("/pools?status=all").get_data(as_text=True))
    assert rows["A"][7] == "3" and rows["B"][7] == "1"
    with app.app_context():
        entries = db.session.execute(
            sa.select(AuditLog.object_id, AuditLog.details).where(
                AuditLog.action == "pool.unprocessed_deleted"
            )
        ).all()
    assert sorted((i, d["leads"]) for i, d in entries) == sorted([(a, 6), (b, 4)])


def test_the_system_pool_never_loses_leads(app, admin_client, world):
    with app.app_context():
        account_id = account_id_of()
        with account_scope(account_id):
            system = db.session.scalar(sa.select(LeadPool).where(LeadPool.is_system.is_(True)))
            db.session.add(Lead(account_id=account_id, pool_id=system.id, phone1="+12125550100"))
            db.session.commit()
            system_id = system.id
    html = post(
        admin_client,
        "/pools/bulk/confirm-delete",
        {"pool_ids": [system_id, world["unassigned"]]},
        headers=HX,
    ).get_data(as_text=True)
    assert "Inactive is the system pool: its leads cannot be deleted." in html
    assert 'data-testid="confirm-delete-button"' not in html
    both = [system_id, world["unassigned"]]
    response = post(
        admin_client, "/pools/bulk", {"action": "delete", "pool_ids": both}, follow_redirects=True
    )
    assert "keeps its leads" in response.get_data(as_text=True)
    assert len(lead_rows(app, system_id, "id")) == 1
    assert len(lead_rows(app, world["unassigned"], "id")) == 5  # all or nothing


def test_bulk_needs_checked_pools_a_known_action_and_csrf(app, admin_client, world):
    response = post(admin_client, "/pools/bulk", {"action": "shuffle"}, follow_redirects=True)
    assert "Check at least one pool first." in response.get_data(as_text=True)
    assert (
        post(
            admin_client, "/pools/bulk", {"action": "explode", "pool_ids": [world["mixed"]]}
        ).status_code
        == 400
    )
    no_token = admin_client.post(
        "/pools/bulk", data={"action": "deactivate", "pool_ids": [world["mixed"]]}
    )
    assert no_token.status_code == 400
    assert _pool_rows(app, world["mixed"])[world["mixed"]].status == "active"


def test_bulk_ignores_another_accounts_pools(app, admin_client, make_account, world):
    make_account("globex")
    theirs = pool(app, "Theirs", [{}] * 3, account_email="admin@globex.test")
    post(admin_client, "/pools/bulk", {"action": "delete", "pool_ids": [theirs]})
    post(admin_client, "/pools/bulk", {"action": "deactivate", "pool_ids": [theirs]})
    assert len(lead_rows(app, theirs, "id")) == 3
    assert _pool_rows(app, theirs)[theirs].status == "active"


def test_bulk_actions_need_a_login(app, world):
    anonymous = app.test_client()
    token = csrf_from(anonymous, "/login")
    response = anonymous.post(
        "/pools/bulk",
        data={"csrf_token": token, "action": "deactivate", "pool_ids": [world["mixed"]]},
    )
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _pool_rows(app, world["mixed"])[world["mixed"]].status == "active"
