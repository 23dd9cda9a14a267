"""Issue 15 through the upload wizard: Check data shows each row's time zone with its source
and doubts (mapped or not), lists the unsure ones, the review counts them, and the leads get
the zones of their best evidence (files generated here)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Campaign
from tests.hostile.conftest import Wizard, text_of

US_FILE = (
    b"First Name,Last Name,Phone,State,Zip\n"
    b"A,alaska,(907) 555-0101,AK,\n"
    b"B,hawaii,808-555-0101,HI,\n"
    b"C,pensacola,850-555-0101,FL,32501\n"
    b"D,tallahassee,850-555-0102,FL,32301\n"
    b"E,disagree,212-555-0101,CA,90001\n"
    b"F,unsure,850-555-0103,FL,\n"
)
AU_FILE = (
    b"First Name,Last Name,Phone,State,Postcode\n"
    b"A,wa,0412 345 678,WA,\n"
    b"B,perth,0412 345 679,,6000\n"
    b"C,qld,0412 345 670,QLD,\n"
    b"D,landline,08 9234 5678,,\n"
)


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def _zone_cells(html: str) -> dict[int, str]:
    """File line -> the text of the row's Time zone cell."""
    cells = re.findall(r'data-testid="zone-(\d+)">(.*?)</td>', html, re.S)
    return {int(line): re.sub(r"<[^>]+>", "", text).strip() for line, text in cells}


def _counts(html: str) -> dict[str, int]:
    found = re.findall(r'data-testid="count-(\w+)">([\d,]+)<', html)
    return {key: int(value.replace(",", "")) for key, value in found}


def test_us_file_through_the_wizard(wizard):
    import_id = wizard.through_check(US_FILE, scope="none")
    html = text_of(wizard.client.get(f"/imports/{import_id}/check"))
    assert "<th>Time zone</th>" in html  # shown though no column was mapped to it
    cells = _zone_cells(html)
    assert cells[2] == "America/Anchorage (from the state)"
    assert cells[3] == "Pacific/Honolulu (from the state)"
    assert cells[4] == "America/Chicago (from the postal code)"
    assert cells[5] == "America/New_York (from the postal code)"
    assert cells[6] == (
        "America/Los_Angeles (from the postal code) zones disagree: number says "
        "America/New_York, address says America/Los_Angeles"
    )
    assert cells[7].startswith("America/New_York (campaign default) zone unsure")
    assert _counts(html)["unsure"] == 2
    unsure = text_of(wizard.client.get(f"/imports/{import_id}/check?show=unsure"))
    assert set(re.findall(r'data-testid="row-(\d+)"', unsure)) == {"6", "7"}
    review = text_of(wizard.client.get(f"/imports/{import_id}/review"))
    assert re.search(r'data-testid="zone-unsure">2<', review)
    assert wizard.start(import_id).status_code == 302
    assert not wizard.errors, wizard.errors
    zones = {lead.last_name: (lead.timezone, lead.timezone_source) for lead in wizard.leads()}
    assert zones == {
        "alaska": ("America/Anchorage", "state"),
        "hawaii": ("Pacific/Honolulu", "state"),
        "pensacola": ("America/Chicago", "postal"),
        "tallahassee": ("America/New_York", "postal"),
        "disagree": ("America/Los_Angeles", "postal"),
        "unsure": ("America/New_York", "default"),
    }


def test_australian_file_through_the_wizard(app, wizard):
    with app.app_context():
        db.session.execute(
            sa.update(Campaign)
            .where(Campaign.id == wizard.campaign_id)
            .values(default_region="AU", timezone="Australia/Sydney")
        )
        db.session.commit()
    imp = wizard.import_file(AU_FILE, scope="none")
    assert imp.counts["imported"] == 4
    zones = {lead.last_name: (lead.timezone, lead.timezone_source) for lead in wizard.leads()}
    assert zones == {
        "wa": ("Australia/Perth", "state"),
        "perth": ("Australia/Perth", "postal"),
        "qld": ("Australia/Brisbane", "state"),
        "landline": ("Australia/Perth", "number"),
    }


def test_a_mapped_zone_column_shows_its_source_and_an_invalid_zone_is_a_cell_error(wizard):
    data = (
        b"Last Name,Phone,Time Zone\nok,212-555-0101,America/Chicago\nbad,212-555-0102,Mars/Base\n"
    )
    import_id = wizard.through_check(data, scope="none")
    html = text_of(wizard.client.get(f"/imports/{import_id}/check"))
    assert "<th>Time zone</th>" in html and 'data-testid="zone-2"' not in html
    good = re.search(r'data-testid="row-2".*?</tr>', html, re.S).group(0)
    assert "America/Chicago" in good and "(from the file)" in good
    bad = re.search(r'data-testid="row-3".*?</tr>', html, re.S).group(0)
    assert "cell-bad" in bad and "not a known IANA name" in bad
    assert _counts(html)["invalid"] == 1
