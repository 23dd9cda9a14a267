"""Times in a file without a zone are the account's wall-clock time; with one, that instant."""

import pandas as pd

from leadapp.domain.local_times import to_utc


def utc(values, zone="Europe/Paris"):
    out = to_utc(pd.Series(values, dtype="object"), zone)
    return [None if pd.isna(v) else v.strftime("%Y-%m-%d %H:%M") for v in out]


def test_a_time_without_a_zone_is_the_accounts_time():
    assert utc(["2026-03-01 09:30", "2026-07-01T09:30:00"]) == [
        "2026-03-01 08:30",  # CET, UTC+1
        "2026-07-01 07:30",  # CEST, UTC+2
    ]
    assert utc(["2026-03-01 09:30"], "America/Los_Angeles") == ["2026-03-01 17:30"]
    assert utc(["2026-03-01"]) == ["2026-02-28 23:00"]  # a date alone: midnight there


def test_a_time_with_its_own_zone_is_that_instant():
    assert utc(["2026-03-01T09:30:00Z", "2026-03-01T09:30:00-05:00", "2026-03-01 09:30 UTC"]) == [
        "2026-03-01 09:30",
        "2026-03-01 14:30",
        "2026-03-01 09:30",
    ]


def test_mixed_and_unreadable_values():
    assert utc(["03/01/2026 9:30", "", None, "not a date", "2026-03-01T09:30:00+01:00"]) == [
        "2026-03-01 08:30",
        None,
        None,
        None,
        "2026-03-01 08:30",
    ]


def test_wall_clock_gaps_and_repeats():
    # 2026-03-29 02:30 does not exist in Paris (clocks jump 02:00 -> 03:00).
    assert utc(["2026-03-29 02:30"]) == ["2026-03-29 01:00"]
    # 2026-10-25 02:30 happens twice: the first (summer time) is taken.
    assert utc(["2026-10-25 02:30"]) == ["2026-10-25 00:30"]


def test_times_no_lead_can_have_are_unreadable_not_an_error():
    assert utc(["-1-01-01", "0001-01-01 00:00", "9999-12-31T23:59:59Z", "1970-01-01"]) == [
        None,
        None,
        None,
        "1969-12-31 23:00",
    ]
