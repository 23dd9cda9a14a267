"""The mapping step's guesses (issue 17, item 1): Phone 1 is the number most worth
dialling, customer keys and full names are recognised, LeadApp's own export maps back to
itself; and the fraction mapped right without help, on the shared samples and five export
layouts of real systems (printed; run with -s to see it)."""

from __future__ import annotations

import pandas as pd
import pytest

from leadapp.domain.columns import (
    FULL_NAME,
    apply_mapping,
    phone_columns,
    split_full_name,
    suggest_mapping,
)
from leadapp.domain.fields import STANDARD_FIELDS
from tests.conftest import SHARED
from tests.imports.layouts import LAYOUTS, crm_export, guess, leadapp_export, shared_samples


def _mapped(headers, rows=None, region="US") -> dict:
    found = suggest_mapping(headers, rows, STANDARD_FIELDS, region=region)
    return {h: f for h, f in found.items() if f}


def test_phone1_is_the_column_with_the_most_valid_numbers():
    """Landline a third filled, Mobile almost all: Mobile is Phone 1 (1,928 valid rows of
    2,000 instead of 624)."""
    layout = crm_export()
    result = guess(layout)
    assert result.phone1 == "Mobile"
    assert not result.wrong, result.wrong


def test_on_a_tie_mobile_numbers_come_before_landlines():
    rows = [[f"020 7946 {i:04d}", f"07958 022{i:03d}"] for i in range(10)]
    assert _mapped(["Phone", "Other"], rows, "GB") == {"Phone": "phone2", "Other": "phone1"}
    # US numbers do not say which they are: the names do.
    rows = [[f"(415) 555-{i:04d}", f"(702) 555-{i:04d}"] for i in range(10)]
    assert _mapped(["Landline", "Cell"], rows) == {"Landline": "phone2", "Cell": "phone1"}
    # Without values only the names decide, as before.
    assert _mapped(["Phone", "Mobile"]) == {"Phone": "phone1", "Mobile": "phone2"}


def test_the_ranking_gives_the_evidence_the_mapping_step_shows():
    ranked = phone_columns(
        {0: ["", "020 7946 0001", ""], 1: ["07958 022654", "07958 022655", "x"]},
        {0: "Landline", 1: "Mobile"},
        "GB",
    )
    assert [(c.header, c.valid, c.sampled, c.kind) for c in ranked] == [
        ("Mobile", 2, 3, "mobile"),
        ("Landline", 1, 3, "landline"),
    ]


@pytest.mark.parametrize(
    "header", ["CustKey", "Cust ID", "Account No", "Acct No.", "Customer Ref", "Member ID"]
)
def test_customer_keys_by_their_usual_names(header):
    assert _mapped([header, "Phone"]) == {header: "customer_key", "Phone": "phone1"}


def test_a_specific_customer_key_wins_over_a_row_id():
    assert _mapped(["lead_id", "vendor_lead_code", "phone_number"]) == {
        "vendor_lead_code": "customer_key",
        "phone_number": "phone1",
    }


def test_a_name_column_is_a_full_name_unless_first_or_last_names_are_there():
    assert _mapped(["Full name", "Phone"]) == {"Full name": FULL_NAME, "Phone": "phone1"}
    assert _mapped(["Name", "Phone"]) == {"Name": FULL_NAME, "Phone": "phone1"}
    assert _mapped(["Name", "First Name", "Last Name"]) == {
        "First Name": "first_name",
        "Last Name": "last_name",
    }
    assert _mapped(["Company Name", "Account Name", "Phone"]) == {"Phone": "phone1"}


def test_a_full_name_splits_into_first_and_last_name():
    names = pd.Series(["John Smith", "Smith, John", "Mary Ann Lee", "Dr. Ana Ruiz", "Cher", ""])
    split = split_full_name(names).fillna("")
    assert split["first_name"].tolist() == ["John", "John", "Mary Ann", "Ana", "Cher", ""]
    assert split["last_name"].tolist() == ["Smith", "Smith", "Lee", "Ruiz", "", ""]
    df = pd.DataFrame({"Full name": ["Ann Lee"], "Tel": ["+14155550100"]})
    out = apply_mapping(df, {"Full name": FULL_NAME, "Tel": "phone1"})
    assert out.to_dict("records") == [
        {"first_name": "Ann", "last_name": "Lee", "phone1": "+14155550100"}
    ]
    with pytest.raises(ValueError, match="is a full name"):
        apply_mapping(df, {"Full name": FULL_NAME, "Tel": "first_name"})


def test_leadapp_own_export_maps_back_to_itself():
    """Every column that is a lead field maps to that field (``id`` was taken for the
    customer key and ``customer_key`` left unmapped); ids and call results stay unmapped."""
    result = guess(leadapp_export())
    assert not result.wrong, result.wrong


def test_the_fraction_mapped_right_without_help():
    layouts = {name: make() for name, make in LAYOUTS.items()}
    layouts.update(shared_samples(SHARED / "samples"))
    right = columns = phone_right = 0
    print()
    for name, layout in layouts.items():
        result = guess(layout)
        right, columns = right + result.right, columns + result.columns
        phone_right += result.phone1 == layout.phone1
        print(f"{name}: {result.right}/{result.columns} columns, Phone 1 = {result.phone1}")
    print(
        f"Mapped right without help: {right}/{columns} columns ({right / columns:.0%}); "
        f"Phone 1 right in {phone_right}/{len(layouts)} files"
    )
    assert phone_right == len(layouts)  # the phone -> Phone 1 choice: 100 %
    assert right == columns
