"""The Leads page in a real browser (issue 17 item 16, issue 19): a phone typed in national
format finds the lead of a GB or an AU campaign, a name is found by how it starts (the
search box says so), the page says how many leads it found, and checked leads are marked
do-not-call in bulk."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Lead
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in
from tests.pools.helpers import campaign, pool


def setup(app, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sue@acme.test")
    uk = campaign(app, "UK Sales", default_region="GB")
    au = campaign(app, "Sydney", default_region="AU")
    pool(app, "UK list", [{"phone1": "+447958022654", "first_name": "Uma"}], [uk])
    pool(app, "AU list", [{"phone1": "+61420063844", "first_name": "Abe"}], [au])
    pool(app, "More", [{"first_name": f"Lee{i}"} for i in range(60)], [uk])
    return uk, au


def test_national_numbers_are_found_and_checked_leads_marked_do_not_call(
    page, app, make_account, make_user
):
    uk, au = setup(app, make_account, make_user)
    log_in(page, "sue@acme.test", PASSWORD)
    page.goto("/leads")
    expect(page.get_by_test_id("result-count")).to_have_text("62 leads")
    box = page.get_by_test_id("quick-search")
    expect(box).to_have_attribute("placeholder", re.compile("start of a name"))

    # A name by how it starts, in any case; not by a part in its middle.
    box.fill("UM")
    expect(page.get_by_test_id("result-count")).to_have_text("1 lead")
    expect(page.locator("#lead-table tbody tr").first).to_contain_text("Uma")
    box.fill("lee1")
    expect(page.get_by_test_id("result-count")).to_have_text("11 leads")  # Lee1, Lee10-19
    box.fill("ee1")
    expect(page.get_by_test_id("result-count")).to_have_text("0 leads")

    page.get_by_test_id("filter-campaign").select_option(str(uk))
    page.get_by_test_id("quick-search").fill("07958 022654")
    expect(page.get_by_test_id("result-count")).to_have_text("1 lead")
    rows = page.locator("#lead-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Uma")
    expect(rows.first).to_contain_text("+44 7958 022654")

    page.get_by_test_id("filter-campaign").select_option(str(au))
    page.get_by_test_id("quick-search").fill("0420 063 844")
    expect(page.get_by_test_id("result-count")).to_have_text("1 lead")
    expect(rows.first).to_contain_text("Abe")
    expect(rows.first).to_contain_text("+61 420 063 844")

    # The UK campaign's leads, the first page checked at once, marked do-not-call.
    page.get_by_test_id("quick-search").fill("")
    page.get_by_test_id("filter-campaign").select_option(str(uk))
    expect(page.get_by_test_id("result-count")).to_have_text("61 leads")
    page.get_by_test_id("check-page").check()
    expect(page.locator("[data-lead-checked]")).to_have_text("50")
    page.get_by_test_id("bulk-dnc").click()
    expect(page.locator(".alert-success")).to_contain_text("Marked 50 leads do-not-call.")
    with app.app_context():
        marked = db.session.scalar(
            sa.select(sa.func.count(Lead.id))
            .where(Lead.do_not_call.is_(True))
            .execution_options(all_accounts=True)
        )
    assert marked == 50
    # Back on the same search, the next page (a keyset cursor) holds the other 11.
    expect(page.get_by_test_id("result-count")).to_have_text("61 leads")
    page.get_by_test_id("next-page").click()
    expect(page.locator("#lead-table tbody tr")).to_have_count(11)
