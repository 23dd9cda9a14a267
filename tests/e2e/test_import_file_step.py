"""The wizard's file step in a real browser (issue 13): a file without column names."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.test_import_wizard import count, setup_account
from tests.e2e.test_login import log_in
from tests.imports import files


def test_a_file_without_column_names_through_the_wizard(page, app, make_account, tmp_path):
    """Its first lead is not taken for column names: the box "First row holds column names"
    is shown unchecked, ticking it reads the file again with names, and unticked the 20
    rows become 20 leads, the columns mapped by their values."""
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    path = tmp_path / "no-names.csv"
    path.write_bytes(files.headerless_file(20))
    page.goto("/imports/new")
    page.fill('input[name="pool_name"]', "No names")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(path))
    page.click("button:has-text('Upload')")

    box = page.get_by_test_id("header-box")
    expect(box).not_to_be_checked()
    expect(page.get_by_test_id("no-header")).to_contain_text("the first row is a lead")
    expect(page.locator("thead th").first).to_have_text("Column 1")

    box.check()
    page.click("button:has-text('Read again')")
    expect(page.locator("thead th").first).to_have_text("Ann0")  # names now
    page.get_by_test_id("header-box").uncheck()
    page.click("button:has-text('Read again')")
    expect(page.get_by_test_id("header-box")).not_to_be_checked()
    expect(page.locator("tbody tr").first).to_contain_text("ann0@example.com")

    page.click("a:has-text('Next: map')")
    expect(page.get_by_test_id("map-Column 3")).to_have_value("phone1")
    expect(page.get_by_test_id("map-Column 4")).to_have_value("email")
    page.click("button:has-text('Next: duplicates')")
    page.click("button:has-text('Next: check')")
    expect(page.get_by_test_id("check-grid")).to_be_visible(timeout=60000)
    assert count(page, "all") == 20

    page.click("a:has-text('Next: review')")
    page.click("button:has-text('Import')")
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60000)
    expect(page.get_by_test_id("sum-imported")).to_have_text("20", timeout=10000)
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
