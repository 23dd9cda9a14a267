"""The wizard as a supervisor expects it, in a real browser (issue 17, items 1, 3 and 5):
Phone 1 is the number most worth dialling, only the campaign's pools are offered, and
"Start with a new file" starts again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_import_wizard import count
from tests.e2e.test_login import log_in
from tests.imports import files, layouts


def an_account_with(app, make_account) -> dict[str, int]:
    """A GB and an AU campaign; a pool that feeds only the AU one."""
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        account = db.session.get(Account, account_id)
        london = create_campaign(account, "London", region="GB", timezone="Europe/London")
        sydney = create_campaign(account, "Sydney", region="AU", timezone="Australia/Sydney")
        pool = LeadPool(account_id=account_id, name="Sydney leads")
        db.session.add(pool)
        db.session.flush()
        db.session.add(
            PoolAssignment(account_id=account_id, pool_id=pool.id, campaign_id=sydney.id)
        )
        db.session.commit()
        return {"london": london.id, "sydney": sydney.id, "pool": pool.id}


def test_a_crm_file_gets_its_mobile_column_as_phone1(page, app, make_account, tmp_path):
    """Item 1: Landline (a third filled) and Mobile (almost all) in a GB campaign."""
    ids = an_account_with(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    path = tmp_path / "crm.csv"
    path.write_bytes(layouts.crm_export().data)
    page.goto("/imports/new")
    page.select_option('select[name="campaign"]', str(ids["london"]))
    page.fill('input[name="pool_name"]', "CRM pool")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(path))
    page.click("button:has-text('Upload')")
    page.click("a:has-text('Next: map')")

    expect(page.get_by_test_id("map-Mobile")).to_have_value("phone1")
    expect(page.get_by_test_id("map-Landline")).to_have_value("phone2")
    expect(page.get_by_test_id("map-CustKey")).to_have_value("customer_key")
    order = page.get_by_test_id("phone-order")
    expect(order).to_contain_text("most valid numbers for GB")
    expect(order.locator("li").first).to_have_text("Mobile (now Phone 1): 964 valid, mobiles")
    expect(page.get_by_test_id("first-valid-phone")).to_be_checked()

    page.click("button:has-text('Next: duplicates')")
    page.select_option('select[name="scope"]', "none")
    page.click("button:has-text('Next: check')")
    expect(page.get_by_test_id("check-grid")).to_be_visible(timeout=60000)
    # 1,928 rows have a mobile; the first valid phone (Landline or Work) covers 34 of the
    # other 72.
    assert count(page, "all") == 2000
    assert count(page, "valid") == 1962


def test_only_the_campaigns_pools_are_offered(page, app, make_account):
    """Item 3: the AU pool is not offered for the GB campaign, and is for the AU one."""
    ids = an_account_with(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto("/imports/new")
    option = page.locator(f'select[name="existing_pool"] option[value="{ids["pool"]}"]')
    page.select_option('select[name="campaign"]', str(ids["london"]))
    expect(option).to_be_disabled()
    expect(page.get_by_test_id("no-pools-of-campaign")).to_be_visible()
    page.select_option('select[name="campaign"]', str(ids["sydney"]))
    expect(option).to_be_enabled()
    expect(page.get_by_test_id("no-pools-of-campaign")).to_be_hidden()
    page.check('input[name="target"][value="existing"]')
    page.select_option('select[name="existing_pool"]', str(ids["pool"]))
    # Back to London: the Sydney pool is unchosen, not silently kept.
    page.select_option('select[name="campaign"]', str(ids["london"]))
    expect(page.locator('select[name="existing_pool"]')).to_have_value("0")
    page.select_option('select[name="campaign"]', str(ids["sydney"]))
    page.select_option('select[name="existing_pool"]', str(ids["pool"]))
    page.click("button:has-text('Next')")
    expect(page).to_have_url(re.compile(r"/imports/\d+/file$"))


def test_start_with_a_new_file(page, app, make_account, tmp_path):
    """Item 5: the button answered 400; now the file is forgotten and another chosen."""
    an_account_with(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    path = tmp_path / "first.csv"
    path.write_bytes(files.headerless_file(5))
    page.goto("/imports/new")
    page.fill('input[name="pool_name"]', "Restarted")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(path))
    page.click("button:has-text('Upload')")
    expect(page.get_by_test_id("detected")).to_be_visible()

    page.click("button:has-text('Start with a new file')")
    page.click("#app-modal-confirm")
    expect(page).to_have_url(re.compile(r"/imports/\d+/file$"))
    expect(page.locator('input[type="file"]')).to_be_visible()
    expect(page.get_by_test_id("detected")).to_have_count(0)
    second = tmp_path / "second.csv"
    second.write_bytes(b"Name,Phone\nAnn Lee,+1 415 234 0001\n")
    page.set_input_files('input[type="file"]', str(second))
    page.click("button:has-text('Upload')")
    page.click("a:has-text('Next: map')")
    expect(page.get_by_test_id("map-Name")).to_have_value("full_name")
