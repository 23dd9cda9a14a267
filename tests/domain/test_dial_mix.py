"""The campaign's pool mix: priority first, then the weighted interleave."""

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from leadapp.domain import dial_mix


def test_seed_weights_give_35_15_50_in_every_20():
    seq = dial_mix.interleave({"l1": 70, "l2": 30, "l3": 100}, 0, 200)
    for start in range(0, 181):
        window = Counter(seq[start : start + 20])
        assert window == {"l1": 7, "l2": 3, "l3": 10}, start


def test_interleave_spreads_rather_than_bunches():
    seq = dial_mix.interleave({"a": 1, "b": 1}, 0, 6)
    assert seq == ["a", "b", "a", "b", "a", "b"]


def test_weight_zero_never_comes():
    assert set(dial_mix.interleave({"a": 0, "b": 5}, 3, 50)) == {"b"}


@settings(max_examples=150, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=6),
    start=st.integers(min_value=0, max_value=10**6),
)
def test_any_window_of_100_is_within_two_of_the_shares(weights, start):
    keys = [f"p{i}" for i in range(len(weights))]
    mapping = dict(zip(keys, weights, strict=True))
    seq = dial_mix.interleave(mapping, start, 300)
    total = sum(weights)
    for offset in range(0, 201, 7):
        window = Counter(seq[offset : offset + 100])
        for key, w in mapping.items():
            assert abs(window[key] - 100 * w / total) <= 2, (mapping, offset, window)


def test_higher_priority_first_then_lower():
    pools = {"hi": (9, 10), "lo": (1, 10)}
    out = dial_mix.choose(pools, 0, 5, {"hi": 3, "lo": 10})
    assert out == ["hi", "hi", "hi", "lo", "lo"]


def test_dry_pool_share_goes_to_the_others():
    pools = {"a": (5, 70), "b": (5, 30), "c": (5, 100)}
    out = dial_mix.choose(pools, 0, 100, {"a": 10, "b": 1000, "c": 1000})
    counts = Counter(out)
    assert counts["a"] == 10
    # b and c share the rest 30 : 100.
    assert abs(counts["b"] - 90 * 30 / 130) <= 2


def test_choose_stops_when_everything_is_dry():
    assert dial_mix.choose({"a": (5, 1)}, 0, 10, {"a": 4}) == ["a"] * 4


def test_all_zero_weights_in_a_priority_still_dial():
    out = dial_mix.choose({"a": (5, 0), "b": (5, 0)}, 0, 4, {"a": 9, "b": 9})
    assert Counter(out) == {"a": 2, "b": 2}


def test_effective_shares():
    assert dial_mix.shares_of(["a", "a", "b", "c"]) == {"a": 50.0, "b": 25.0, "c": 25.0}
