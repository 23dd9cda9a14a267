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
        "America/New_York", "Australia/Sydney", "Australia/Sydney", "America/New_York",
    ]  # fmt: skip
    # An Australian mobile: the default (UTC) is not one of its zones, so the lead takes
    # the most populous of them and is callable only when all of them allow.
    assert out.loc[11, "several_zones"] and out.loc[11, "zone_source"] == "default"
    assert out.loc[11, "timezone_note"].startswith("zone unsure: the number may be in 8 zones")
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


def _resolve(rows: list[dict], default_zone="America/Los_Angeles", region="US"):
    df = pd.DataFrame(rows, dtype="str")
    return resolve_timezones(df, tz_field=None, default_zone=default_zone, region=region)


def test_issue_15_evidence_order_for_alaska_hawaii_florida_and_australia():
    out = _resolve(
        [
            {"phone1": "+19075550101", "state": "AK", "postal_code": ""},
            {"phone1": "+18085550101", "state": "HI", "postal_code": ""},
            {"phone1": "+18505550101", "state": "FL", "postal_code": "32501"},
            {"phone1": "+18505550102", "state": "FL", "postal_code": "32301"},
            {"phone1": "+61412345678", "state": "WA", "postal_code": ""},
            {"phone1": "+61412345679", "state": "", "postal_code": "6000"},
            {"phone1": "+61412345670", "state": "QLD", "postal_code": ""},
            {"phone1": "+61892345678", "state": "", "postal_code": ""},
        ],
        default_zone="Australia/Sydney",
        region="AU",
    )
    assert out["timezone"].tolist() == [
        "America/Anchorage", "Pacific/Honolulu", "America/Chicago", "America/New_York",
        "Australia/Perth", "Australia/Perth", "Australia/Brisbane", "Australia/Perth",
    ]  # fmt: skip
    assert out["zone_source"].tolist() == [
        "state", "state", "postal", "postal", "state", "postal", "state", "number",
    ]  # fmt: skip
    assert out["timezone_note"].isna().all()
    assert out["zone_key"].tolist()[:3] == [
        "America/Anchorage|US|AK", "Pacific/Honolulu|US|HI", "America/Chicago|US|FL",
    ]  # fmt: skip


def test_disagreeing_evidence_keeps_the_address_and_is_flagged():
    out = _resolve(
        [
            {"phone1": "+12125550101", "state": "CA", "postal_code": "90001"},
            {"phone1": "+19075550101", "state": "WA", "postal_code": ""},
            {"phone1": "+18505550101", "state": "FL", "postal_code": ""},
        ]
    )
    assert out.loc[0, "timezone"] == "America/Los_Angeles"
    assert out.loc[0, "zone_source"] == "postal"
    assert out.loc[0, "timezone_note"] == (
        "zones disagree: number says America/New_York, address says America/Los_Angeles"
    )
    # Callable only when both allow: the key holds both zones.
    assert out.loc[0, "zone_key"] == "America/Los_Angeles,America/New_York|US|CA"
    assert out.loc[1, "timezone"] == "America/Los_Angeles"
    assert out.loc[1, "timezone_note"].startswith("zones disagree: number says America/Adak")
    # 850 without a ZIP: Florida has two zones and so has the number: unsure.
    assert out.loc[2, "zone_source"] == "default"
    assert out.loc[2, "zone_key"] == "America/Chicago,America/New_York|US|FL"
    assert out.loc[2, "timezone"] in ("America/Chicago", "America/New_York")
    assert out.loc[2, "timezone_note"].startswith("zone unsure")


def test_postal_rules_for_canada_and_australia():
    from leadapp.domain.zone_evidence import postal_zone

    assert postal_zone("CA", "M5V 2T6") == "America/Toronto"
    assert postal_zone("CA", "P9N 1A1") == "America/Winnipeg"  # Kenora: Central time
    assert postal_zone("CA", "T2P 1J9") == "America/Edmonton"
    assert postal_zone("CA", "V0C 1R0") is None
    assert postal_zone("AU", "2880") == "Australia/Adelaide"  # Broken Hill
    assert postal_zone("AU", "2000") == "Australia/Sydney"
    assert postal_zone("AU", "0800") == "Australia/Darwin"
    assert postal_zone("AU", "7000") == "Australia/Hobart"
    assert postal_zone("US", "2134") == "America/New_York"  # 02134, zero dropped
    assert postal_zone("US", "99501-1234") == "America/Anchorage"
    assert postal_zone("US", "abc") is None


def test_a_toll_free_number_is_unsure_with_a_short_note_naming_a_few_of_its_zones():
    """+1 800 may be in 15 zones: the note named all of them (301 characters, past the
    column on PostgreSQL: adding such a lead by hand answered 500)."""
    df = pd.DataFrame({"phone1": ["+18005550100"], "state": [""], "timezone": [""]})
    out = resolve_timezones(df, default_zone="America/New_York", region="US")
    note = out.loc[0, "timezone_note"]
    assert note.startswith("zone unsure: the number may be in 15 zones (")
    assert note.endswith(" and 11 more)") and len(note) < 200
