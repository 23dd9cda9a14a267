"""Column matching: aliases, known exports, fuzzy, value evidence, history, applying."""

from __future__ import annotations

import pandas as pd
import pytest

from leadapp.domain.columns import ALIASES, apply_mapping, normalise_header, suggest_mapping
from leadapp.domain.fields import STANDARD_FIELDS

GEN = ["Customer ID", "First Name", "Last Name", "Phone", "Alt Phone", "Email", "State",
       "Created", "Last Called", "Source", "Notes"]  # fmt: skip


def _mapped(headers, rows=None, **kw) -> dict:
    return {h: f for h, f in suggest_mapping(headers, rows, STANDARD_FIELDS, **kw).items() if f}


def test_gen_leads_header():
    assert _mapped(GEN) == {
        "Customer ID": "customer_key", "First Name": "first_name", "Last Name": "last_name",
        "Phone": "phone1", "Alt Phone": "phone2", "Email": "email", "State": "state",
        "Created": "created_at", "Last Called": "last_called_at", "Source": "source",
        "Notes": "notes",
    }  # fmt: skip


def test_google_contacts_export():
    headers = ["Name", "Given Name", "Additional Name", "Family Name", "Nickname",
               "E-mail 1 - Type", "E-mail 1 - Value", "Phone 1 - Type", "Phone 1 - Value",
               "Phone 2 - Type", "Phone 2 - Value", "Notes", "Organization 1 - Name"]  # fmt: skip
    assert _mapped(headers) == {
        "Given Name": "first_name", "Family Name": "last_name", "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone1", "Phone 2 - Value": "phone2", "Notes": "notes",
    }  # fmt: skip


def test_hubspot_export():
    headers = ["Record ID", "First Name", "Last Name", "Email", "Phone Number",
               "Mobile Phone Number", "State/Region", "Postal Code", "Create Date",
               "Lead Status", "Original Source", "Company Name"]  # fmt: skip
    assert _mapped(headers) == {
        "Record ID": "customer_key", "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Phone Number": "phone1", "Mobile Phone Number": "phone2",
        "State/Region": "state", "Postal Code": "postal_code", "Create Date": "created_at",
        "Lead Status": "status", "Original Source": "source",
    }  # fmt: skip


def test_vicidial_standard_list_layout():
    headers = [
        "vendor_lead_code",
        "source_id",
        "list_id",
        "phone_code",
        "phone_number",
        "title",
        "first_name",
        "middle_initial",
        "last_name",
        "address1",
        "address2",
        "address3",
        "city",
        "state",
        "province",
        "postal_code",
        "country_code",
        "gender",
        "date_of_birth",
        "alt_phone",
        "email",
        "security_phrase",
        "comments",
        "rank",
        "owner",
    ]
    assert _mapped(headers) == {
        "vendor_lead_code": "customer_key", "source_id": "source", "phone_number": "phone1",
        "first_name": "first_name", "last_name": "last_name", "state": "state",
        "postal_code": "postal_code", "country_code": "country", "alt_phone": "phone2",
        "email": "email", "comments": "notes",
    }  # fmt: skip


def test_salesforce_lead_export():
    headers = ["Lead ID", "First Name", "Last Name", "Title", "Company", "Email", "Phone",
               "Mobile Phone", "Street", "City", "State/Province", "Zip/Postal Code", "Country",
               "Lead Source", "Lead Status", "Created Date", "Description"]  # fmt: skip
    assert _mapped(headers) == {
        "Lead ID": "customer_key", "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Phone": "phone1", "Mobile Phone": "phone2",
        "State/Province": "state", "Zip/Postal Code": "postal_code", "Country": "country",
        "Lead Source": "source", "Lead Status": "status", "Created Date": "created_at",
        "Description": "notes",
    }  # fmt: skip


