"""Phone normalisation: differential proof against phonenumbers, plus the business cases."""

from __future__ import annotations

import random

import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat as Fmt
from phonenumbers import PhoneNumberType
from phonenumbers.timezone import time_zones_for_number

from leadapp.domain import leadgen
from leadapp.domain import phones as phones_module
from leadapp.domain.phones import (
    REASON_TEXT,
    normalise_phone,
    normalise_phones,
    number_time_zones,
    resolve_region,
)
from tests.domain.helpers import assert_same_as_phonenumbers, shared_samples

# ------------------------------------------------------------------ differential: real files


@pytest.mark.parametrize("column", ["Phone", "Alt Phone"])
def test_shared_samples_every_row_matches_phonenumbers(column):
    for path in shared_samples():
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        own = {"us": "US", "au": "AU", "uk": "GB"}[path.stem.split("_")[1]]
        for region in sorted({own, "US", "GB", "AU", "DE"}):
            assert_same_as_phonenumbers(df[column].tolist(), region)


@pytest.mark.parametrize("gen_region", ["US", "AU", "UK", "MIX"])
def test_leadgen_files_every_row_matches_phonenumbers(tmp_path, gen_region):
    path = tmp_path / "leads.csv"
    leadgen.generate(1_500, path, seed=5, region=gen_region, quirks=True)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    values = df["Phone"].tolist() + df["Alt Phone"].tolist()
    for region in sorted({leadgen.phone_region(gen_region), "US", "AU"}):
        out = assert_same_as_phonenumbers(values, region)
        # The fast path, not the fallback, must decide the common shapes.
        assert out["fallback"].mean() < 0.01


def _example_strings() -> dict[str, list[str]]:
    """Each supported region's example numbers, every type, in four formats (+ dialled)."""
    by_region: dict[str, list[str]] = {}
    types = [getattr(PhoneNumberType, n) for n in dir(PhoneNumberType) if n.isupper()]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        texts = []
        for t in types:
            num = phonenumbers.example_number_for_type(region, t)
            if num is None:
                continue
            texts += [
                phonenumbers.format_number(num, f)
                for f in (Fmt.E164, Fmt.INTERNATIONAL, Fmt.NATIONAL, Fmt.RFC3966)
            ]
            texts.append(phonenumbers.format_out_of_country_calling_number(num, "US"))
            texts.append(phonenumbers.format_out_of_country_calling_number(num, "AU"))
        by_region[region] = list(dict.fromkeys(texts))
    return by_region


EXAMPLES = _example_strings()


def test_example_numbers_with_their_own_region():
    for region, texts in EXAMPLES.items():
        out = assert_same_as_phonenumbers(texts, region)
        # All E164/INTERNATIONAL/NATIONAL forms of valid examples are valid with own region.
        assert out["e164"].notna().any(), region


# The regions the sample files and the generator speak run in `make test`; the sweep over
# the others (each region's numbers dialled from elsewhere, ~2.5 s each) in `make test-slow`.
@pytest.mark.parametrize(
    "region",
    ["US", "GB", "AU"]
    + [pytest.param(r, marks=pytest.mark.slow) for r in ("DE", "IT", "BR", "AR", "MX", "IN", "JP")],
)
def test_all_example_numbers_with_other_regions(region):
    everything = [t for texts in EXAMPLES.values() for t in texts]
    assert_same_as_phonenumbers(everything, region)


def test_example_numbers_with_random_regions():
    rng = random.Random(3)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    everything = [t for texts in EXAMPLES.values() for t in texts]
    for region in rng.sample(regions, 3):
        assert_same_as_phonenumbers(rng.sample(everything, 1500), region)


# ------------------------------------------------------------------ differential: Hypothesis

