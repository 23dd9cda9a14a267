"""The upload wizard's file step (issue 13): a stray quote, lines in another encoding and
a first row of data are shown with the line they concern, and the supervisor chooses."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_from
from tests.hostile.conftest import Wizard, text_of
from tests.imports import files

WARNING = re.compile(r'data-testid="file-warning"[^>]*>(.*?)</li>', re.DOTALL)
HEADER_BOX = re.compile(r'<input[^>]*name="header"[^>]*>')


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def file_page(wizard, import_id) -> str:
    response = wizard.client.get(f"/imports/{import_id}/file")
    assert response.status_code == 200
    return text_of(response)


def read_again(wizard, import_id, **fields):
    token = csrf_from(wizard.client, f"/imports/{import_id}/file")
    form = {"csrf_token": token, "encoding": "", "delimiter": "", "format_shown": "1", **fields}
    response = wizard.client.post(f"/imports/{import_id}/format", data=form)
    assert response.status_code == 302
    return file_page(wizard, import_id)


def staged_rows(wizard, import_id) -> int:
    check = wizard.duplicates(import_id, scope="none")
    assert 'id="check-grid"' in check.get_data(as_text=True), wizard.errors
    return wizard.imp(import_id).counts["rows"]


def test_a_stray_quote_is_shown_with_its_lines_and_the_choice(app, wizard):
    import_id = wizard.new()
    assert wizard.upload(import_id, files.stray_quote_file()).status_code == 302
    page = file_page(wizard, import_id)
    (warning,) = WARNING.findall(page)
    assert "Line 52 opens a quote that closes only on line 1502" in warning
    assert "Read the quotes on line 52 as plain text" in page  # the better choice
    assert "Start with a new file" in page  # stop
    assert "Next: map the columns" in page  # accept the file as read
    assert wizard.mapping(import_id).status_code == 302
    assert staged_rows(wizard, import_id) == 550


def test_reading_the_stray_quote_as_plain_text_gives_the_rows_back(app, wizard):
    import_id = wizard.new()
    assert wizard.upload(import_id, files.stray_quote_file()).status_code == 302
    page = read_again(wizard, import_id, header="y", literal_quotes="y")
    (warning,) = WARNING.findall(page)
    assert "Line 52" in warning and "plain text" in warning
    assert "closes only on line" not in page
    assert wizard.mapping(import_id).status_code == 302
    assert staged_rows(wizard, import_id) == 2000


def test_a_file_without_column_names_shows_the_box_unchecked_and_keeps_its_first_lead(app, wizard):
    import_id = wizard.new()
    assert wizard.upload(import_id, files.headerless_file(20)).status_code == 302
    page = file_page(wizard, import_id)
    (box,) = HEADER_BOX.findall(page)
    assert "checked" not in box
    assert "First row holds column names" in page
    assert "<th>Column 1</th>" in page and "ann0@example.com" in page

    # Changed, the file is read again with the first row as names ...
    page = read_again(wizard, import_id, header="y")
    assert "checked" in HEADER_BOX.findall(page)[0]
    assert "<th>ann0@example.com</th>" in page
    # ... and back: 20 rows in, 20 leads out, mapped by their values.
    page = read_again(wizard, import_id)
    assert "checked" not in HEADER_BOX.findall(page)[0]
    mapping = wizard.client.get(f"/imports/{import_id}/mapping").get_data(as_text=True)
    assert re.search(r'name="map-2".*?<option value="phone1"\s+selected', mapping, re.DOTALL)
    assert wizard.mapping(import_id).status_code == 302
    assert staged_rows(wizard, import_id) == 20
    wizard.start(import_id)
    assert not wizard.errors, wizard.errors
    leads = wizard.leads()
    assert len(leads) == 20
    assert {lead.email for lead in leads} == {f"ann{i}@example.com" for i in range(20)}


def test_lines_in_another_encoding_are_named_on_the_file_step(app, wizard):
    import_id = wizard.new()
    assert wizard.upload(import_id, files.mixed_encoding_file(20)).status_code == 302
    page = file_page(wizard, import_id)
    warnings = WARNING.findall(page)
    assert [re.search(r"Line (\d+)", w).group(1) for w in warnings] == ["6", "13"]
    assert 'data-testid="detected">utf-8+cp1252' in page
    assert "Zoë" in page and "Ã" not in page
