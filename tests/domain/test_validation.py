"""Field-definition checks: required, types, unique in file, max length."""

from __future__ import annotations

import pandas as pd

from leadapp.domain.fields import STANDARD_FIELDS, FieldSpec
from leadapp.domain.validation import REASON_TEXT, validate


def test_standard_fields_are_complete():
    keys = [f.key for f in STANDARD_FIELDS]
    assert keys[:4] == ["customer_key", "first_name", "last_name", "email"]
    for key in ["phone1", "phone2", "phone3", "phone4", "phone5", "timezone", "state",
                "postal_code", "country", "source", "status", "created_at", "last_called_at",
                "notes"]:  # fmt: skip
        assert key in keys


FIELDS = [
    FieldSpec("phone1", "Phone", "phone", required=True),
    FieldSpec("email", "Email", "email", unique=True),
    FieldSpec("age", "Age", "number"),
    FieldSpec("created_at", "Created", "date"),
    FieldSpec("dnc", "Do not call", "boolean"),
    FieldSpec("notes", "Notes", max_length=5),
    FieldSpec("customer_key", "Key", unique=True),
]


def test_per_cell_reasons():
    df = pd.DataFrame(
        {
            "phone1": ["(415) 555-2671", "12345", "", "+44 7400 123456"],
            "email": ["a@x.com", "A@X.com ", "not-an-email", ""],
            "age": ["42", "4,5", "old", ""],
            "created_at": ["2025-01-31", "2025-01-31 14:30", "31/13/2025x", ""],
            "dnc": ["yes", "0", "maybe", ""],
            "notes": ["short", "far too long", "", ""],
            "customer_key": ["C1", "C2", "C1", ""],
            "extra": ["kept", "", "", ""],
        }
    )
    v = validate(df, FIELDS, region="US")
    r = v.reasons
    assert pd.isna(r.loc[0, "phone1"])
    assert r.loc[1, "phone1"] == "phone_too_short"
    assert r.loc[2, "phone1"] == "required"
    assert pd.isna(r.loc[3, "phone1"])
    assert r.loc[1, "email"] == "duplicate_in_file"  # case and blanks ignored
    assert r.loc[2, "email"] == "invalid_email"
    assert pd.isna(r.loc[3, "email"])
    assert r.loc[2, "age"] == "not_a_number" and pd.isna(r.loc[1, "age"])
    assert r.loc[2, "created_at"] == "not_a_date" and pd.isna(r.loc[1, "created_at"])
    assert r.loc[2, "dnc"] == "not_a_boolean"
    assert r.loc[1, "notes"] == "truncated"
    assert r.loc[2, "customer_key"] == "duplicate_in_file"
    assert v.values.loc[0, "phone1"] == "+14155552671"
    assert v.values.loc[0, "phone1_raw"] == "(415) 555-2671"
    assert v.values.loc[1, "notes"] == "far t"
    assert v.values.loc[1, "age"] == 4.5
    assert bool(v.values.loc[0, "dnc"]) is True and bool(v.values.loc[1, "dnc"]) is False
    assert v.values.loc[1, "created_at"] == pd.Timestamp("2025-01-31 14:30")
    assert v.values.loc[0, "extra"] == "kept"
    assert v.row_valid.tolist() == [True, False, False, True]
    assert "phone1: phone_too_short" in v.row_reasons()[1]
    for code in r.stack().dropna().unique():
        assert code in REASON_TEXT


def test_truncation_is_only_a_warning():
    v = validate(pd.DataFrame({"notes": ["x" * 10]}), FIELDS[5:6])
    assert v.reasons.loc[0, "notes"] == "truncated"
    assert bool(v.row_valid[0])


def test_missing_required_column():
    v = validate(pd.DataFrame({"email": ["a@b.co"]}), FIELDS)
    assert v.reasons.loc[0, "phone1"] == "required"
    assert not v.row_valid[0]


def test_dict_field_definitions():
    fields = [{"key": "email", "label": "E", "type": "email", "required": True}]
    v = validate(pd.DataFrame({"email": ["", "a@b.co"]}), fields)
    assert v.reasons["email"].tolist()[0] == "required"
    assert v.row_valid.tolist() == [False, True]
