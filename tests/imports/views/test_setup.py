"""The wizard's first steps (issue 17): "Start with a new file", and the campaign and the
existing pool agreeing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.imports import files


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def test_start_with_a_new_file_forgets_the_file_and_keeps_the_settings(app, wizard):
    """The file page's button posts only its CSRF token (item 5: it answered 400)."""
    import_id = wizard.new("Restarted pool")
    assert wizard.upload(import_id, files.headerless_file(5)).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    form = re.search(r'<form[^>]*action="/imports/\d+/restart".*?</form>', page, re.DOTALL)
    posted = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(0)))
    assert set(posted) == {"csrf_token"}  # exactly what the browser sends

    response = wizard.client.post(f"/imports/{import_id}/restart", data=posted)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/imports/{import_id}/file")
    imp = wizard.imp(import_id)
    assert imp.file_name is None and imp.staging_path is None
    assert imp.settings["priority"] == 5  # the settings stay
    page = text_of(wizard.client.get(f"/imports/{import_id}/file"))
    assert "Start with a new file" not in page and 'type="file"' in page
