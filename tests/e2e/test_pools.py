"""A supervisor works the lead-pool grid in a real browser: filters it, saves the filter as
a starred view that opens first, and runs bulk shuffle, deactivate and delete."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from leadapp.extensions import db
from leadapp.models import Lead, LeadPool
from tests.conftest import PASSWORD
from tests.e2e.test_login import log_in
from tests.pools.helpers import campaign, pool


def setup_pools(app, make_account, make_user):
    account_id = make_account("acme")
    make_user(account_id, "sup@acme.test")
    sales = campaign(app, "Spring Sales")
    ids = {
        "Spring A": pool(
            app, "Spring A", [{"dial_order": i} for i in range(40)] + [{"call_count": 2}] * 5,
            campaigns=[sales],
        ),
        "Spring B": pool(
            app, "Spring B", [{"dial_order": i} for i in range(30)], campaigns=[sales]
        ),
        "Autumn": pool(app, "Autumn", [{}] * 10, campaigns=[sales]),
    }  # fmt: skip
    return ids


def grid_names(page):
    return page.locator("#pool-grid tbody tr td:nth-child(2) a").all_inner_texts()


def dial_orders(app, pool_id):
    with app.app_context():
        return db.session.scalars(
            sa.select(Lead.dial_order)
            .where(Lead.pool_id == pool_id)
            .order_by(Lead.id)
            .execution_options(all_accounts=True)
        ).all()


def pool_row(app, pool_id):
    with app.app_context():
        return db.session.execute(
            sa.select(LeadPool).where(LeadPool.id == pool_id).execution_options(all_accounts=True)
        ).scalar_one()


def test_filter_and_save_a_default_view(page, app, make_account, make_user):
    setup_pools(app, make_account, make_user)
    log_in(page, "sup@acme.test", PASSWORD)
    expect(page).to_have_url(re.compile(r"/pools$"))
    expect(page.locator("#pool-grid tbody tr")).to_have_count(4)  # and the Inactive pool

    page.fill('input[name="q"]', "spring")
    expect(page.locator("#pool-grid tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=spring"))
    page.get_by_test_id("sort-total").click()  # ascending by total
    expect(page.get_by_test_id("sort-total")).to_contain_text("▲")
    assert grid_names(page) == ["Spring B", "Spring A"]

    page.get_by_test_id("view-name").fill("Spring only")
    page.get_by_test_id("save-view").click()
    expect(page.locator(".alert-success")).to_contain_text("Saved the view Spring only")
    expect(page.get_by_test_id("active-view")).to_contain_text("Spring only")
    page.get_by_test_id("star-view").click()
    expect(page.locator(".alert-success")).to_contain_text("Spring only opens first now.")

    # The grid without arguments opens the starred view, also after a reload.
    page.goto("/pools")
    expect(page.get_by_test_id("active-view")).to_contain_text("★ default")
    assert grid_names(page) == ["Spring B", "Spring A"]
    page.reload()
    expect(page.locator("#pool-grid tbody tr")).to_have_count(2)
    assert grid_names(page) == ["Spring B", "Spring A"]
    expect(page.locator('input[name="q"]')).to_have_value("spring")

    # Clearing the filters shows everything again; the view is still one click away.
    page.click("a:has-text('Clear filters')")
    expect(page.locator("#pool-grid tbody tr")).to_have_count(4)
    # The views menu is a Bootstrap dropdown: a click before its (deferred) script has run
    # opens nothing, as CI saw once; a person clicks again, the test waits for the page.
    page.wait_for_load_state()
    page.get_by_test_id("views-menu").click()
    page.get_by_test_id("view-Spring only").click()
    expect(page.locator("#pool-grid tbody tr")).to_have_count(2)


def test_bulk_shuffle_deactivate_and_delete(page, app, make_account, make_user):
    ids = setup_pools(app, make_account, make_user)
    before_a, before_b = dial_orders(app, ids["Spring A"]), dial_orders(app, ids["Spring B"])
    before_autumn = dial_orders(app, ids["Autumn"])
    log_in(page, "sup@acme.test", PASSWORD)
    page.goto("/pools?status=all&sort=name&dir=asc")

    page.get_by_test_id("check-Spring A").check()
    page.get_by_test_id("check-Spring B").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2")
    page.get_by_test_id("bulk-shuffle").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Shuffled the dial order of 75 leads in 2 pool(s)."
    )
    after_a = dial_orders(app, ids["Spring A"])
    assert after_a != before_a and len(after_a) == 45
    assert dial_orders(app, ids["Spring B"]) != before_b
    assert dial_orders(app, ids["Autumn"]) == before_autumn
    # The grid came back as it was: same sort.
    expect(page).to_have_url(re.compile(r"sort=name"))

    row = page.get_by_test_id(f"pool-row-{ids['Spring A']}")
    expect(row.locator("td[data-col=ready]")).to_have_text("45")  # called, but still open
    page.get_by_test_id("check-Spring A").check()
    page.get_by_test_id("bulk-deactivate").click()
    expect(page.locator(".alert-success")).to_contain_text("1 pool deactivated.")
    row = page.get_by_test_id(f"pool-row-{ids['Spring A']}")
    expect(row.locator("td[data-col=status]")).to_have_text("Inactive")
    expect(row.locator("td[data-col=ready]")).to_have_text("0")
    assert pool_row(app, ids["Spring A"]).status == "inactive"
    assert pool_row(app, ids["Spring B"]).status == "active"

    # Delete unprocessed: the confirmation names the count before anything goes.
    page.wait_for_load_state()  # htmx must be listening before the delete button is pressed
    page.get_by_test_id("check-all").check()
    page.get_by_test_id("check-Inactive").uncheck()
    expect(page.locator("[data-bulk-count]")).to_have_text("3")
    page.get_by_test_id("bulk-delete").click()
    expect(page.get_by_test_id("confirm-count")).to_contain_text("Delete 80 never-called leads")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id("confirm-delete")).to_have_count(0)
    assert len(dial_orders(app, ids["Autumn"])) == 10
    page.get_by_test_id("bulk-delete").click()
    page.get_by_test_id("confirm-delete-button").click()
    expect(page.locator(".alert-success")).to_contain_text("Deleted 80 unprocessed leads")
    row = page.get_by_test_id(f"pool-row-{ids['Spring A']}")
    expect(row.locator("td[data-col=total]")).to_have_text("5")
    assert len(dial_orders(app, ids["Autumn"])) == 0


def test_check_all_ticked_before_the_script_ran_still_checks_every_pool(
    page, app, make_account, make_user
):
    """CI caught a supervisor-speed click: "check all" ticked while pools.js was still
    loading checked nothing, so a bulk action would have gone to no pool."""
    setup_pools(app, make_account, make_user)
    log_in(page, "sup@acme.test", PASSWORD)
    held = []
    page.route("**/pools.js*", lambda route: held.append(route))
    page.goto("/pools?status=all", wait_until="commit")
    page.get_by_test_id("check-all").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("0")  # the script has not run
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("[data-bulk-count]")).to_have_text("4")
    expect(page.locator("input[name=pool_ids]:checked")).to_have_count(4)


def test_reset_clicked_before_the_page_script_ran_still_asks_first(
    page, app, make_account, make_user
):
    """CI caught a supervisor-speed click: "Reset pool…" pressed while app.js was still
    loading re-opened the leads without asking. confirm-guard.js holds the form until
    app.js can ask."""
    from tests.pools.test_views import MIXED

    setup_pools(app, make_account, make_user)
    mixed = pool(app, "Mixed", MIXED)

    def open_leads():
        with app.app_context():
            return db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Lead)
                .where(Lead.pool_id == mixed, Lead.status == "open", Lead.completed.is_(False))
                .execution_options(all_accounts=True)
            )

    before = open_leads()
    log_in(page, "sup@acme.test", PASSWORD)
    held = []
    page.route("**/app.js*", lambda route: held.append(route))
    page.goto(f"/pools/{mixed}", wait_until="commit")
    page.get_by_test_id("reset").click()
    page.wait_for_timeout(300)  # time for a submit to reach the server, if one left
    assert open_leads() == before
    assert len(held) == 1
    held[0].continue_()
    expect(page.locator("#app-modal-body")).to_contain_text("3 completed or closed leads")
    assert open_leads() == before
    page.click("#app-modal-confirm")
    expect(page.locator(".alert-success")).to_contain_text("Re-opened 3 completed leads.")
    assert open_leads() == before + 3


def test_pool_details_draw_charts_and_edit(page, app, make_account, make_user, tmp_path):
    import datetime as dt

    from leadapp.models import Interaction
    from leadapp.security import account_scope
    from tests.pools.test_views import MIXED

    setup_pools(app, make_account, make_user)
    mixed = pool(app, "Mixed", MIXED)
    with app.app_context():
        lead = db.session.scalars(
            sa.select(Lead)
            .where(Lead.pool_id == mixed)
            .execution_options(all_accounts=True)
            .limit(1)
        ).one()
        with account_scope(lead.account_id):
            for day in (1, 1, 2, 4):
                db.session.add(
                    Interaction(
                        account_id=lead.account_id,
                        lead_id=lead.id,
                        at=dt.datetime(2026, 3, day, 12),
                    )
                )
            db.session.commit()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, "sup@acme.test", PASSWORD)
    page.goto("/pools")
    page.click("a:has-text('Mixed')")
    for key, points in (("status", "3"), ("timezone", "1"), ("calls", "3")):
        expect(page.locator(f"canvas[data-chart={key}]")).to_have_attribute("data-drawn", points)
    page.screenshot(path=str(tmp_path / "details.png"), full_page=True)
    assert errors == []

    page.fill("#active_from", "2026-05-02")
    page.fill("#active_until", "2026-05-01")
    page.click("button:has-text('Save')")
    expect(page.locator(".invalid-feedback")).to_have_text(
        "The pool cannot stop being active before it starts."
    )
    page.fill("#name", "Mixed (May)")
    page.fill("#active_until", "2026-05-31")
    page.click("button:has-text('Save')")
    expect(page.locator(".alert-success")).to_contain_text("Saved the pool.")
    expect(page.get_by_test_id("detail-period")).to_have_text("2026-05-02 to 2026-05-31")
    expect(page.get_by_test_id("detail-modified")).to_contain_text("by sup@acme.test")

    page.get_by_test_id("toggle").click()
    expect(page.get_by_test_id("toggle")).to_have_text("Disabled")
    page.get_by_test_id("reset").click()
    expect(page.locator("#app-modal-body")).to_contain_text("3 completed or closed leads")
    page.click("#app-modal-confirm")
    expect(page.locator(".alert-success")).to_contain_text("Re-opened 3 completed leads.")
    page.screenshot(path=str(tmp_path / "details-after.png"), full_page=True)
    page.goto("/pools?status=all&col=invalid&col=duplicates&col=callable&col=last_activity")
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
