"""A supervisor presses Resume on a stalled import in a real browser; the server's own
worker finishes it and the page follows the job to its summary (issue 13)."""

from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in
from tests.imports.test_run_again import started_import


def test_resume_a_stalled_import_from_its_page(page, app, make_account, make_user, tmp_path):
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    with app.app_context():
        create_campaign(db.session.get(Account, account_id), "Spring")
        db.session.commit()
    import_id, row_id, truth = started_import(app, tmp_path, "stalled", rows=500)
    log_in(page, "sup@acme.test", PASSWORD)

    page.goto(f"/imports/{import_id}")
    expect(page.get_by_test_id("job-progress")).to_have_attribute("data-status", "stalled")
    expect(page.get_by_test_id("job-stalled")).to_contain_text("stopped reporting")
    page.get_by_test_id("job-run-again").click()

    # The same page, now following the new job until the worker has finished it.
    page.wait_for_url(f"**/imports/{import_id}")
    progress = page.get_by_test_id("job-progress")
    expect(progress).not_to_have_id(f"job-{row_id}")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60000)
    expect(page.get_by_test_id("job-run-again")).to_have_count(0)
    imported = f"{truth['unique_valid_phones']:,}"
    expect(page.get_by_test_id("sum-imported")).to_have_text(imported, timeout=15000)
