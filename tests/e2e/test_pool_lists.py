"""Lists managed as lists, in a real browser (issue 17 items 13-14): the wizard's day
offset, day count and time range reach the pool and show on its page, where they can be
changed; the pool dials in file order until Shuffle."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in

ROWS = 12


def lead_file(tmp_path):
    """Leads whose numbers run backwards: file order is no order of the numbers."""
    lines = ["First Name,Last Name,Phone,Email"]
    lines += [f"Ann{i},Lee{i},+1 415 234 {9999 - i:04d},ann{i}@example.com" for i in range(ROWS)]
    path = tmp_path / "spread.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def the_pool(app, name):
    with app.app_context():
        return db.session.execute(
            sa.select(LeadPool).where(LeadPool.name == name).execution_options(all_accounts=True)
        ).scalar_one()


def first_names_in_dial_order(app, pool_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(Lead.first_name)
            .where(Lead.pool_id == pool_id)
            .order_by(Lead.dial_order)
            .execution_options(all_accounts=True)
        ).all()


def test_advanced_settings_reach_the_pool_which_dials_in_file_order(
    page, app, make_account, tmp_path
):
    account_id = make_account("acme")
    with app.app_context():
        create_campaign(db.session.get(Account, account_id), "Spring Sales")
        db.session.commit()
    log_in(page, "admin@acme.test", PASSWORD)

    page.goto("/imports/new")
    page.fill('input[name="pool_name"]', "Spread list")
    page.click("summary:has-text('Show advanced settings')")
    page.fill('input[name="day_offset"]', "2")
    page.fill('input[name="day_count"]', "3")
    page.fill('input[name="time_from"]', "09:00")
    page.fill('input[name="time_until"]', "17:30")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(lead_file(tmp_path)))
    page.click("button:has-text('Upload')")
    page.click("a:has-text('Next: map')")
    page.click("button:has-text('Next: duplicates')")
    page.click("button:has-text('Next: check')")
    expect(page.get_by_test_id("check-grid")).to_be_visible(timeout=60000)
    page.click("a:has-text('Next: review')")
    page.click("button:has-text('Import')")
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60000)

    pool = the_pool(app, "Spread list")
    assert (pool.day_offset, pool.day_count) == (2, 3)
    page.goto(f"/pools/{pool.id}")
    details = page.get_by_test_id("details")
    expect(page.get_by_test_id("detail-day-offset")).to_have_text("2 days")
    expect(page.get_by_test_id("detail-day-count")).to_have_text("3 days")
    expect(page.get_by_test_id("detail-time-range")).to_have_text("09:00–17:30")
    expect(page.get_by_test_id("detail-schedule")).to_contain_text("2 days after the pool's start")
    # Not yet: the first day of dialling is two days away.
    expect(page.get_by_test_id("detail-ready")).to_contain_text("0")
    expect(details).to_contain_text("Scheduled")

    # File order: the pool page lists the leads as they will be dialled.
    names = page.get_by_test_id("first-leads").locator("tbody tr td:nth-child(2)")
    expect(names).to_have_text([f"Ann{i} Lee{i}" for i in range(ROWS)])
    assert first_names_in_dial_order(app, pool.id) == [f"Ann{i}" for i in range(ROWS)]

    # Editable on the pool page: no offset, one day — every lead ready today.
    edit = page.get_by_test_id("edit-form")
    edit.locator('input[name="day_offset"]').fill("0")
    edit.locator('input[name="day_count"]').fill("")
    edit.locator('input[name="time_from"]').fill("")
    edit.locator('input[name="time_until"]').fill("")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved the pool.")
    expect(page.get_by_test_id("detail-day-offset")).to_have_text("0 days")
    expect(page.get_by_test_id("detail-day-count")).to_contain_text("all at once")
    expect(page.get_by_test_id("detail-ready")).to_have_text(str(ROWS))

    # Shuffle (from the grid) makes the order random.
    page.goto("/pools?status=all&sort=name&dir=asc")
    page.get_by_test_id("check-Spread list").check()
    page.get_by_test_id("bulk-shuffle").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Shuffled the dial order of {ROWS}")
    shuffled = first_names_in_dial_order(app, pool.id)
    assert sorted(shuffled) == sorted(f"Ann{i}" for i in range(ROWS))
    assert shuffled != [f"Ann{i}" for i in range(ROWS)]  # 1 in 12! to fail by chance
    page.goto(f"/pools/{pool.id}")
    expect(names).to_have_text([re.compile(rf"^{n} ") for n in shuffled])


def test_shares_follow_the_weights_as_they_are_typed(page, app, make_account):
    from tests.pools.helpers import campaign, pool

    make_account("acme")
    sales = campaign(app, "Spring Sales")
    pool(app, "Alpha", [{}] * 3, campaigns=[sales])
    pool(app, "Bravo", [{}] * 2, campaigns=[sales])
    pool(app, "Empty", [], campaigns=[sales])
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto(f"/campaigns/{sales}")
    expect(page.get_by_test_id("share-Alpha")).to_have_text("50 %")
    expect(page.get_by_test_id("share-Empty")).to_have_text("0 %")
    expect(page.get_by_test_id("empty-note-Empty")).to_contain_text("empty: no leads yet")
    page.get_by_test_id("weight-Alpha").fill("70")
    page.get_by_test_id("weight-Bravo").fill("30")
    # Not saved yet: the shares follow the typing.
    expect(page.get_by_test_id("share-Alpha")).to_have_text("70 %")
    expect(page.get_by_test_id("share-Bravo")).to_have_text("30 %")
    page.get_by_test_id("weight-Empty").fill("500")
    expect(page.get_by_test_id("share-Empty")).to_have_text("0 %")
    page.get_by_test_id("to-dial-Bravo").uncheck()
    expect(page.get_by_test_id("share-Bravo")).to_have_text("—")
    expect(page.get_by_test_id("share-Alpha")).to_have_text("100 %")
    page.get_by_test_id("to-dial-Bravo").check()
    page.get_by_test_id("weight-Alpha").fill("1")
    page.get_by_test_id("weight-Bravo").fill("2")
    expect(page.get_by_test_id("share-Alpha")).to_have_text("33.3 %")
    expect(page.get_by_test_id("share-Bravo")).to_have_text("66.7 %")
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("share-Bravo")).to_have_text("66.7 %")  # the server agrees
