"""A person logs in, sees the pool grid, and logs out — in a real browser."""

import re
import subprocess
import sys

from playwright.sync_api import expect

from tests.conftest import PASSWORD, ROOT, process_env


def log_in(page, email, password):
    page.goto("/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('button:has-text("Log in")')
    page.wait_for_load_state("load")


def test_log_in_see_pools_log_out(page, make_account, tmp_path):
    make_account("acme")
    log_in(page, "admin@acme.test", PASSWORD)
    expect(page).to_have_url(re.compile(r"/pools$"))
    grid = page.get_by_test_id("pool-grid")
    expect(grid).to_contain_text("Inactive")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    page.screenshot(path=str(tmp_path / "pools.png"), full_page=True)

    page.click('button:has-text("Log out")')
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator(".alert")).to_contain_text("You are logged out")
    page.goto("/pools")
    expect(page).to_have_url(re.compile(r"/login"))


def test_wrong_password_shows_a_sentence(page, make_account):
    make_account("acme")
    log_in(page, "admin@acme.test", "wrong password")
    expect(page.locator(".alert-danger")).to_contain_text("do not match")


def test_demo_login_reaches_the_pool_grid(page, app_environ):
    """What `make run` prints after creating the demo data is a login that works."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "demo", "--leads", "300"],
        cwd=ROOT,
        env=process_env(app_environ),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    match = re.search(r"supervisor:\s+(\S+) / (\S+)", result.stdout)
    assert match, result.stdout
    log_in(page, match.group(1), match.group(2))
    grid = page.get_by_test_id("pool-grid")
    expect(grid).to_contain_text("Spring prospects")
    expect(grid).to_contain_text("Survey panel")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)  # a supervisor


def test_htmx_search_updates_the_grid_without_reload(page, make_account):
    make_account("acme")
    log_in(page, "admin@acme.test", PASSWORD)
    page.evaluate("window.__marker = 1")
    page.fill('input[name="q"]', "zzz-no-such-pool")
    expect(page.get_by_test_id("pool-grid")).to_contain_text("No lead pools match")
    assert page.evaluate("window.__marker") == 1  # same page: htmx swapped the partial


def test_htmx_error_shows_the_modal(page, make_account):
    make_account("acme")
    log_in(page, "admin@acme.test", PASSWORD)
    expect(page.get_by_test_id("pool-grid")).to_be_visible()
    page.evaluate("htmx.ajax('GET', '/jobs/999999/progress', {target: '#flashes'})")
    modal = page.locator("#app-modal")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("does not exist")
