"""An admin assigns pools to a campaign with the two-list picker, weights them 70/30/100
and sees their shares 35 %/15 %/50 % — in a real browser."""

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Account, Lead, LeadPool, PoolAssignment
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in

POOLS = ("Alpha", "Bravo", "Charlie", "Delta")
SHOWN = """() => {
  const modal = document.getElementById("app-modal");
  return modal.classList.contains("show") && getComputedStyle(modal).opacity === "1"
    && getComputedStyle(modal.querySelector(".modal-dialog")).transform === "none";
}"""


def setup_account(app, make_account) -> int:
    account_id = make_account("acme")
    with app.app_context(), account_scope(account_id):
        campaign = create_campaign(db.session.get(Account, account_id), "Spring Sales")
        for name in POOLS:
            # Each holds a lead (counted as it is added): an empty pool gets no share of the
            # dialing (issue 17).
            pool = LeadPool(account_id=account_id, name=name)
            db.session.add(pool)
            db.session.flush()
            db.session.add(Lead(account_id=account_id, pool_id=pool.id, phone1="+12125550100"))
        db.session.commit()
        return campaign.id


def assigned_weights(app, campaign_id) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(LeadPool.name, PoolAssignment.weight)
            .join(PoolAssignment, PoolAssignment.pool_id == LeadPool.id)
            .where(PoolAssignment.campaign_id == campaign_id)
        ).all()
    return dict(rows)


def test_assign_pools_with_weights_and_see_the_shares(page, app, make_account):
    campaign_id = setup_account(app, make_account)
    log_in(page, "admin@acme.test", PASSWORD)
    page.goto("/campaigns/")
    page.get_by_role("link", name="Spring Sales").click()
    expect(page.get_by_test_id("no-pools")).to_be_visible()
    # The system Inactive pool is not offered.
    expect(page.get_by_test_id("available").locator("option")).to_have_text(list(POOLS))

    # Move three pools to the right, change our mind about one, move it back.
    page.get_by_test_id("available").select_option(["Alpha", "Bravo", "Charlie", "Delta"])
    page.get_by_test_id("move-right").click()
    expect(page.get_by_test_id("assigned").locator("option")).to_have_count(4)
    page.get_by_test_id("assigned").locator("option", has_text="Delta").dblclick()
    expect(page.get_by_test_id("available").locator("option")).to_have_text(["Delta"])
    expect(page.get_by_test_id("pending")).to_have_text("To assign: Alpha, Bravo, Charlie.")
    assert assigned_weights(app, campaign_id) == {}  # nothing saved before Apply

    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("assignment-notice")).to_have_text("Pools 3 assigned.")
    for name, weight in (("Alpha", "70"), ("Bravo", "30"), ("Charlie", "100")):
        page.get_by_test_id(f"weight-{name}").fill(weight)
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("assignment-notice")).to_have_text("Settings saved for 2 pools.")
    expect(page.get_by_test_id("share-Alpha")).to_have_text("35 %")
    expect(page.get_by_test_id("share-Bravo")).to_have_text("15 %")
    expect(page.get_by_test_id("share-Charlie")).to_have_text("50 %")
    assert assigned_weights(app, campaign_id) == {"Alpha": 70, "Bravo": 30, "Charlie": 100}

    # A pool marked to dial cannot be unassigned: the sentence shows in the modal.
    page.get_by_test_id("assigned").select_option(label="Bravo · to dial")
    page.get_by_test_id("move-left").click()
    expect(page.locator("#app-modal-body")).to_have_text(
        "'Bravo' is marked to dial in this campaign; clear To dial and save before unassigning."
    )
    # Bootstrap ignores a close while the modal is still fading in: wait until it is shown.
    page.wait_for_function(SHOWN)
    page.locator("#app-modal-cancel").click()
    expect(page.locator("#app-modal")).to_be_hidden()

    # Cleared, it can go after a confirmation; the others share 100 % again.
    page.get_by_test_id("to-dial-Bravo").uncheck()
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("share-Bravo")).to_have_text("—")
    expect(page.get_by_test_id("share-Alpha")).to_have_text("41.2 %")
    page.get_by_test_id("assigned").select_option(["Bravo"])
    page.get_by_test_id("move-left").click()
    expect(page.get_by_test_id("pending")).to_have_text("To unassign: Bravo.")
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("confirm-unassign")).to_contain_text("Unassigning 'Bravo' loses")
    page.get_by_role("button", name="Unassign and apply").click()
    expect(page.get_by_test_id("assignment-notice")).to_have_text("Pools 1 unassigned.")
    expect(page.get_by_test_id("share-Charlie")).to_have_text("58.8 %")
    assert assigned_weights(app, campaign_id) == {"Alpha": 70, "Charlie": 100}
