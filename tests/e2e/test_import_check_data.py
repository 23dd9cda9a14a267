"""The wizard's check-data step in a real browser (issue 13): edits stay on their own row,
and the filter counts and row statuses follow each edit without a reload."""

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Lead
from tests.conftest import PASSWORD
from tests.e2e.test_import_wizard import count, setup_account
from tests.e2e.test_login import log_in
from tests.services.imports.staging_helpers import csv_bytes

ROWS = [  # file lines 2..7
    ("212 555 0101", "Ann"),
    ("212 555 0102", "Bob"),
    ("212 555 0103", "Cy"),
    ("212 555 0104", "Di"),
    ("212 555 0101", "Ed"),  # line 6 repeats line 2's number
    ("12", "Flo"),  # line 7: no valid number
]


def edit(page, line: int, field: str, value: str, *, opens_with: str | None = None):
    """Double-click the cell, check what the editor opens with, type, Enter."""
    page.get_by_test_id(f"row-{line}").locator(f"td[data-field={field}]").dblclick()
    editor = page.locator("input.cell-editor")
    expect(editor).to_be_focused()
    if opens_with is not None:
        expect(editor).to_have_value(opens_with)
    editor.fill(value)
    page.keyboard.press("Enter")
    expect(page.locator("input.cell-editor")).to_have_count(0)


def expect_counts(page, **wanted):
    for key, value in wanted.items():
        expect(page.get_by_test_id(f"count-{key}")).to_have_text(f"{value:,}")


def status(page, line: int):
    return page.get_by_test_id(f"row-{line}").locator(".badge")


def test_editing_line_3_then_line_5_keeps_each_row_its_own(page, app, make_account, tmp_path):
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    path = tmp_path / "six.csv"
    path.write_bytes(csv_bytes(ROWS))
    page.goto("/imports/new")
    page.fill('input[name="pool_name"]', "Six")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(path))
    page.click("button:has-text('Upload')")
    page.click("a:has-text('Next: map')")
    page.click("button:has-text('Next: duplicates')")
    page.click("button:has-text('Next: check')")
    expect(page.get_by_test_id("check-grid")).to_be_visible(timeout=60000)
    assert count(page, "all") == 6
    expect_counts(page, all=6, valid=5, invalid=1, duplicate=1)

    # The reported sequence: line 3 + Enter, then line 5 opens with its own value.
    edit(page, 3, "first_name", "Bobby", opens_with="Bob")
    edit(page, 5, "first_name", "Diana", opens_with="Di")
    expect(page.get_by_test_id("row-3")).to_contain_text("Bobby")
    expect(page.get_by_test_id("row-5")).to_contain_text("Diana")
    expect(page.get_by_test_id("row-5")).to_contain_text("+1 212-555-0104")
    expect_counts(page, all=6, valid=5, invalid=1, duplicate=1)

    # Counts and other rows' statuses follow each edit, without a reload.
    edit(page, 7, "phone1", "212 555 0107", opens_with="12")
    expect_counts(page, all=6, valid=6, invalid=0, duplicate=1)
    expect(status(page, 7)).to_have_text("valid")
    edit(page, 2, "phone1", "212 555 0108")
    expect_counts(page, all=6, valid=6, invalid=0, duplicate=0)
    expect(status(page, 6)).to_have_text("valid")  # no longer repeats line 2

    page.reload()  # what the server holds is what the page showed
    expect_counts(page, all=6, valid=6, invalid=0, duplicate=0)
    expect(page.get_by_test_id("row-3")).to_contain_text("Bobby")
    expect(page.get_by_test_id("row-5")).to_contain_text("Diana")
    page.get_by_test_id("filter-invalid").click()
    expect(page.get_by_text("No rows here.")).to_be_visible()

    page.goto(page.url.split("/check")[0] + "/review")
    expect(page.get_by_test_id("valid")).to_have_text("6")
    expect(page.get_by_test_id("invalid")).to_have_text("0")
    expect(page.get_by_test_id("dups-in-file")).to_have_text("0")
    expect(page.get_by_test_id("to-import")).to_have_text("6")

    page.click("button:has-text('Import')")
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60000)
    expect(page.get_by_test_id("sum-imported")).to_have_text("6", timeout=10000)
    with app.app_context():
        leads = db.session.execute(sa.select(Lead.first_name, Lead.phone1)).all()
    assert sorted(leads) == [
        ("Ann", "+12125550108"),
        ("Bobby", "+12125550102"),
        ("Cy", "+12125550103"),
        ("Diana", "+12125550104"),
        ("Ed", "+12125550101"),
        ("Flo", "+12125550107"),
    ]
