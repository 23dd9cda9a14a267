"""The import's page while it runs (issue 17 item 8): the job's status, the figures and
"Open the pool" come in one region read by one request, so the page never shows
"Completed 100 %" beside "Imported 0", and the pool's button appears without a reload."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.imports import files


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def live_region(page: str) -> tuple[str, str]:
    """(the opening tag of the live region, its content up to the emails)."""
    match = re.search(r'(<div id="import-live"[^>]*>)(.*?)<[^>]*id="email-states"', page, re.S)
    return match.group(1), match.group(2)


def test_the_status_figures_and_open_the_pool_arrive_together(app, wizard):
    import_id = wizard.through_check(files.headerless_file(12), pool_name="Live pool")
    token = csrf_from(wizard.client, f"/imports/{import_id}/review")
    response = wizard.client.post(f"/imports/{import_id}/review", data={"csrf_token": token})
    assert response.status_code == 302
    # Queued, the job not run yet: one region polls the page, nothing inside polls alone.
    page = text_of(wizard.client.get(f"/imports/{import_id}"))
    tag, inner = live_region(page)
    assert 'hx-trigger="every 1s"' in tag and 'hx-select="#import-live"' in tag
    assert 'data-testid="job-progress"' in inner and 'data-testid="import-summary"' in inner
    assert "hx-trigger" not in inner  # the progress card and the summary ride along
    assert 'data-testid="open-pool"' not in page

    wizard.run_jobs()
    assert not wizard.errors, wizard.errors
    poll = wizard.client.get(f"/imports/{import_id}", headers={"HX-Request": "true"})
    tag, inner = live_region(text_of(poll))
    assert "hx-trigger" not in tag  # ended: it stops
    assert 'data-status="completed"' in inner
    assert re.search(r'data-testid="sum-imported">12<', inner)
    assert 'data-testid="open-pool"' in inner  # inside the region: no reload needed
