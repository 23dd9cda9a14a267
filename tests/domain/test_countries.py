"""Country names from CRM exports become ISO codes, in the languages our users write in."""

import pandas as pd
import pytest

from leadapp.domain.countries import country_codes
from leadapp.domain.validation import validate


@pytest.mark.parametrize(
    "name,code",
    [
        ("United States", "US"),
        ("united states of america", "US"),
        ("USA", "US"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("  España ", "ES"),
        ("Espana", "ES"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("gb", "GB"),
        ("Canada", "CA"),
        ("Australia", "AU"),
        ("Frankreich", "FR"),
    ],
)
def test_names_and_codes_become_iso_codes(name, code):
    assert country_codes(pd.Series([name])).tolist() == [code]


def test_what_names_no_country_is_missing():
    assert country_codes(pd.Series(["Narnia", "", "ZZ"])).isna().all()


def test_validation_stores_the_code_and_warns_about_unknown_names():
    checked = validate(
        pd.DataFrame({"phone1": ["+14155550100"] * 2, "country": ["United States", "Narnia"]})
    )
    assert checked.values["country"].tolist()[0] == "US"
    assert pd.isna(checked.values["country"].tolist()[1])
    assert checked.reasons["country"].tolist()[1] == "not_a_country"
    assert checked.row_valid.tolist() == [True, True]  # a warning: the row stays


def test_multi_value_phone_and_email_cells_keep_their_first_value():
    checked = validate(
        pd.DataFrame(
            {
                "phone1": ["(617) 253-1000 ::: (617) 253-1001"],
                "email": ["ada@example.com ::: ada@work.example"],
            }
        )
    )
    assert checked.values["phone1"].tolist() == ["+16172531000"]
    assert checked.values["email"].tolist() == ["ada@example.com"]
    assert checked.row_valid.tolist() == [True]
