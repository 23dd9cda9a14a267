"""The duplicates and check-data steps (issue 17, items 4 and 6)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Lead
from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def leads_file(rows: int = 10) -> bytes:
    lines = ["First Name,Phone"] + [f"Ann{i},+1 415 234 {i:04d}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def deactivate_all(app) -> None:
    """As "deactivate the existing lead" leaves them (status inactive)."""
    with app.app_context():
        db.session.execute(sa.update(Lead).values(status="inactive"))
        db.session.commit()


def duplicates_form(wizard, import_id, **fields):
    token = csrf_from(wizard.client, f"/imports/{import_id}/duplicates")
    form = {
        "csrf_token": token,
        "match": ["phone1"],
        "scope": "campaign",
        "action": "discard-new",
        "update_mode": "overwrite",
        "multiple": "update-all",
        **fields,
    }
    response = wizard.client.post(f"/imports/{import_id}/duplicates", data=form)
    assert response.status_code == 302, text_of(response)
    wizard.run_jobs()


def test_inactive_leads_are_disregarded_in_the_duplicate_search_by_default(app, wizard):
    """Item 4 (seed 004): a re-upload after "deactivate existing" found every deactivated
    lead and imported nothing."""
    wizard.import_file(leads_file(), pool_name="First")
    deactivate_all(app)
    second = wizard.new("Again")
    assert wizard.upload(second, leads_file()).status_code == 302
    assert wizard.mapping(second).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{second}/duplicates"))
    assert "Include inactive leads (deactivated leads and inactive pools)" in page
    duplicates_form(wizard, second)
    imp = wizard.imp(second)
    assert "inactive leads disregarded" in text_of(wizard.client.get(f"/imports/{second}/review"))
    wizard.start(second)
    assert not wizard.errors, wizard.errors
    assert len(wizard.leads(status="open")) == 10  # all imported again
    assert imp.duplicate_settings["include_inactive"] is False


def test_include_inactive_leads_is_the_explicit_choice(app, wizard):
    wizard.import_file(leads_file(), pool_name="First")
    deactivate_all(app)
    third = wizard.new("Third")
    assert wizard.upload(third, leads_file()).status_code == 302
    assert wizard.mapping(third).status_code == 302
    duplicates_form(wizard, third, include_inactive="y")
    wizard.start(third)
    assert not wizard.errors, wizard.errors
    assert wizard.leads(status="open") == []  # each matched an inactive lead: discarded


def test_updating_and_several_match_show_only_for_actions_that_update(app, wizard):
    """Item 7: "Updating" concerns update-existing only; "When several existing leads
    match" the actions that change existing leads (not notify or discard-new)."""
    import_id = wizard.new()
    assert wizard.upload(import_id, leads_file()).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/duplicates"))  # discard-new
    updating = re.search(r'<div data-shown-for="([^"]*)" data-testid="updating"([^>]*)>', page)
    several = re.search(r'<div data-shown-for="([^"]*)" data-testid="several-match"([^>]*)>', page)
    assert updating.group(1) == "update-existing" and "d-none" in updating.group(2)
    assert set(several.group(1).split()) == {
        "deactivate-existing",
        "remove-existing",
        "update-existing",
        "move-existing",
    }
    assert "d-none" in several.group(2)
    assert "wizard.js" in page  # follows the choice in the browser

    duplicates_form(wizard, import_id, action="update-existing")
    page = text_of(wizard.client.get(f"/imports/{import_id}/duplicates"))
    assert re.search(r'data-testid="updating">', page)  # shown: no class
    assert re.search(r'data-testid="several-match">', page)


def test_review_speaks_of_rows_in_the_file_and_no_internal_names(app, wizard):
    """Items 7 and 6: "Rows in the file", and the settings in words."""
    import_id = wizard.new()
    assert wizard.upload(import_id, leads_file()).status_code == 302
    assert wizard.mapping(import_id).status_code == 302
    duplicates_form(wizard, import_id)
    page = text_of(wizard.client.get(f"/imports/{import_id}/review"))
    assert re.search(r'<th>Rows in the file</th><td class="num" data-testid="rows">10<', page)
    assert "Rows to import from the file" not in page
    for internal in ("phone1", "discard-new", "customer_key", "update-all", "campaign_id"):
        assert internal not in re.sub(r"<[^>]+>", " ", page), internal


def mixed_file(valid: int, invalid: int) -> bytes:
    lines = ["First Name,Phone"]
    lines += [f"Ok{i},+1 415 234 {i:04d}" for i in range(valid)]
    lines += [f"Bad{i},12{i}" for i in range(invalid)]
    return ("\n".join(lines) + "\n").encode()


def test_select_all_deletes_every_row_of_the_filter_not_just_the_page(app, wizard):
    """Item 6: 120 invalid rows are three pages; "select all" deletes the 120."""
    import_id = wizard.through_check(mixed_file(30, 120), scope="none")
    page = text_of(wizard.client.get(f"/imports/{import_id}/check?show=invalid"))
    assert "Select all 120 rows of this filter (every page)" in page
    assert 'name="all_in_filter" value="invalid" form="rows-form"' in page
    token = csrf_from(wizard.client, f"/imports/{import_id}/check")
    response = wizard.client.post(
        f"/imports/{import_id}/rows/delete?show=invalid",
        data={"csrf_token": token, "all_in_filter": "invalid", "row": ["0"]},
    )
    assert response.status_code == 302
    page = text_of(wizard.client.get(response.headers["Location"]))
    assert "Deleted 120 row(s) from this import." in page
    assert 'data-testid="count-invalid">0<' in page
    assert 'data-testid="count-valid">30<' in page  # untouched, row 0 included


def test_check_data_shows_no_internal_names(app, wizard):
    """Item 6: field keys and setting codes never reach the page."""
    import_id = wizard.through_check(mixed_file(3, 2), scope="campaign")
    for show in ("all", "invalid"):
        page = text_of(wizard.client.get(f"/imports/{import_id}/check?show={show}"))
        words = re.sub(r"<[^>]+>", " ", page)
        for internal in ("phone1", "discard-new", "customer_key", "first_name", "_valid"):
            assert internal not in words, (show, internal)