_ALPHABET = st.sampled_from(
    list("0123456789" * 4)
    + list(" -.()/+x#,;~*")
    + list("extEXTabcN/Al")
    + ["\u00a0", "\u200b", "\u200d", "\u2060", "\ufeff", "\u3000", "\u2013", "\u2212"]
    + ["\uff11", "\uff12", "\uff10", "\u0663", "\u0967", "\uff0b", "\u00b2", "\t"]
)
_PHONEISH = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=24),
    st.builds(
        lambda pre, d, post: pre + d + post,
        st.sampled_from(["", "+", "+1 ", "00", "011", "0", "1", "(0)", "+44 (0)", "+61 "]),
        st.text(alphabet="0123456789 -", min_size=3, max_size=15),
        st.sampled_from(["", " x12", " ext. 5", ";ext=7", "#", " ", "\u200b"]),
    ),
    st.text(max_size=20),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(_PHONEISH, min_size=1, max_size=40),
    region=st.sampled_from(["US", "GB", "AU", "DE", "FR", "IN", "BR", "CA"]),
)
def test_hypothesis_strings_match_phonenumbers(values, region):
    assert_same_as_phonenumbers(values, region)


# ------------------------------------------------------------------ business cases


@pytest.mark.parametrize(
    ("value", "region", "e164"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        (" 415 555 2671 ", "US", "+14155552671"),
        ("1-415-555-2671", "US", "+14155552671"),
        ("+44 7400 123456", "US", "+447400123456"),  # +CC overrides the region
        ("0044 7400 123456", "DE", "+447400123456"),  # 00 international prefix
        ("011 44 7400 123456", "US", "+447400123456"),  # 011 international prefix
        ("07400 123456", "GB", "+447400123456"),  # trunk prefix 0
        ("+44 (0)7400 123456", "US", "+447400123456"),  # (0) after the country code
        ("0412 345 678", "AU", "+61412345678"),
        ("\uff14\uff11\uff15\uff15\uff15\uff15\uff12\uff16\uff17\uff11", "US", "+14155552671"),
        ("415\u00a0555\u00a02671", "US", "+14155552671"),
        ("415\u200b555\u200b2671", "US", "+14155552671"),
        ("\u0664\u0661\u0665\u0665\u0665\u0665\u0662\u0666\u0667\u0661", "US", "+14155552671"),
    ],
)
def test_common_shapes_normalise(value, region, e164):
    out = normalise_phones([value], region)
    assert out.loc[0, "e164"] == e164
    assert pd.isna(out.loc[0, "reason"])
    assert normalise_phone(value, region)[0] == e164


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("N/A", "empty"),
        ("null", "empty"),
        ("\u00a0", "empty"),
        ("call me", "not_a_number"),
        ("12345", "too_short"),
        ("555-0143", "too_short"),
        ("1234567890123456", "too_long"),
        ("+1 (999) 000-0000", "invalid_for_region"),
        ("000-000-0000", "invalid_for_region"),
        ("+999 1234 5678", "invalid_country_code"),
        ("4.42E+11", "spreadsheet_notation"),
        ("4,42E11", "spreadsheet_notation"),
    ],
)
def test_refusals_carry_a_reason(value, reason):
    out = normalise_phones([value], "US")
    assert pd.isna(out.loc[0, "e164"])
    assert out.loc[0, "reason"] == reason
    assert reason in REASON_TEXT


def test_missing_values_are_empty():
    out = normalise_phones(pd.Series([None, float("nan"), pd.NA], dtype=object), "US")
    assert out["reason"].tolist() == ["empty"] * 3
    assert out["e164"].isna().all()


def test_spreadsheet_notation_is_a_documented_stricter_refusal():
    # phonenumbers reads this as some number; we refuse it because digits were lost.
    value = "4.1555526E71"
    assert phonenumbers.is_valid_number(phonenumbers.parse(value, "US"))
    out = normalise_phones([value], "US")
    assert pd.isna(out.loc[0, "e164"])
    assert out.loc[0, "reason"] == "spreadsheet_notation"
    assert "spreadsheet_notation" in phones_module.__doc__
    assert "4.42E+11" in phones_module.__doc__