def test_zoho_leads_export():
    headers = ["Record Id", "Lead Owner", "Company", "First Name", "Last Name", "Email",
               "Phone", "Mobile", "Lead Source", "Lead Status", "City", "State", "Zip Code",
               "Country", "Description", "Created Time", "Modified Time"]  # fmt: skip
    assert _mapped(headers) == {
        "Record Id": "customer_key", "First Name": "first_name", "Last Name": "last_name",
        "Email": "email", "Phone": "phone1", "Mobile": "phone2", "Lead Source": "source",
        "Lead Status": "status", "State": "state", "Zip Code": "postal_code",
        "Country": "country", "Description": "notes", "Created Time": "created_at",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Telefon", "phone1"),
        ("Téléphone", "phone1"),
        ("Teléfono", "phone1"),
        ("Telefono", "phone1"),
        ("Telefoon", "phone1"),
        ("Telefone", "phone1"),
        ("Numer telefonu", "phone1"),
        ("Handy", "phone1"),
        ("Móvil", "phone1"),
        ("Vorname", "first_name"),
        ("Prénom", "first_name"),
        ("Voornaam", "first_name"),
        ("Imię", "first_name"),
        ("Nachname", "last_name"),
        ("Cognome", "last_name"),
        ("Nazwisko", "last_name"),
        ("Apellidos", "last_name"),
        ("Sobrenome", "last_name"),
        ("Courriel", "email"),
        ("Correo electrónico", "email"),
        ("E-Mail-Adresse", "email"),
        ("PLZ", "postal_code"),
        ("Code postal", "postal_code"),
        ("CEP", "postal_code"),
        ("Kod pocztowy", "postal_code"),
        ("Zeitzone", "timezone"),
        ("Fuseau horaire", "timezone"),
        ("Bundesland", "state"),
        ("Województwo", "state"),
        ("Pays", "country"),
        ("Kraj", "country"),
        ("Quelle", "source"),
        ("Źródło", "source"),
        ("Statut", "status"),
        ("Bemerkungen", "notes"),
        ("Uwagi", "notes"),
        ("Opmerkingen", "notes"),
        ("Kundennummer", "customer_key"),
        ("Klantnummer", "customer_key"),
        ("Letzter Anruf", "last_called_at"),
        ("Data de criação", "created_at"),
        ("Telefonnumer", "phone1"),  # a typo: fuzzy
        ("Primary E-mail Address", "email"),  # contains an alias
    ],
)
def test_european_aliases_and_fuzzy(header, field):
    assert suggest_mapping([header], None)[header] == field


def test_every_standard_field_has_aliases_in_several_languages():
    for f in STANDARD_FIELDS:
        key = "phone" if f.key.startswith("phone") else f.key
        assert len(ALIASES[key]) >= 5, key


def test_values_as_evidence():
    headers = ["col_a", "col_b", "col_c", "col_d"]
    rows = [
        ["(415) 555-2671", "ann@example.com", "Europe/Berlin", "blue"],
        ["212-555-0188", "bo@example.org", "America/New_York", "red"],
        ["+1 646 555 0100", "cy@example.net", "Australia/Sydney", "green"],
    ]
    s = suggest_mapping(headers, rows, STANDARD_FIELDS)
    assert dict(s) == {"col_a": "phone1", "col_b": "email", "col_c": "timezone", "col_d": None}
    assert s.details["col_a"].reason == "values"
    assert 0 < s.details["col_a"].confidence < s.details.get("col_b").confidence + 0.01


def test_history_comes_first():
    history = {normalise_header("Kontakt"): "phone1", "weird column": "notes", "Phone": "phone2"}
    s = suggest_mapping(["Kontakt", "Weird_Column", "Phone"], None, history=history)
    assert dict(s) == {"Kontakt": "phone1", "Weird_Column": "notes", "Phone": "phone2"}
    assert s.details["Kontakt"].reason == "history"
    assert s.details["Kontakt"].confidence == 1.0


def test_custom_fields_by_key_and_label():
    fields = [*STANDARD_FIELDS, {"key": "policy_no", "label": "Policy number", "type": "text"}]
    s = suggest_mapping(["Policy Number", "policy_no"], None, fields)
    assert s["Policy Number"] == "policy_no"
    assert s["policy_no"] is None  # one column per field
    assert s.details["policy_no"].reason == "taken"


def test_several_phone_columns_fill_phone1_to_phone5_in_order():
    headers = ["Mobile", "Phone", "Work Phone", "Home Phone", "Other Phone", "Fax", "Phone 2"]
    s = suggest_mapping(headers, None)
    assert s["Phone"] == "phone1"
    assert [s[h] for h in headers if h != "Phone"][:4] == ["phone2", "phone3", "phone4", "phone5"]
    assert sum(v is not None for v in s.values()) == 5


def test_only_fields_of_the_account_are_suggested():
    fields = [f for f in STANDARD_FIELDS if f.key not in ("state", "phone3")]
    s = suggest_mapping(["State", "Phone", "Alt Phone", "Fax"], None, fields)
    assert dict(s) == {"State": None, "Phone": "phone1", "Alt Phone": "phone2", "Fax": "phone4"}


def test_normalise_header():
    assert normalise_header("  E-mail 1 - Value ") == "e mail 1 value"
    assert normalise_header("Téléphone_Portable") == "telephone portable"
    assert normalise_header("Źródło") == "zrodlo"


def test_apply_mapping_one_column_to_several_fields_and_phones():
    df = pd.DataFrame(
        {"Tel": ["1", "2"], "Mobile": ["3", "4"], "Name": ["A", "B"], "x": ["", ""]},
        index=[5, 9],
    )
    out = apply_mapping(
        df, {"Tel": "phone1", "Mobile": "phone2", "Name": ["first_name", "notes"], "x": None}
    )
    assert out.columns.tolist() == ["phone1", "phone2", "first_name", "notes"]
    assert out.index.tolist() == [5, 9]
    assert out["notes"].tolist() == ["A", "B"]
    with pytest.raises(ValueError, match="both mapped"):
        apply_mapping(df, {"Tel": "phone1", "Mobile": "phone1"})
    with pytest.raises(KeyError):
        apply_mapping(df, {"Nope": "email"})
