"""The mapping step's guesses through the wizard (issue 17, items 1 and 2): Phone 1 is the
number most worth dialling and the page says why; a full name is split into first and last
name; LeadApp's own export goes back in as it came out."""

from __future__ import annotations

import csv
import io
import re

import pytest

from leadapp.extensions import db
from leadapp.models import Account
from leadapp.security import account_scope
from leadapp.services.accounts import create_campaign
from tests.hostile.conftest import Wizard, text_of
from tests.imports import layouts


@pytest.fixture
def wizard(app, admin_client, monkeypatch) -> Wizard:
    return Wizard(app, admin_client, monkeypatch)


def use_campaign(wizard: Wizard, name: str, region: str, zone: str) -> None:
    """Later imports of ``wizard`` go to a new campaign of ``region``."""
    with wizard.app.app_context(), account_scope(wizard.account_id):
        campaign = create_campaign(
            db.session.get(Account, wizard.account_id), name, region=region, timezone=zone
        )
        db.session.commit()
        wizard.campaign_id = campaign.id


def selected(page: str, header: str) -> str | None:
    select = re.search(
        rf'<select[^>]*data-testid="map-{re.escape(header)}"[^>]*>(.*?)</select>', page, re.DOTALL
    )
    chosen = re.search(r'<option value="([^"]*)"\s+selected', select.group(1))
    return chosen.group(1) if chosen else None


def test_a_crm_file_gets_its_mobile_column_as_phone1_and_the_page_says_why(app, wizard):
    """Landline (a third filled) and Mobile (almost all): 1,928 valid rows of 2,000, not 624."""
    use_campaign(wizard, "London", "GB", "Europe/London")
    layout = layouts.crm_export()
    import_id = wizard.new()
    assert wizard.upload(import_id, layout.data, "crm.csv").status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/mapping"))
    assert selected(page, "Mobile") == "phone1"
    assert selected(page, "Landline") == "phone2"
    assert selected(page, "Work") == "phone3"
    assert selected(page, "CustKey") == "customer_key"
    order = " ".join(
        re.search(r'data-testid="phone-order">(.*?)</div>', page, re.S).group(1).split()
    )
    assert "the phone column with the most valid numbers for GB in the first 1,000 rows" in order
    assert "mobile numbers before landlines on a tie" in order
    items = re.findall(r'data-testid="phone-order-([^"]+)">([^<]*)<', order)
    assert [h for h, _ in items] == ["Mobile", "Landline", "Work"]
    assert items[0][1] == "Mobile (now Phone 1): 964 valid, mobiles"  # 36 rows have none

    assert wizard.mapping(import_id).status_code == 302
    check = wizard.duplicates(import_id, scope="none")
    assert 'id="check-grid"' in check.get_data(as_text=True), wizard.errors
    imp = wizard.imp(import_id)
    assert imp.counts["valid"] == 1928 and imp.counts["rows"] == 2000


def test_a_full_name_column_is_split_into_first_and_last_name(app, wizard):
    use_campaign(wizard, "Sydney", "AU", "Australia/Sydney")
    layout = layouts.full_name_sheet(40)
    import_id = wizard.new()
    assert wizard.upload(import_id, layout.data, "sheet.csv").status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/mapping"))
    assert selected(page, "Full name") == "full_name"
    assert '<option value="full_name" selected>Full name (first and last name)</option>' in page
    assert selected(page, "Account No") == "customer_key"
    assert wizard.mapping(import_id).status_code == 302
    wizard.duplicates(import_id, scope="none")
    wizard.start(import_id)
    assert not wizard.errors, wizard.errors
    leads = {lead.customer_key: lead for lead in wizard.leads()}
    assert len(leads) == 36  # two rows in twenty have no valid phone
    rows = list(csv.reader(io.StringIO(layout.data.decode())))[1:]
    for row in (rows[1], rows[5]):  # "Jack Brown", then "Brown, Jack" (every fifth row)
        first, last = row[1].split(" ") if "," not in row[1] else row[1].split(", ")[::-1]
        lead = leads[row[0]]
        assert (lead.first_name, lead.last_name) == (first, last)


def test_a_full_name_and_a_first_name_together_are_refused_with_a_sentence(app, wizard):
    import_id = wizard.new()
    data = b"Name,First,Phone\nAnn Lee,Ann,+14155550100\n"
    assert wizard.upload(import_id, data).status_code == 302
    response = wizard.mapping(import_id, {0: "full_name", 1: "first_name", 2: "phone1"})
    assert response.status_code == 422
    assert (
        "Two columns are mapped to First name (a full name fills the first and last name); "
        "keep one of them." in text_of(response)
    )


def test_leadapp_own_export_goes_back_in_as_it_came_out(app, wizard):
    layout = layouts.leadapp_export(30)
    import_id = wizard.new()
    assert wizard.upload(import_id, layout.data, "pool-leads.csv").status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/mapping"))
    for header, field in layout.expected.items():
        assert selected(page, header) == field, header
