"""A supervisor drives the whole import wizard in a real browser, with a real worker."""

import csv
import io
import json
import re
from pathlib import Path

from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "domain" / "leads_us_1500.csv"


def setup_account(app, make_account):
    account_id = make_account("acme")
    with app.app_context():
        create_campaign(db.session.get(Account, account_id), "Spring Sales")
        db.session.commit()


def count(page, key):
    return int(page.get_by_test_id(f"count-{key}").inner_text().replace(",", ""))


def upload_the_sample(page):
    """The wizard's first two steps: a new pool, then the sample file uploaded and read."""
    page.goto("/imports/new")
    page.fill('input[name="pool_name"]', "Wizard pool")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(SAMPLE))
    page.click("button:has-text('Upload')")
    expect(page.get_by_test_id("detected")).to_contain_text("utf-8-sig, delimiter comma")


def test_the_whole_wizard(page, app, make_account):
    truth = json.loads(SAMPLE.with_suffix(".truth.json").read_text())
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)

    upload_the_sample(page)

    page.click("a:has-text('Next: map')")
    expect(page.get_by_test_id("map-Phone")).to_have_value("phone1")
    expect(page.get_by_test_id("phone-warning")).to_be_hidden()
    page.get_by_test_id("map-Phone").select_option("")  # unmapping the phone shows the warning
    expect(page.get_by_test_id("phone-warning")).to_be_visible()
    page.get_by_test_id("map-Phone").select_option("phone1")
    # The truth counts the Phone column alone: no Alt Phone standing in for a bad Phone.
    page.get_by_test_id("first-valid-phone").uncheck()
    page.click("button:has-text('Next: duplicates')")
    page.click("button:has-text('Next: check')")

    # The check job runs in the worker; the page moves on by itself.
    expect(page.get_by_test_id("check-grid")).to_be_visible(timeout=60000)
    assert count(page, "all") == truth["rows"]
    assert count(page, "invalid") == truth["invalid_phone_rows"]
    assert count(page, "duplicate") == truth["duplicate_rows"]

    page.get_by_test_id("filter-invalid").click()
    expect(page.get_by_test_id("filter-invalid")).to_have_class(re.compile("active"))
    first = page.locator("#check-grid tbody tr").first
    line = first.get_attribute("data-testid")
    first.locator("td[data-field=phone1]").dblclick()
    expect(page.locator("input.cell-editor")).to_be_focused()  # swapped in and wired by htmx
    page.fill("input.cell-editor", "(212) 555-0142")
    page.keyboard.press("Enter")
    fixed = page.get_by_test_id(line)
    expect(fixed).to_contain_text("+1 212-555-0142")
    expect(fixed.locator(".badge")).to_have_text("valid")
    page.reload()
    assert count(page, "invalid") == truth["invalid_phone_rows"] - 1

    page.get_by_test_id("filter-valid").click()
    expect(page.get_by_test_id("filter-valid")).to_have_class(re.compile("active"))
    page.locator("#check-grid tbody tr").first.locator("input[type=checkbox]").check()
    page.get_by_test_id("delete-rows").click()
    page.click("#app-modal-confirm")
    expect(page.get_by_test_id("count-all")).to_have_text(f"{truth['rows'] - 1:,}")

    page.click("a:has-text('Next: review')")
    valid = truth["rows_with_valid_phone"]  # one fixed, one deleted
    expect(page.get_by_test_id("valid")).to_have_text(f"{valid:,}")
    expect(page.get_by_test_id("invalid")).to_have_text(f"{truth['invalid_phone_rows'] - 1:,}")
    expect(page.get_by_test_id("deleted")).to_have_text("1")
    dups = int(page.get_by_test_id("dups-in-file").inner_text().replace(",", ""))
    expected_import = valid - dups
    expect(page.get_by_test_id("to-import")).to_have_text(f"{expected_import:,}")

    page.click("button:has-text('Import')")
    progress = page.get_by_test_id("job-progress")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60000)
    expect(progress.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("sum-imported")).to_have_text(f"{expected_import:,}", timeout=10000)

    with page.expect_download() as download:
        page.get_by_test_id("downloads").get_by_role(
            "link", name="Invalid rows with reasons"
        ).click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(rows) == truth["invalid_phone_rows"] - 1
    assert all(r["reasons"].startswith("phone1:") for r in rows)
    with page.expect_download() as download:
        page.get_by_test_id("downloads").get_by_role("link", name="Duplicates").click()
    dup_rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert len(dup_rows) == dups and all(r["duplicate_of"].startswith("line ") for r in dup_rows)
    with page.expect_download() as download:
        page.get_by_test_id("downloads").get_by_role("link", name="Full log").click()
    assert "imported: " in Path(download.value.path()).read_text("utf-8-sig")


def test_an_unfinished_import_is_offered_again(page, app, make_account):
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto("/imports/new")
    page.click("button:has-text('Next')")
    page.set_input_files('input[type="file"]', str(SAMPLE))
    page.click("button:has-text('Upload')")
    page.click("a:has-text('Next: map')")
    expect(page.get_by_test_id("map-Phone")).to_be_visible()

    page.goto("/imports/new")
    unfinished = page.get_by_test_id("unfinished")
    expect(unfinished).to_contain_text(SAMPLE.name)
    unfinished.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/mapping$"))
    expect(page.get_by_test_id("map-Phone")).to_have_value("phone1")


def test_a_binary_file_is_refused_with_a_sentence(page, app, make_account, tmp_path):
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto("/imports/new")
    page.click("button:has-text('Next')")
    fake = tmp_path / "leads.csv"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    page.set_input_files('input[type="file"]', str(fake))
    page.click("button:has-text('Upload')")
    expect(page.get_by_test_id("file-error")).to_contain_text("PNG image")


def test_a_column_unmapped_before_the_page_script_ran_still_shows_the_phone_warning(
    page, app, make_account
):
    """A quick test run caught it: the phone column unmapped while app.js was loading left
    the warning hidden."""
    setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    upload_the_sample(page)
    held = []
    page.route("**/app.js*", lambda route: held.append(route))
    page.click("a:has-text('Next: map')")
    page.get_by_test_id("map-Phone").select_option("")
    expect(page.get_by_test_id("phone-warning")).to_be_hidden()  # the script has not run
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_test_id("phone-warning")).to_be_visible()