@pytest.mark.parametrize(
    ("value", "ext"),
    [
        ("(415) 555-2671 x123", "123"),
        ("415-555-2671 ext. 5", "5"),
        ("tel:+1-415-555-2671;ext=77", "77"),
    ],
)
def test_extensions_are_kept_apart(value, ext):
    out = normalise_phones([value], "US")
    assert out.loc[0, "e164"] == "+14155552671"
    assert out.loc[0, "extension"] == ext


def test_series_index_is_kept_and_iterables_work():
    s = pd.Series(["415-555-2671", "bad"], index=[10, 20])
    out = normalise_phones(s, "US")
    assert list(out.index) == [10, 20]
    assert list(out.columns) == ["e164", "reason", "extension"]
    gen = (v for v in ["415-555-2671"])
    assert normalise_phones(gen, "US")["e164"].tolist() == ["+14155552671"]
    assert len(normalise_phones([], "US")) == 0


def test_non_string_cells_are_read_as_text():
    out = normalise_phones(pd.Series([4155552671, 4155552671.0], dtype=object), "US")
    assert out["e164"].tolist()[0] == "+14155552671"
    assert pd.isna(out["e164"].tolist()[1])  # "4155552671.0" is not a phone number


def test_region_alias_and_unknown_region():
    assert resolve_region("uk") == "GB"
    assert normalise_phones(["07400 123456"], "UK").loc[0, "e164"] == "+447400123456"
    with pytest.raises(ValueError, match="Unknown phone region"):
        normalise_phones(["1"], "XX")


def test_repeated_values_are_decided_once_and_spread_back():
    values = ["415-555-2671", "", "bad", "415-555-2671", None, ""] * 1000
    out = normalise_phones(values, "US")
    first = out["e164"].fillna("").tolist()[:6]
    assert first == ["+14155552671", "", "", "+14155552671", "", ""]
    assert out["reason"].value_counts().to_dict() == {"empty": 3000, "not_a_number": 1000}


def test_reason_text_is_one_sentence_per_code():
    for code, text in REASON_TEXT.items():
        assert code == code.lower() and " " not in code
        assert text.endswith(".") and text[0].isupper()


# ------------------------------------------------------------------ number time zones


def _valid_example_e164s() -> list[str]:
    out = []
    for texts in EXAMPLES.values():
        out += [t for t in texts if t.startswith("+") and " " not in t]
    return out


def test_time_zones_match_phonenumbers_for_every_example_number():
    e164s = _valid_example_e164s()
    e164s += ["+14155552671", "+18005550199", "+61412345678", "+61291234567", "+447400123456"]
    out = number_time_zones(e164s)
    for value, zone, several, zones in zip(
        e164s, out["timezone"], out["several_zones"], out["zones"], strict=True
    ):
        expected = tuple(time_zones_for_number(phonenumbers.parse(value, None)))
        expected = () if expected == ("Etc/Unknown",) else expected
        assert (tuple(zones.split("|")) if isinstance(zones, str) else ()) == expected, value
        assert several == (len(expected) > 1), value
        assert (zone if isinstance(zone, str) else None) == (
            expected[0] if len(expected) == 1 else None
        ), value


def test_time_zones_single_several_none():
    out = number_time_zones(
        pd.Series(["+12125550123", "+18005550199", None, "junk"], index=list("abcd"))
    )
    assert out.loc["a", "timezone"] == "America/New_York"
    assert not out.loc["a", "several_zones"]
    assert pd.isna(out.loc["b", "timezone"]) and out.loc["b", "several_zones"]
    assert pd.isna(out.loc["c", "timezone"]) and not out.loc["c", "several_zones"]
    assert pd.isna(out.loc["d", "timezone"])


def test_time_zones_on_leadgen_numbers(tmp_path):
    path = tmp_path / "mix.csv"
    leadgen.generate(3000, path, seed=2, region="MIX")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    e164 = normalise_phones(df["Phone"], "US")["e164"].dropna().tolist()
    e164 += normalise_phones(df["Phone"], "AU")["e164"].dropna().tolist()
    out = number_time_zones(e164)
    for value, zones in zip(e164, out["zones"], strict=True):
        expected = "|".join(time_zones_for_number(phonenumbers.parse(value, None)))
        assert zones == expected
