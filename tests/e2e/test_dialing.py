"""The campaign page's Dialing section in a real browser (issue 18): callable now per pool
and in total, the preview of the next leads with why each, the settings an admin saves
(read-only for a supervisor), and the two CSV exports downloaded."""

from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Campaign, LeadPool
from leadapp.security import account_scope
from leadapp.services import pools as pool_service
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in
from tests.services.dial_helpers import build

ALL_DAY = {  # the page reads the real clock: every hour is a calling hour here
    "days": {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "states": {},
    "holidays_off": False,
}
WEIGHTS = {"Spring": 70, "Summer": 30, "Autumn": 100}


def setup_campaign(app, make_account, make_user) -> int:
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    with app.app_context(), account_scope(account_id):
        world = build(account_id, WEIGHTS, leads=4)
        # The helper's leads came by a bulk insert: counted as after an import.
        pool_service.refresh_counts(list(db.session.scalars(sa.select(LeadPool))))
        db.session.get(Campaign, world.campaign_id).calling_hours = ALL_DAY
        db.session.commit()
        return world.campaign_id


def download(page, test_id) -> list[str]:
    with page.expect_download() as info:
        page.get_by_test_id(test_id).click()
    return Path(info.value.path()).read_text(encoding="utf-8-sig").splitlines()


def test_dialing_section_figures_preview_settings_and_exports(page, app, make_account, make_user):
    campaign_id = setup_campaign(app, make_account, make_user)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto(f"/campaigns/{campaign_id}#dialing")
    section = page.get_by_test_id("dialing")
    expect(section.get_by_test_id("dialing-totals")).to_contain_text("12 lead(s) callable now")
    rows = section.get_by_test_id("dialing-pools").locator("tbody tr")
    expect(rows).to_have_count(3)
    for name, share in (("Spring", "35.0"), ("Summer", "15.0"), ("Autumn", "50.0")):
        row = rows.filter(has_text=name)
        expect(row.locator("td").nth(2)).to_have_text(f"{WEIGHTS[name]} ({share} %)")
        expect(row.locator("td").nth(3)).to_have_text("4")  # callable now
    # The preview: every lead callable now, each with its pool's share of the calls.
    preview = section.get_by_test_id("dialing-preview").locator("li")
    expect(preview).to_have_count(12)
    for name, share in (("Spring", 35), ("Summer", 15), ("Autumn", 50)):
        expect(preview.filter(has_text=f"{name} · weight {share} % · ")).to_have_count(4)
    expect(preview.first).to_contain_text("attempt 1 of 5")

    # The admin saves the settings; the section shows them.
    form = section.get_by_test_id("dial-settings-form")
    form.get_by_label("Maximum attempts per lead").fill("3")
    form.get_by_label("Lease length (minutes)").fill("2")
    form.get_by_role("button", name="Save dial settings").click()
    expect(page.locator(".alert")).to_contain_text("The dial settings are saved.")
    facts = page.get_by_test_id("dialing").locator("dl")
    expect(facts).to_contain_text("Maximum attempts3")
    expect(facts).to_contain_text("Lease2 min")
    expect(preview.first).to_contain_text("attempt 1 of 3")

    own = download(page, "export-leadapp")
    assert own[0].startswith("lead_id,pool,") and len(own) == 13  # header + 12 leads
    vicidial = download(page, "export-vicidial")
    assert len(vicidial) == 12  # the list loader's standard format has no header
    assert {line.split(",")[1] for line in vicidial} == {"LeadApp"}

    # A supervisor sees the same figures but no settings form.
    page.click('button:has-text("Log out")')
    log_in(page, "sup@acme.test", PASSWORD)
    page.goto(f"/campaigns/{campaign_id}#dialing")
    expect(page.get_by_test_id("dialing-totals")).to_contain_text("12 lead(s) callable now")
    expect(page.get_by_test_id("dialing").locator("dl")).to_contain_text("Maximum attempts3")
    expect(page.get_by_test_id("dial-settings-form")).to_have_count(0)
