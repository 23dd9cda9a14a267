"""Match keys, duplicate groups, golden record; truth counts of real and generated files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leadapp.domain.csv_io import read_chunks
from leadapp.domain.duplicates import (
    any_of_groups,
    choose_golden,
    find_duplicates,
    first_occurrence,
    key_parts,
    match_key,
    repeats_earlier,
    row_key,
)
from leadapp.domain.phones import normalise_phones
from tests.domain.helpers import FIXTURES, shared_samples

# ------------------------------------------------------------------ truth counts


def _counts(path: Path, regions: list[str]) -> dict:
    """csv_io + phones + duplicates, the way an import counts a file."""
    frames = list(read_chunks(path, chunk_rows=400))
    df = pd.concat(frames)
    e164 = normalise_phones(df["Phone"], regions[0])["e164"]
    for region in regions[1:]:  # a mixed file: try the other countries for what is left
        todo = e164.isna()
        e164[todo] = normalise_phones(df.loc[todo, "Phone"], region)["e164"]
    dups = find_duplicates(pd.DataFrame({"phone1": e164}), "phone1")
    return {
        "rows": len(df),
        "rows_with_valid_phone": int(e164.notna().sum()),
        "invalid_phone_rows": int(e164.isna().sum()),
        "duplicate_rows": int(dups["is_duplicate"].sum()),
        "unique_valid_phones": int(e164.nunique()),
    }


def _expected(path: Path) -> dict:
    truth = json.loads(path.with_suffix(".truth.json").read_text())
    return {k: truth[k] for k in ("rows", "rows_with_valid_phone", "invalid_phone_rows",
                                  "duplicate_rows", "unique_valid_phones")}  # fmt: skip


_REGIONS = {"us": ["US"], "au": ["AU"], "uk": ["GB"], "mix": ["US", "AU", "GB"]}


def test_shared_sample_truth_counts():
    for path in shared_samples():
        regions = _REGIONS[path.stem.split("_")[1]]
        assert _counts(path, regions) == _expected(path), path.name


@pytest.mark.parametrize(
    "name", ["leads_us_1500", "leads_au_1200", "leads_uk_800", "leads_mix_1500"]
)
def test_fixture_truth_counts(name):
    path = FIXTURES / f"{name}.csv"
    assert _counts(path, _REGIONS[name.split("_")[1]]) == _expected(path)


# ------------------------------------------------------------------ keys and groups


def test_match_keys_normalise_and_combine():
    df = pd.DataFrame(
        {
            "phone1": ["+14155552671", "+14155552671", None, "+14155552671"],
            "email": [" Ann@X.com", "ann@x.com ", "ann@x.com", ""],
            "policy": ["AB-1", "ab-1 ", "AB-1", "x"],
        }
    )
    assert match_key(df, "email").tolist()[:3] == ["ann@x.com"] * 3
    assert pd.isna(match_key(df, "email")[3])
    assert match_key(df, "policy")[0] == match_key(df, "policy")[1]
    ids = pd.DataFrame({"customer_key": [" AB-1", "AB-1 ", "ab-1", ""]})
    keys = match_key(ids, "customer_key")
    assert keys[0] == keys[1] == "AB-1" and keys[2] == "ab-1" and pd.isna(keys[3])
    both = match_key(df, ["phone1", "email"])
    assert both[0] == both[1] and pd.isna(both[2]) and pd.isna(both[3])
    with pytest.raises(ValueError):
        match_key(df, [])


def test_find_duplicates_first_kept_later_marked():
    df = pd.DataFrame({"phone1": ["+1", "+2", "+1", None, "+2", "+1", ""]}, index=list("abcdefg"))
    out = find_duplicates(df, "phone1")
    assert out["is_duplicate"].tolist() == [False, False, True, False, True, True, False]
    assert out["duplicate_of"].tolist()[2] == "a"
    assert out.loc["e", "duplicate_of"] == "b" and out.loc["f", "duplicate_of"] == "a"
    assert pd.isna(out.loc["a", "duplicate_of"]) and pd.isna(out.loc["d", "duplicate_of"])
    assert out.loc["d", "group"] == -1 and out.loc["g", "group"] == -1
    assert out.loc["a", "group"] == out.loc["c", "group"] != out.loc["b", "group"]


LEADS = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6, 7],
        "grp": [0, 0, 0, 1, 1, -1, 2],
        "created_at": ["2025-01-01", "2025-03-01", "2025-02-01", "2025-01-01", "2025-01-01",
                       "2024-01-01", "2025-05-05"],
        "last_called_at": ["2025-06-01", "", "2025-04-01", "", "", "", ""],
        "source": ["outbound", "web", "inbound", "outbound", "outbound", "web", "web"],
    }
)  # fmt: skip


@pytest.mark.parametrize(
    ("keep", "golden_of_group0"),
    [("latest-created", 2), ("latest-called", 1), ("inbound", 3)],
)
def test_golden_record_rules(keep, golden_of_group0):
    out = choose_golden(LEADS, "grp", keep)
    assert out["golden_id"].tolist()[:3] == [golden_of_group0] * 3
    assert out["is_golden"].tolist()[:3] == [i == golden_of_group0 for i in (1, 2, 3)]
    # a tie (same created date, never called, same source) goes to the lowest id
    assert out["golden_id"].tolist()[3:5] == [4, 4]
    # rows without a group are their own golden record
    assert out["is_golden"].tolist()[5:] == [True, True]


def test_golden_is_deterministic_under_row_order():
    shuffled = LEADS.sample(frac=1, random_state=3)
    a = choose_golden(LEADS, "grp", "latest-created")["golden_id"]
    b = choose_golden(shuffled, "grp", "latest-created")["golden_id"]
    assert a.to_dict() == b.reindex(a.index).to_dict()
    with pytest.raises(ValueError, match="keep rule"):
        choose_golden(LEADS, "grp", "oldest")


# --- several match keys: "any of" (the default) and "all of" ----------------------------


SEVERAL = pd.DataFrame(
    {
        "phone1": ["+14155550101", "+14155550102", "+14155550101", "+14155550103", None],
        "email": ["a@x.com", "A@X.com ", "c@x.com", None, "e@x.com"],
    }
)


def test_any_of_repeats_a_row_sharing_one_part_all_of_only_the_whole_key():
    fields = ["phone1", "email"]
    anyk = row_key(SEVERAL, fields, "any")
    allk = row_key(SEVERAL, fields, "all")
    # Row 1 repeats row 0's email, row 2 its phone: two duplicates with "any of"...
    assert repeats_earlier(anyk, 2, "any").tolist() == [False, True, True, False, False]
    # ... none with "all of" (no row repeats both).
    assert repeats_earlier(allk, 2, "all").tolist() == [False] * 5
    assert first_occurrence(anyk, 2, "any").tolist()[:3] == [pd.NA, 0, 0]
    # A row with one part empty still has a key in "any" mode, not in "all" mode.
    assert pd.notna(anyk[3]) and pd.isna(allk[3])
    phones, emails = key_parts(anyk, 2)
    assert phones.tolist()[3] == "+14155550103" and pd.isna(emails[3])
    assert emails[1] == "a@x.com" and pd.isna(phones[4])


def test_one_field_is_the_same_key_in_both_modes():
    assert row_key(SEVERAL, ["email"], "any").equals(row_key(SEVERAL, ["email"], "all"))


def test_any_of_groups_follow_chains_and_leave_rows_without_values_alone():
    ids = pd.Series([10, 11, 12, 13, 14])
    parts = {
        "phone": pd.Series(["p1", "p2", "p2", None, None]),
        "email": pd.Series(["e1", None, "e3", "e1", None]),
    }
    # 13 shares e1 with 10; 12 shares p2 with 11: two groups; 14 alone.
    assert any_of_groups(ids, parts).tolist() == [10, 11, 11, 10, 14]
    chain = {"phone": pd.Series(["p1", "p1", None]), "email": pd.Series([None, "e", "e"])}
    assert any_of_groups(pd.Series([3, 2, 1]), chain).tolist() == [1, 1, 1]
