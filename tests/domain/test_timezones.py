"""Time-zone resolution order: field, rules, the number's own zone, campaign default."""

from __future__ import annotations

import pandas as pd
import pytest

from leadapp.domain.timezones import REASON_TEXT, check_rules, is_valid_zone, resolve_timezones


def _frame():
    return pd.DataFrame(
        {
            "timezone": ["Europe/Berlin", "Mars/Olympus", "", "", "", ""],
            "state": ["NSW", "nsw ", "NSW", "TX", "", ""],
            "phone1": [
                "+12125550123", "+61412345678", "+61291234567", "+12125550123",
                "+18005550199", None,
            ],
        },
        index=[10, 11, 12, 13, 14, 15],
    )  # fmt: skip


def test_resolution_order_and_sources():
    out = resolve_timezones(
        _frame(),
        rules=[("state", "NSW", "Australia/Sydney"), ("state", "TX", "America/Chicago")],
        default_zone="America/Los_Angeles",
    )
    assert out.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert out["timezone"].tolist() == [
        "Europe/Berlin", "Australia/Sydney", "Australia/Sydney", "America/Chicago",
        "America/Los_Angeles", "America/Los_Angeles",
    ]  # fmt: skip
    assert out["zone_source"].tolist() == ["field", "rule", "rule", "rule", "default", "default"]
    assert out.loc[11, "reason"] == "invalid_timezone"
    assert out["reason"].isna().sum() == 5
    # +61 4.. (AU mobiles) and +1 800 span several zones.
    assert out["several_zones"].tolist() == [False, True, False, False, True, False]
    assert "invalid_timezone" in REASON_TEXT


def test_number_zone_used_only_when_single():
    df = _frame().drop(columns=["state"])
    out = resolve_timezones(df, tz_field=None, default_zone="UTC")
    assert out["timezone"].tolist()[:4] == [
        "America/New_York", "UTC", "Australia/Sydney", "America/New_York",
    ]  # fmt: skip
    assert out.loc[11, "several_zones"] and out.loc[11, "zone_source"] == "default"
    # +1 800 spans every US zone: flagged, not used, the default applies.
    assert out.loc[14, "zone_source"] == "default" and out.loc[14, "several_zones"]
    assert out.loc[10, "zone_source"] == "number"


def test_no_default_leaves_missing():
    out = resolve_timezones(pd.DataFrame({"x": ["a"]}), default_zone=None)
    assert pd.isna(out.loc[0, "timezone"]) and pd.isna(out.loc[0, "zone_source"])


def test_invalid_zone_names_refused():
    assert is_valid_zone("America/New_York") and not is_valid_zone("US Eastern")
    assert not is_valid_zone("PST") and not is_valid_zone(None)
    with pytest.raises(ValueError, match="unknown time zone"):
        check_rules([("state", "NSW", "Sydney")])
    with pytest.raises(ValueError, match="default time zone"):
        resolve_timezones(_frame(), default_zone="Pacific Standard")


def test_explicit_e164_series():
    df = pd.DataFrame({"phone1": ["(212) 555-0123"]}, index=["a"])
    e164 = pd.Series(["+12125550123"], index=["a"])
    out = resolve_timezones(df, e164=e164)
    assert out.loc["a", "timezone"] == "America/New_York"
