"""Browser tests: the app served on a loopback port with a worker, driven through
Playwright in Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, empty_tables, free_port, process_env

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium keeps trying the (closed) network at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    # This hook sees every collected test, not only this folder's.
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.committed)


@pytest.fixture(scope="package")
def live_server(app, app_environ):
    """`flask run` and `flask worker` as real processes; yields the base URL.

    Package scope: the worker must not outlive the browser tests and take other tests' jobs."""
    port = free_port()
    commands = (("run", ["--port", str(port)]), ("worker", []))
    env = process_env(app_environ)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    # Their output goes to the instance folder: the first place to look when a test fails.
    logs = Path(app_environ["LEADAPP_INSTANCE"])
    procs = [
        subprocess.Popen(
            [*flask, cmd, *extra],
            cwd=ROOT,
            env=env,
            stdout=(logs / f"{cmd}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for cmd, extra in commands
    ]
    base = f"http://127.0.0.1:{port}"
    # Two minutes: a CI machine running both passes side by side starts an interpreter
    # slowly (30 s was passed there); a server that exited says so at once, with its log.
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            for (cmd, _), proc in zip(commands, procs, strict=True):
                if proc.poll() is not None:
                    log = (logs / f"{cmd}.log").read_text()[-3000:]
                    raise RuntimeError(f"flask {cmd} exited ({proc.returncode}):\n{log}") from None
            if time.time() > deadline:
                raise RuntimeError("the app server did not start within 120 s") from None
            time.sleep(0.3)
    yield base
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: `make test` should have installed it")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, app):
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    # 30 s for actions and assertions alike: beside CI's other pass, on a slow day's 2 cores,
    # an htmx round trip took longer than expect's 5 s and a lead's edit page longer than
    # 15 s to become clickable. A page that never comes still fails.
    page.set_default_timeout(30000)
    from playwright.sync_api import expect

    expect.set_options(timeout=30000)
    yield page
    context.close()
    empty_tables(app)
