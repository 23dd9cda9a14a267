""" "Use the first valid phone as Phone 1": a row without a valid Phone 1 dials its next
valid number instead of being refused (an import setting)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadapp.domain.fields import PHONE_FIELDS


def use_first_valid_phone(
    values: pd.DataFrame, reasons: pd.DataFrame, key_phone: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Rows whose ``key_phone`` is empty or invalid take the first valid other phone
    (phone1, phone2... order) as ``key_phone``; that number leaves its own column, so it is
    not stored twice. An invalid Phone 1 so replaced is kept as a warning, not a refusal.

    ``values`` hold normalised phones (invalid extra phones already blank) and their
    ``<field>_raw`` text; returns new ``values`` and ``reasons`` and the rows changed."""
    values, reasons = values.copy(), reasons.copy()
    others = [p for p in PHONE_FIELDS if p != key_phone and p in values]
    moved = pd.Series(False, index=values.index)
    if key_phone not in values or not others:
        return values, reasons, moved
    for col in others:
        take = values[key_phone].isna() & values[col].notna()
        if not take.any():
            continue
        if key_phone in reasons:
            bad = take & reasons[key_phone].notna()
            reasons.loc[bad, key_phone] = "warn_" + reasons.loc[bad, key_phone].str.removeprefix(
                "warn_"
            )
        values.loc[take, key_phone] = values.loc[take, col]
        values.loc[take, col] = np.nan
        for raw in (f"{key_phone}_raw", f"{col}_raw"):
            if raw not in values:
                values[raw] = pd.Series(np.nan, index=values.index, dtype="object")
        values.loc[take, f"{key_phone}_raw"] = values.loc[take, f"{col}_raw"]
        values.loc[take, f"{col}_raw"] = np.nan
        moved |= take
    return values, reasons, moved
