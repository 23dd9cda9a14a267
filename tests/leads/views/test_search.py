"""The Leads page (issue 17 item 16): the number of results, phones typed in national
format for the campaign's region, partial ids, and keyset paging."""

import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead
from tests.pools.helpers import campaign, pool

HX = {"HX-Request": "true"}


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-testid="lead-(\d+)"', html)]


def _count(html: str) -> str:
    return re.search(r'data-testid="result-count">([^<]*)<', html).group(1)


@pytest.fixture
def regions(app, admin_client):
    """A GB campaign with a GB list, an AU campaign with an AU list, and a US list."""
    uk = campaign(app, "UK Sales", default_region="GB")
    au = campaign(app, "Sydney", default_region="AU")
    us = campaign(app, "US", default_region="US")
    return {
        "uk": uk,
        "au": au,
        "uk_pool": pool(app, "UK list", [{"phone1": "+447958022654", "first_name": "Uma"}], [uk]),
        "au_pool": pool(app, "AU list", [{"phone1": "+61420063844", "first_name": "Abe"}], [au]),
        "us_pool": pool(app, "US list", [{"phone1": "+14155550132", "first_name": "Sam"}], [us]),
    }


def _lead_id(app, first_name):
    with app.app_context():
        return db.session.scalar(
            sa.select(Lead.id)
            .where(Lead.first_name == first_name)
            .execution_options(all_accounts=True)
        )


def test_the_page_says_how_many_leads_it_found(app, admin_client, regions):
    html = admin_client.get("/leads").get_data(as_text=True)
    assert _count(html) == "3 leads"
    html = admin_client.get(f"/leads?pool={regions['uk_pool']}", headers=HX).get_data(as_text=True)
    assert _count(html) == "1 lead"


@pytest.mark.parametrize(
    "q,who,where",
    [
        ("07958 022654", "Uma", "uk"),
        ("07958022654", "Uma", "uk"),
        ("+44 7958 022654", "Uma", None),
        ("0420 063 844", "Abe", "au"),
        ("0420063844", "Abe", "au"),
        ("07958 022654", "Uma", None),  # every campaign's region is tried without a filter
        ("0420 063 844", "Abe", None),
        ("(415) 555-0132", "Sam", None),
    ],
)
def test_a_phone_in_national_format_finds_the_lead_of_the_campaigns_region(
    app, admin_client, regions, q, who, where
):
    args = {"q": q}
    if where:
        args["campaign"] = regions[where]
    html = admin_client.get("/leads", query_string=args).get_data(as_text=True)
    assert _ids(html) == [_lead_id(app, who)]


def test_a_national_number_of_another_region_finds_nothing_in_that_campaign(
    app, admin_client, regions
):
    html = admin_client.get(
        "/leads", query_string={"q": "07958 022654", "campaign": regions["au"]}
    ).get_data(as_text=True)
    assert _ids(html) == [] and _count(html) == "0 leads"


def test_the_start_of_an_id_finds_the_leads_whose_id_starts_so(app, admin_client):
    campaign(app, "Spring")
    pool(app, "Many", [{"first_name": "Lee"}] * 130)
    with app.app_context():
        ids = db.session.scalars(
            sa.select(Lead.id).order_by(Lead.id).execution_options(all_accounts=True)
        ).all()
    # An id from the middle, less its last digit: "7150" of 71503 finds 71500-71509 (those
    # that exist). The last id's could find itself alone (71550 when it ends the range).
    target = str(ids[len(ids) // 2])[:-1]
    expected = sorted((i for i in ids if str(i).startswith(target)), reverse=True)
    html = admin_client.get("/leads", query_string={"q": target}).get_data(as_text=True)
    assert _ids(html) == expected and len(expected) > 1
    html = admin_client.get("/leads", query_string={"q": f"#{ids[5]}"}).get_data(as_text=True)
    assert ids[5] in _ids(html)


def test_keyset_pages_walk_forward_and_back_without_an_offset(app, admin_client):
    campaign(app, "Spring")
    pool(app, "Many", [{"first_name": "Lee"}] * 120)
    with app.app_context():
        ids = db.session.scalars(
            sa.select(Lead.id).order_by(Lead.id.desc()).execution_options(all_accounts=True)
        ).all()
    statements = []

    def seen(conn, cursor, statement, parameters, *args):
        # The page's rows (the bounded result count has its own LIMIT: not a page).
        if "FROM leads" in statement and "LIMIT" in statement and "count(" not in statement:
            statements.append((statement, parameters))

    html = admin_client.get("/leads").get_data(as_text=True)
    assert _ids(html) == ids[:50] and _count(html) == "120 leads"
    next_url = re.search(r'href="([^"]*)"[^>]*data-testid="next-page"', html).group(1)
    assert f"after={ids[49]}" in next_url.replace("&amp;", "&")
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            html = admin_client.get(next_url.replace("&amp;", "&")).get_data(as_text=True)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert _ids(html) == ids[50:100] and "Page 2" in html
    # One range on the primary key; SQLite writes "LIMIT ? OFFSET ?" with an offset of 0.
    assert statements and all("leads.id < " in s for s, _ in statements)
    assert all(p[-1] == 0 for s, p in statements if "OFFSET" in s)
    third = re.search(r'href="([^"]*)"[^>]*data-testid="next-page"', html).group(1)
    html = admin_client.get(third.replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(html) == ids[100:] and 'data-testid="next-page"' not in html
    back = re.search(r'href="([^"]*)"[^>]*data-testid="previous-page"', html).group(1)
    html = admin_client.get(back.replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(html) == ids[50:100]
    back = re.search(r'href="([^"]*)"[^>]*data-testid="previous-page"', html).group(1)
    html = admin_client.get(back.replace("&amp;", "&")).get_data(as_text=True)
    assert _ids(html) == ids[:50] and 'data-testid="previous-page"' not in html
    # An old ?page=N link still answers.
    assert _ids(admin_client.get("/leads?page=2").get_data(as_text=True)) == ids[50:100]


def test_past_a_thousand_the_page_says_1000_plus_and_the_box_says_how_names_are_found(
    app, admin_client
):
    campaign(app, "Spring")
    pool(app, "Big", [{"first_name": "Lee"}] * 1_001)
    html = admin_client.get("/leads").get_data(as_text=True)
    assert _count(html) == "1,000+ leads" and "all 1,000+ found" in html
    assert "start of a name" in html and "Names are found by how they start" in html
    pool(app, "Small", [{"first_name": "Ann"}] * 2)
    assert _count(admin_client.get("/leads?q=an", headers=HX).get_data(as_text=True)) == "2 leads"
