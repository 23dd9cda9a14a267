"""The Imports list shows every draft with its pool and step; a draft can be discarded
(issue 17 item 10)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.imports import files


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def test_every_draft_is_listed_with_its_pool_and_step(app, wizard):
    no_file = wizard.new("Pool without a file")
    mapped = wizard.new("Mapped pool")
    assert wizard.upload(mapped, files.headerless_file(5)).status_code == 302
    assert wizard.mapping(mapped).status_code == 302  # now at Duplicates
    done = wizard.import_file(files.headerless_file(3), pool_name="Done pool")

    page = text_of(wizard.client.get("/imports"))
    drafts = re.search(r'data-testid="drafts">(.*?)</table>', page, re.S).group(1)
    row = re.search(rf'data-testid="draft-{no_file}">(.*?)</tr>', drafts, re.S).group(1)
    assert "Pool without a file" in row and "(no file yet)" in row and "<td>File</td>" in row
    row = re.search(rf'data-testid="draft-{mapped}">(.*?)</tr>', drafts, re.S).group(1)
    assert "Mapped pool" in row and "<td>Duplicates</td>" in row and "leads.csv" in row
    assert f"draft-{done.id}" not in drafts  # it ran: in the table of imports


def test_a_draft_is_discarded_with_its_staged_file(app, wizard):
    import_id = wizard.new("Unwanted")
    assert wizard.upload(import_id, files.headerless_file(5)).status_code == 302
    staged = wizard.new_staging()
    assert staged and all(p.exists() for p in staged)
    token = csrf_from(wizard.client, "/imports")
    response = wizard.client.post(f"/imports/{import_id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    page = text_of(wizard.client.get("/imports"))
    assert "The draft import of leads.csv was discarded." in page
    assert f"draft-{import_id}" not in page
    assert not any(p.exists() for p in staged)
    assert wizard.client.get(f"/imports/{import_id}/file").status_code == 404


def test_an_import_that_ran_is_not_discarded(app, wizard):
    done = wizard.import_file(files.headerless_file(3), pool_name="Done pool")
    token = csrf_from(wizard.client, "/imports")
    response = wizard.client.post(f"/imports/{done.id}/discard", data={"csrf_token": token})
    assert response.status_code == 302
    page = text_of(wizard.client.get(response.headers["Location"]))
    assert "This import has already started; it cannot be discarded." in page
    assert wizard.imp(done.id).status == "completed"
