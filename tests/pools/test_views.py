"""The lead-pool grid: stored counts, search, status filter, and its htmx partial."""

import re

import pytest

from leadapp.extensions import db
from leadapp.models import LeadPool, User
from leadapp.security import account_scope

HX = {"HX-Request": "true"}


def _pool(app, name, **fields):
    with app.app_context():
        account_id = db.session.query(User.account_id).filter_by(email="admin@acme.test").scalar()
        with account_scope(account_id):
            pool = LeadPool(name=name, **fields)
            db.session.add(pool)
            db.session.commit()
            return pool.id


def _rows(html):
    """Pool name -> the texts of its row's cells."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", " ", c).split()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        if cells:
            name = re.search(r'<a href="/pools/\d+">(.*?)</a>', row).group(1)
            rows[name] = [" ".join(c) for c in cells]
    return rows


@pytest.fixture
def pools(app, admin_client):
    return {
        "spring": _pool(
            app,
            "Spring prospects",
            total_count=1200,
            open_count=900,
            ready_count=850,
            closed_count=300,
            used_count=600,
            invalid_count=7,
        ),
        "autumn": _pool(app, "Autumn renewals", status="inactive", total_count=40, open_count=40),
    }


def test_grid_lists_pools_with_their_stored_counts(admin_client, pools):
    html = admin_client.get("/pools").get_data(as_text=True)
    rows = _rows(html)
    assert set(rows) == {"Spring prospects", "Autumn renewals", "Inactive"}
    # Pool, status, ready, open, % closed, % used, total, invalid, uploaded
    assert rows["Spring prospects"][1:8] == ["active", "850", "900", "25.0", "50.0", "1,200", "7"]
    assert rows["Autumn renewals"][1:8] == ["inactive", "0", "40", "0.0", "0.0", "40", "0"]
    assert rows["Inactive"][0] == "Inactive system"
    assert f'href="/pools/{pools["spring"]}"' in html


def test_search_filters_by_name_case_insensitively(admin_client, pools):
    rows = _rows(admin_client.get("/pools?q=SPRING").get_data(as_text=True))
    assert set(rows) == {"Spring prospects"}
    html = admin_client.get("/pools?q=nothing-like-this").get_data(as_text=True)
    assert _rows(html) == {}
    assert "No lead pools match “nothing-like-this”." in html


def test_search_treats_percent_and_underscore_literally(app, admin_client, pools):
    _pool(app, "Top 10% buyers")
    _pool(app, "a_b list")
    assert set(_rows(admin_client.get("/pools?q=10%25").get_data(as_text=True))) == {
        "Top 10% buyers"
    }
    assert set(_rows(admin_client.get("/pools?q=%25").get_data(as_text=True))) == {"Top 10% buyers"}
    assert set(_rows(admin_client.get("/pools?q=_").get_data(as_text=True))) == {"a_b list"}


def test_status_filter(admin_client, pools):
    active = _rows(admin_client.get("/pools?status=active").get_data(as_text=True))
    assert set(active) == {"Spring prospects"}
    inactive = _rows(admin_client.get("/pools?status=inactive").get_data(as_text=True))
    assert set(inactive) == {"Autumn renewals", "Inactive"}
    everything = _rows(admin_client.get("/pools?status=all").get_data(as_text=True))
    assert len(everything) == 3
    both = _rows(admin_client.get("/pools?status=inactive&q=autumn").get_data(as_text=True))
    assert set(both) == {"Autumn renewals"}


def test_htmx_request_gets_only_the_partial_and_the_page_includes_it(admin_client, pools):
    partial = admin_client.get("/pools?q=spring", headers=HX)
    assert partial.status_code == 200
    body = partial.get_data(as_text=True)
    assert "<html" not in body and "<nav" not in body
    assert body.lstrip().startswith('<div id="pool-grid"')
    assert "Spring prospects" in body and "Autumn renewals" not in body
    page = admin_client.get("/pools?q=spring").get_data(as_text=True)
    assert "<html" in page
    assert body.strip() in page
    assert 'value="spring"' in page  # the search box keeps the query


def test_history_restore_gets_the_whole_page(admin_client, pools):
    html = admin_client.get(
        "/pools", headers={**HX, "HX-History-Restore-Request": "true"}
    ).get_data(as_text=True)
    assert "<html" in html


def test_pool_names_are_escaped(app, admin_client, pools):
    pool_id = _pool(app, "<script>x</script>")
    for path in ("/pools", f"/pools/{pool_id}"):
        html = admin_client.get(path).get_data(as_text=True)
        assert "<script>x</script>" not in html, path
        assert "&lt;script&gt;x&lt;/script&gt;" in html, path
    html = admin_client.get("/pools?q=<b>bold</b>", headers=HX).get_data(as_text=True)
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_pool_page_shows_its_counts(admin_client, pools):
    html = admin_client.get(f"/pools/{pools['spring']}").get_data(as_text=True)
    assert "Spring prospects" in html and "1,200" in html and "850" in html
    assert admin_client.get("/pools/999999").status_code == 404
