"""The mapping step's guesses through the wizard (issue 17, items 1 and 2): Phone 1 is the
number most worth dialling and the page says why; a full name is split into first and last
name; LeadApp's own export goes back in as it came out."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from leadapp.extensions import db
from leadapp.models import Account, MappingTemplate
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


def mapping_form(wizard, import_id, **extra) -> dict:
    """The mapping page's form as the browser would post it (suggested fields)."""
    page = text_of(wizard.client.get(f"/imports/{import_id}/mapping"))
    form = {"csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)}
    for index, options in re.findall(
        r'<select[^>]*name="map-(\d+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)"\s+selected', options)
        form[f"map-{index}"] = chosen.group(1) if chosen else ""
    if 'name="first_valid_phone" value="1" checked' in page:
        form["first_valid_phone"] = "1"
    form.update(extra)
    return form


SECOND_PHONE_ONLY = (
    b"First Name,Phone,Phone 2\n"
    + b"".join(b"P%d,+1 415 234 01%02d,\n" % (i, i) for i in range(6))  # Phone: the most
    + b"Bob,,+1 415 234 0002\n"
    + b"Cy,12345,+1 415 234 0003\n"
)


def test_the_first_valid_phone_is_phone1_when_phone1_is_empty_by_default(app, wizard):
    """Item 2: rows whose Phone 1 is empty or invalid but whose Phone 2 is valid."""
    import_id = wizard.new()
    assert wizard.upload(import_id, SECOND_PHONE_ONLY).status_code == 302
    page = text_of(wizard.client.get(f"/imports/{import_id}/mapping"))
    assert re.search(r'name="first_valid_phone" value="1" checked', page)  # on for new ones
    response = wizard.client.post(
        f"/imports/{import_id}/mapping", data=mapping_form(wizard, import_id)
    )
    assert response.status_code == 302
    wizard.duplicates(import_id, scope="none")
    assert wizard.imp(import_id).counts["valid"] == 8
    wizard.start(import_id)
    leads = {lead.first_name: lead for lead in wizard.leads()}
    assert (leads["Bob"].phone1, leads["Bob"].phone2) == ("+14152340002", None)
    assert leads["Cy"].phone1 == "+14152340003"


def test_unticked_or_from_an_old_template_the_row_is_refused_as_before(app, wizard):
    with app.app_context(), account_scope(wizard.account_id):
        old = MappingTemplate(
            account_id=wizard.account_id,
            name="Before the setting",
            mapping={"First Name": "first_name", "Phone": "phone1", "Phone 2": "phone2"},
        )
        db.session.add(old)
        db.session.commit()
        old_id = old.id
    import_id = wizard.new()
    assert wizard.upload(import_id, SECOND_PHONE_ONLY).status_code == 302
    form = mapping_form(wizard, import_id, action="load", load_template_choice=str(old_id))
    page = text_of(wizard.client.post(f"/imports/{import_id}/mapping", data=form))
    assert not re.search(r'name="first_valid_phone" value="1" checked', page)  # old: off
    form = mapping_form(wizard, import_id)
    form.pop("first_valid_phone", None)
    assert wizard.client.post(f"/imports/{import_id}/mapping", data=form).status_code == 302
    wizard.duplicates(import_id, scope="none")
    assert wizard.imp(import_id).counts["valid"] == 6


def test_saving_a_template_under_a_taken_name_asks_before_overwriting(app, wizard):
    """Item 9: the template is overwritten only when the supervisor ticks the box."""
    import_id = wizard.new()
    assert wizard.upload(import_id, SECOND_PHONE_ONLY).status_code == 302
    form = mapping_form(wizard, import_id, save_template="CRM")
    assert wizard.client.post(f"/imports/{import_id}/mapping", data=form).status_code == 302

    other = wizard.new("Other")
    assert wizard.upload(other, SECOND_PHONE_ONLY).status_code == 302
    form = mapping_form(wizard, other, save_template="CRM", **{"map-2": ""})
    response = wizard.client.post(f"/imports/{other}/mapping", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert (
        "A template named 'CRM' already exists. Overwrite it with this mapping, or save "
        "under another name." in page
    )
    assert "Overwrite the template “CRM”" in page
    with app.app_context(), account_scope(wizard.account_id):
        (template,) = db.session.scalars(sa.select(MappingTemplate)).all()
        assert template.mapping["Phone 2"] == "phone2"  # untouched
        assert template.options == {"first_valid_phone": True}
    form["overwrite_template"] = "CRM"
    assert wizard.client.post(f"/imports/{other}/mapping", data=form).status_code == 302
    with app.app_context(), account_scope(wizard.account_id):
        (template,) = db.session.scalars(sa.select(MappingTemplate)).all()
        assert "Phone 2" not in template.mapping


def test_an_unmapped_phone_is_said_once(app, wizard):
    """Item 6: the page's phone warning, not also an error saying the same."""
    import_id = wizard.new()
    assert wizard.upload(import_id, SECOND_PHONE_ONLY).status_code == 302
    form = mapping_form(wizard, import_id, **{"map-1": "", "map-2": ""})
    response = wizard.client.post(f"/imports/{import_id}/mapping", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert page.count("Map a column to") == 1
    warning = re.search(r'<div class="([^"]*)" data-testid="phone-warning"', page).group(1)
    assert "d-none" not in warning
    assert 'data-testid="mapping-error"' not in page
    assert wizard.imp(import_id).step != "duplicates"
