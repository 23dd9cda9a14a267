"""The calling-hours rule at its boundaries (issue 15, item 4)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from leadapp.domain.calling_hours import (
    DEFAULT_STATE_HOURS,
    allowed,
    allowed_for_key,
    calling_hours,
    hours_to_settings,
    lead_zone_key,
    parse_zone_key,
    public_holiday,
    window_on,
    zone_key,
)

DEFAULT = calling_hours(None)
NO_HOLIDAYS = calling_hours({"holidays_off": False})


def utc(zone: str, *args) -> dt.datetime:
    """The UTC instant of a local wall-clock time in ``zone``."""
    return dt.datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


# Wednesday 2026-10-14: no holiday in the US or Australia.
@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)],
)
def test_the_tcpa_window_starts_at_8_and_ends_before_21_local(hour, minute, expected):
    at = utc("America/Chicago", 2026, 10, 14, hour, minute)
    assert allowed(["America/Chicago"], "US", "IL", DEFAULT, at) is expected
    # The same instant in New York is an hour later: 07:59 Chicago is 08:59 there.
    ny = allowed(["America/New_York"], "US", "NY", DEFAULT, at)
    assert ny is (dt.time(8) <= dt.time(hour + 1, minute) < dt.time(21))


def test_a_lead_in_anchorage_is_not_called_at_8_in_los_angeles():
    at = utc("America/Los_Angeles", 2026, 10, 14, 8, 30)  # 07:30 in Anchorage
    assert allowed(["America/Los_Angeles"], "US", "CA", DEFAULT, at)
    assert not allowed(["America/Anchorage"], "US", "AK", DEFAULT, at)


def test_daylight_saving_changes_move_the_window_with_local_time():
    # US DST ends Sunday 2026-11-01 at 02:00 local. 13:30 UTC is 08:30 EST after the
    # change (allowed), and the same UTC hour on the Saturday before was 09:30 EDT.
    assert allowed(["America/New_York"], "US", "NY", DEFAULT, dt.datetime(2026, 11, 1, 13, 30))
    # 12:30 UTC: 07:30 EST on Sunday (refused) but 08:30 EDT on Saturday (allowed).
    assert not allowed(["America/New_York"], "US", "NY", DEFAULT, dt.datetime(2026, 11, 1, 12, 30))
    assert allowed(["America/New_York"], "US", "NY", DEFAULT, dt.datetime(2026, 10, 31, 12, 30))
    # Spring forward (2026-03-08): 20:59 EDT allowed, 21:00 EDT refused.
    assert allowed(["America/New_York"], "US", "NY", DEFAULT, dt.datetime(2026, 3, 9, 0, 59))
    assert not allowed(["America/New_York"], "US", "NY", DEFAULT, dt.datetime(2026, 3, 9, 1, 0))


def test_a_state_with_stricter_hours_ends_at_its_own_hour():
    # Florida: 8 a.m. to 8 p.m.; Illinois keeps the federal 9 p.m.
    at_1959 = utc("America/New_York", 2026, 10, 14, 19, 59)
    at_2000 = utc("America/New_York", 2026, 10, 14, 20, 0)
    assert allowed(["America/New_York"], "US", "FL", DEFAULT, at_1959)
    assert not allowed(["America/New_York"], "US", "FL", DEFAULT, at_2000)
    assert allowed(["America/New_York"], "US", "GA", DEFAULT, at_2000)
    # Texas: Sundays from noon only.
    sunday = dt.date(2026, 10, 18)
    assert window_on(NO_HOLIDAYS, sunday, "US", "TX") == (dt.time(12), dt.time(21))
    assert window_on(NO_HOLIDAYS, dt.date(2026, 10, 17), "US", "TX") == (dt.time(9), dt.time(21))
    # Rhode Island: no calls on Sundays.
    assert window_on(NO_HOLIDAYS, sunday, "US", "RI") is None
    # The state table applies only to that country.
    assert window_on(NO_HOLIDAYS, sunday, "AU", "TX") == (dt.time(8), dt.time(21))


def test_public_holidays_are_off_by_country_and_state():
    # 2026-06-01 is Western Australia Day, a holiday in WA only.
    wa_day = utc("Australia/Perth", 2026, 6, 1, 10, 0)
    assert public_holiday("AU", "WA", dt.date(2026, 6, 1))
    assert not allowed(["Australia/Perth"], "AU", "WA", DEFAULT, wa_day)
    assert allowed(
        ["Australia/Sydney"], "AU", "NSW", DEFAULT, utc("Australia/Sydney", 2026, 6, 1, 10)
    )
    # Thanksgiving in the US; a campaign may keep holidays on.
    thanksgiving = utc("America/Chicago", 2026, 11, 26, 12, 0)
    assert not allowed(["America/Chicago"], "US", "IL", DEFAULT, thanksgiving)
    assert allowed(["America/Chicago"], "US", "IL", NO_HOLIDAYS, thanksgiving)
    assert public_holiday("XX", None, dt.date(2026, 12, 25)) is None  # unknown country


def test_an_unsure_lead_is_called_only_when_every_possible_zone_allows():
    zones = ["America/Chicago", "America/New_York"]
    at_0830_eastern = utc("America/New_York", 2026, 10, 14, 8, 30)  # 07:30 Central
    at_2030_eastern = utc("America/New_York", 2026, 10, 14, 20, 30)  # 19:30 Central
    at_0930_eastern = utc("America/New_York", 2026, 10, 14, 9, 30)
    assert not allowed(zones, "US", None, DEFAULT, at_0830_eastern)
    assert allowed(zones, "US", None, DEFAULT, at_2030_eastern)
    assert allowed(zones, "US", None, DEFAULT, at_0930_eastern)
    assert not allowed(zones, "US", None, DEFAULT, utc("America/Chicago", 2026, 10, 14, 20, 30))
    assert not allowed([], "US", None, DEFAULT, at_0930_eastern)  # no zone: nothing


def test_hours_per_weekday_and_a_day_off():
    hours = calling_hours({"days": {"sat": ["10:00", "16:00"], "sun": None}, "holidays_off": False})
    assert hours.days[0] == (dt.time(8), dt.time(21))
    assert not allowed(["Europe/London"], "GB", None, hours, utc("Europe/London", 2026, 10, 18, 12))
    assert not allowed(["Europe/London"], "GB", None, hours, utc("Europe/London", 2026, 10, 17, 9))
    assert allowed(["Europe/London"], "GB", None, hours, utc("Europe/London", 2026, 10, 17, 10))
    assert calling_hours(hours_to_settings(hours)) == hours


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"days": {"mon": ["9", "17:00"]}}, "Monday: '9' is not a time like 08:00."),
        ({"days": {"mon": ["18:00", "09:00"]}}, "must come before the end"),
        ({"days": {"someday": None}}, "unknown weekday 'someday'"),
        ({"states": {"Florida": {"mon": None}}}, "'Florida' is not a state like US-FL."),
    ],
)
def test_settings_a_supervisor_got_wrong_are_refused_with_a_sentence(settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        calling_hours(settings)


def test_the_shipped_state_table_cites_a_source_for_every_state():
    assert all(entry["source"] for entry in DEFAULT_STATE_HOURS.values())
    assert set(calling_hours(None).states) == set(DEFAULT_STATE_HOURS)


def test_zone_keys_round_trip_and_sort_the_zones():
    key = zone_key(["America/New_York", "America/Chicago"], "us", "fl")
    assert key == "America/Chicago,America/New_York|US|FL"
    assert parse_zone_key(key) == (("America/Chicago", "America/New_York"), "US", "FL")
    assert parse_zone_key(None) == ((), None, None)
    assert zone_key([], "US", "FL") is None
    # The country comes from the zone when the lead has none; the state becomes its code.
    assert lead_zone_key(["Australia/Perth"], None, "Western Australia") == "Australia/Perth|AU|WA"
    assert lead_zone_key(["America/Anchorage"], "us", "Alaska") == "America/Anchorage|US|AK"
    assert lead_zone_key(["Europe/London"], None, "somewhere") == "Europe/London|GB|"
    at = utc("America/New_York", 2026, 10, 14, 19, 30)
    assert not allowed_for_key("America/New_York|US|FL", DEFAULT, at + dt.timedelta(hours=1))
    assert allowed_for_key("America/New_York|US|FL", DEFAULT, at)


def test_the_state_table_reads_back_from_the_text_a_supervisor_edits():
    from leadapp.domain.calling_hours import parse_state_lines, state_lines

    text = state_lines(DEFAULT)
    assert "US-TX: 09:00-21:00, sun 12:00-21:00" in text.splitlines()
    assert "US-RI: 09:00-18:00, sat 10:00-17:00, sun off" in text.splitlines()
    assert calling_hours({"states": parse_state_lines(text)}) == DEFAULT
    edited = calling_hours({"states": parse_state_lines("us-ny: sun off\n\nUS-FL: 09:00-20:00")})
    assert window_on(edited, dt.date(2026, 10, 18), "US", "NY") is None
    assert window_on(edited, dt.date(2026, 10, 19), "US", "NY") == (dt.time(8), dt.time(21))
    assert window_on(edited, dt.date(2026, 10, 19), "US", "TX") == (dt.time(8), dt.time(21))
    with pytest.raises(ValueError, match="line 2: 'sun 9' is not hours like 08:00-20:00"):
        parse_state_lines("US-FL: 08:00-20:00\nUS-TX: sun 9")
