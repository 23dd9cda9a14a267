"""What the quick search reads in a typed text (domain/search_terms.py): prefixes as ranges
whose upper end is exact at every code point, and the start of a phone number."""

import pytest

from leadapp.domain.search_terms import (
    MIN_PHONE_PREFIX_DIGITS,
    name_prefixes,
    phone_prefix,
    upper_bound,
)


@pytest.mark.parametrize(
    "prefix,bound",
    [
        ("smi", "smj"),
        ("a_", "a`"),  # "_" is a character: the range is of texts starting "a_"
        ("10%", "10&"),
        ("rené", "renê"),
        ("o'br", "o'bs"),
        ("z\ud7ff", "z\ue000"),  # past the surrogates, which no text holds
        ("ab\U0010ffff", "ac"),  # the last code point: carried to the one before
        ("\U0010ffff\U0010ffff", None),  # nothing comes after: no upper end
        ("", None),
    ],
)
def test_the_upper_bound_of_a_prefix_is_the_next_text_in_code_point_order(prefix, bound):
    assert upper_bound(prefix) == bound


@pytest.mark.parametrize("prefix", ["smi", "a_", "rené", "ab\U0010ffff", "z\ud7ff"])
def test_every_text_that_starts_with_the_prefix_is_inside_its_range_and_no_other(prefix):
    bound = upper_bound(prefix)
    inside = [prefix, prefix + "a", prefix + "\U0010ffff" * 3, prefix + " smith"]
    outside = [prefix[:-1], bound, bound + "a", prefix[:-1] + chr(ord(prefix[-1]) - 1) + "z"]
    assert all(prefix <= text < bound for text in inside)
    assert not any(prefix <= text < bound for text in outside)


@pytest.mark.parametrize(
    "typed,region,prefix",
    [
        ("(212) 555", "US", "+1212555"),
        ("212.555.01", "US", "+121255501"),
        ("1 212 555", "US", "+1212555"),  # the US national prefix 1 dropped
        ("+44 7958 02", "US", "+44795802"),  # international: the region does not matter
        ("07958 02", "GB", "+44795802"),
        ("0420 06", "AU", "+6142006"),
        ("06 1234", "IT", "+39061234"),  # Italy keeps its leading 0
    ],
)
def test_the_start_of_a_number_is_the_start_of_its_e164_form(typed, region, prefix):
    assert phone_prefix(typed, region) == prefix


def test_a_number_prefix_needs_enough_digits_and_only_phone_characters():
    short = "2" * (MIN_PHONE_PREFIX_DIGITS - 1)
    assert phone_prefix(short, "US") is None
    assert phone_prefix(short + "5", "US") == "+1" + short + "5"
    assert phone_prefix("(21) 2-55", "US") is None  # five digits however written
    assert phone_prefix("+44 795", "GB") is None
    assert phone_prefix("Flat 212555", "US") is None  # a word: not a number
    assert phone_prefix("212555x", "US") is None


def test_a_name_search_is_the_start_of_either_name_or_of_both():
    assert name_prefixes("smi") == [("smi", None), (None, "smi")]
    assert name_prefixes("  john   smi ") == [
        ("john smi", None),
        (None, "john smi"),
        ("john", "smi"),
        ("smi", "john"),
    ]
    assert name_prefixes("   ") == []
