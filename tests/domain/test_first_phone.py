"""Issue 17 item 2: "use the first valid phone as Phone 1"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadapp.domain.first_phone import use_first_valid_phone


def test_a_row_without_a_valid_phone1_dials_its_next_valid_number():
    values = pd.DataFrame(
        {
            "phone1": [np.nan, "+14155550100", np.nan, np.nan],
            "phone1_raw": ["", "415 555 0100", "12345", ""],
            "phone2": ["+14155550101", "+14155550102", np.nan, np.nan],
            "phone2_raw": ["415 555 0101", "415 555 0102", "", ""],
            "phone3": [np.nan, np.nan, "+14155550103", np.nan],
            "phone3_raw": ["", "", "415 555 0103", ""],
        }
    )
    reasons = pd.DataFrame({"phone1": [np.nan, np.nan, "phone_too_short", np.nan]}, dtype="str")
    out, why, moved = use_first_valid_phone(values, reasons, "phone1")
    assert moved.tolist() == [True, False, True, False]
    assert out["phone1"].tolist()[:3] == ["+14155550101", "+14155550100", "+14155550103"]
    assert out["phone2"].isna().tolist() == [True, False, True, True]  # not stored twice
    assert out["phone3"].isna().all()
    assert out["phone1_raw"].tolist()[:3] == ["415 555 0101", "415 555 0100", "415 555 0103"]
    # The invalid Phone 1 it replaced is a warning now; a row with no phone stays as it was.
    assert why["phone1"].tolist()[2] == "warn_phone_too_short"
    assert pd.isna(out["phone1"].iloc[3])
