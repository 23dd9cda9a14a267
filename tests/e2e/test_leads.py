"""A supervisor finds a lead by a phone typed another way, edits it, reads its call
history, and puts its number on the do-not-call list — in a real browser."""

import datetime as dt
import re

from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services import leads as lead_service
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in


def setup_leads(app, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sue@acme.test")
    with app.app_context(), account_scope(account_id):
        campaign = create_campaign(db.session.get(Account, account_id), "Spring Sales")
        pool = LeadPool(name="Spring list")
        db.session.add(pool)
        db.session.flush()
        db.session.add(PoolAssignment(pool_id=pool.id, campaign_id=campaign.id))
        db.session.flush()
        ada = lead_service.create_lead(
            pool,
            {"first_name": "Ada", "last_name": "Lovelace", "phone1": "(415) 555-0132"},
            user_id=None,
        ).lead
        lead_service.create_lead(
            pool, {"first_name": "Bob", "last_name": "Byte", "phone1": "212-555-0100"}, user_id=None
        )
        first = lead_service.record_interaction(
            ada,
            campaign=campaign,
            caller_number="+1 212 555 0199",
            wrap_code="NO_ANSWER",
            outcome="no answer",
            notes="Rang <b>twice</b>",
            at=dt.datetime(2026, 11, 2, 17, 5),
        )
        lead_service.record_interaction(
            ada,
            campaign=campaign,
            wrap_code="VOICEMAIL",
            outcome="left a message",
            notes="Prefers mornings",
            at=dt.datetime(2026, 11, 3, 16, 0),
        )
        db.session.commit()
        return {
            "account_id": account_id,
            "pool": pool.id,
            "ada": ada.id,
            "first_call": first.id,
            "ready": pool.ready_count,
        }


def ready_count(app, ids):
    with app.app_context(), account_scope(ids["account_id"]):
        return db.session.get(LeadPool, ids["pool"]).ready_count


def test_find_edit_history_and_do_not_call(page, app, make_account, make_user, tmp_path):
    ids = setup_leads(app, make_account, make_user)
    assert ids["ready"] == 2
    log_in(page, "sue@acme.test", PASSWORD)  # a supervisor

    # Find the lead by its phone typed in another format (live search, htmx).
    page.goto("/leads")
    page.screenshot(path=str(tmp_path / "leads.png"), full_page=True)
    page.get_by_test_id("quick-search").fill("+1 415.555.0132")
    table = page.get_by_test_id("lead-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Ada Lovelace")
    expect(table).to_contain_text("+1 415-555-0132")
    expect(page).to_have_url(re.compile(r"q=%2B1"))
    table.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(re.compile(rf"/leads/{ids['ada']}$"))
    expect(page.get_by_test_id("dial-state")).to_contain_text("Ready to dial")

    # Its call history: each call opens to show its details, notes as text.
    history = page.get_by_test_id("call-history")
    expect(history.locator("details")).to_have_count(2)
    call = page.get_by_test_id(f"call-{ids['first_call']}")
    expect(call.locator("dl")).to_be_hidden()
    call.locator("summary").click()
    expect(call.locator("dl")).to_be_visible()
    expect(call).to_contain_text("+1 212-555-0199")  # caller number
    expect(call).to_contain_text("Spring Sales")
    expect(call).to_contain_text("2026-11-02 09:05")  # the account's zone (Los Angeles)
    expect(call).to_contain_text("Rang <b>twice</b>")  # shown as typed, never as HTML

    # Edit it.
    page.get_by_test_id("edit-lead").click()
    page.fill('input[name="last_name"]', "King")
    page.fill('input[name="phone2"]', "(212) 555-0142")
    page.click("button:has-text('Save')")
    expect(page.locator("h1")).to_contain_text("Ada King")
    expect(page.get_by_test_id("phone2")).to_contain_text("+1 212-555-0142")
    page.screenshot(path=str(tmp_path / "lead.png"), full_page=True)

    # Wrap code: the callback time is asked for only with a callback code.
    wrap = page.get_by_test_id("wrap-form")
    wrap.get_by_test_id("wrap-code-input").fill("SALE")
    expect(wrap.get_by_test_id("callback-field")).to_be_hidden()
    wrap.get_by_test_id("wrap-code-input").fill("Callback")
    expect(wrap.get_by_test_id("callback-field")).to_be_visible()
    wrap.locator('input[name="callback_at"]').fill("2030-01-02T09:30")
    wrap.locator("button[type=submit]").click()
    # Stored as the account's code is written (upper case), whatever was typed.
    expect(page.get_by_test_id("wrap-code")).to_contain_text("CALLBACK · callback 2030-01-02 09:30")

    # Put its number on the do-not-call list: it leaves "ready to dial".
    page.goto("/leads/do-not-call")
    form = page.get_by_test_id("dnc-add")
    form.locator('input[name="phone"]').fill("415 555 0132")
    form.locator('input[name="note"]').fill("Asked on the phone")
    form.locator("button[type=submit]").click()
    expect(page.locator("#flashes")).to_contain_text("1 lead(s) marked do-not-call")
    expect(page.get_by_test_id("dnc-table")).to_contain_text("+1 415-555-0132")
    assert "Remove" not in page.get_by_test_id("dnc-table").inner_text()  # admins only
    # A list file is added by the worker: the page follows the job, then shows its result.
    upload = page.get_by_test_id("dnc-upload")
    upload.locator('input[name="file"]').set_input_files(
        files=[{"name": "dnc.csv", "mimeType": "text/csv", "buffer": b"phone\n646 555 0177\nno\n"}]
    )
    upload.locator("button[type=submit]").click()
    expect(page.get_by_test_id("dnc-result")).to_contain_text(
        "2 row(s): 1 added, 0 already listed, 1 invalid; 0 lead(s) marked", timeout=30_000
    )
    expect(page.get_by_test_id("job-progress")).to_have_count(0)
    expect(page.get_by_test_id("dnc-table")).to_contain_text("+1 646-555-0177")
    page.screenshot(path=str(tmp_path / "dnc.png"), full_page=True)

    page.goto(f"/leads/{ids['ada']}")
    expect(page.get_by_test_id("dial-state")).to_contain_text("Not ready to dial")
    expect(page.get_by_test_id("dial-state")).to_contain_text("do-not-call list")
    expect(page.get_by_test_id("dnc-badge")).to_be_visible()
    assert ready_count(app, ids) == ids["ready"] - 1
    with app.app_context(), account_scope(ids["account_id"]):
        assert db.session.get(Lead, ids["ada"]).do_not_call
