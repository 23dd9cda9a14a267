"""The check-data step over HTTP (issue 13): the editor opens with its own row's value, a
save answers with the row, the filter counts and every shown row whose status changed."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.services.imports.staging_helpers import csv_bytes

HX = {"HX-Request": "true"}
ROWS = [  # data rows 0..5 are file lines 2..7
    ("212 555 0101", "Ann"),
    ("212 555 0102", "Bob"),
    ("212 555 0103", "Cy"),
    ("212 555 0104", "Di"),
    ("212 555 0105", "Ed"),
    ("12", "Flo"),
]
COUNT = re.compile(r'data-testid="count-(\w+)">([\d,]+)<')


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


@pytest.fixture
def import_id(wizard) -> int:
    return wizard.through_check(csv_bytes(ROWS))


def counts(html: str) -> dict[str, int]:
    return {key: int(value.replace(",", "")) for key, value in COUNT.findall(html)}


def row_html(html: str, line: int) -> str:
    found = re.findall(rf'<tr[^>]*data-testid="row-{line}".*?</tr>', html, re.DOTALL)
    assert len(found) == 1, html
    return found[0]


def editor_value(wizard, import_id, row, field) -> str:
    response = wizard.client.get(f"/imports/{import_id}/rows/{row}/{field}", headers=HX)
    assert response.status_code == 200
    return re.search(r'name="value" value="([^"]*)"', text_of(response)).group(1)


def save(wizard, import_id, row, field, value, show="all", shown=range(6)):
    token = csrf_from(wizard.client, f"/imports/{import_id}/check")
    response = wizard.client.post(
        f"/imports/{import_id}/rows/{row}/{field}?show={show}&page=1",
        data={"value": value, "shown": [str(r) for r in shown]},
        headers={**HX, "X-CSRFToken": token},
    )
    assert response.status_code == 200, text_of(response)
    return text_of(response)


def test_the_editor_of_line_5_after_saving_line_3_holds_line_5s_value(wizard, import_id):
    save(wizard, import_id, 1, "first_name", "Bobby")  # line 3, Enter
    assert editor_value(wizard, import_id, 3, "first_name") == "Di"  # line 5
    save(wizard, import_id, 3, "first_name", "Diana")
    grid = text_of(wizard.client.get(f"/imports/{import_id}/check"))
    assert "Bobby" in row_html(grid, 3) and "Diana" in row_html(grid, 5)
    assert counts(grid) == {"all": 6, "valid": 5, "invalid": 1, "duplicate": 0, "unsure": 0}


def test_a_save_answers_with_the_new_filter_counts_out_of_band(wizard, import_id):
    html = save(wizard, import_id, 5, "phone1", "212 555 0106", show="invalid", shown=[5])
    assert 'id="check-filters"' in html and 'hx-swap-oob="true"' in html
    assert counts(html) == {"all": 6, "valid": 6, "invalid": 0, "duplicate": 0, "unsure": 0}
    fixed = row_html(html, 7)
    assert "valid" in fixed and 'data-testid="left-filter"' in fixed  # no longer Invalid
    assert "0 rows" in html  # the pager of the Invalid list


def test_a_save_updates_the_shown_rows_whose_status_it_changed(wizard, import_id):
    # Line 2 takes line 6's number: line 6, later in the file, becomes its duplicate.
    html = save(wizard, import_id, 0, "phone1", "212 555 0105")
    assert "duplicate" in row_html(html, 6)
    assert counts(html)["duplicate"] == 1
    # Line 2 changes again: line 6 is no longer a duplicate.
    html = save(wizard, import_id, 0, "phone1", "212 555 0101")
    assert "duplicate" not in row_html(html, 6)
    assert counts(html)["duplicate"] == 0


def test_an_edited_row_leaves_the_filters_it_no_longer_matches(wizard, import_id):
    save(wizard, import_id, 0, "first_name", "Anna")
    invalid = text_of(wizard.client.get(f"/imports/{import_id}/check?show=invalid", headers=HX))
    assert re.findall(r'data-testid="row-(\d+)"', invalid) == ["7"]
