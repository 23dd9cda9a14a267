"""A pool's day offset, day count and time range (seed 004), as pure rules."""

import datetime as dt

import pytest

from leadapp.domain.pool_schedule import Distribution

START = dt.date(2026, 12, 1)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def test_without_settings_everything_is_released_from_the_start():
    plan = Distribution()
    assert plan.first_day(START) == START
    assert plan.released(day(-1), START, 100) == 0
    assert plan.released(START, START, 100) is None
    assert plan.in_time_range(dt.time(3, 0))


def test_the_day_offset_holds_every_lead_back_until_its_day():
    plan = Distribution(day_offset=3)
    assert plan.first_day(START) == day(3)
    assert plan.released(day(2), START, 100) == 0
    assert plan.released(day(3), START, 100) is None


@pytest.mark.parametrize(
    ("size", "count", "per_day"),
    [(100, 4, [25, 50, 75]), (10, 3, [4, 7]), (2, 5, [1, 1, 2, 2])],
)
def test_the_day_count_releases_an_equal_share_a_day_in_dial_order(size, count, per_day):
    plan = Distribution(day_offset=1, day_count=count)
    assert plan.released(day(0), START, size) == 0
    assert [plan.released(day(1 + k), START, size) for k in range(count - 1)] == per_day
    assert plan.released(day(count), START, size) is None  # the last day: all of them
    assert plan.released(day(count + 30), START, size) is None


@pytest.mark.parametrize(("size", "count"), [(100, 4), (10, 3), (7, 7), (3, 5), (1000, 6)])
def test_a_leads_day_is_the_first_day_that_releases_its_position(size, count):
    plan = Distribution(day_offset=2, day_count=count)
    for position in range(size):
        released_on = plan.lead_day(position, START, size)
        released = plan.released(released_on, START, size)
        assert released is None or position < released
        before = plan.released(released_on - dt.timedelta(days=1), START, size)
        assert before is not None and position >= before


def test_the_time_range_and_one_past_midnight():
    day_shift = Distribution(time_from=dt.time(9, 0), time_until=dt.time(17, 30))
    assert day_shift.in_time_range(dt.time(9, 0)) and day_shift.in_time_range(dt.time(17, 30))
    assert not day_shift.in_time_range(dt.time(8, 59)) and not day_shift.in_time_range(
        dt.time(17, 31)
    )
    night = Distribution(time_from=dt.time(22, 0), time_until=dt.time(2, 0))
    assert night.in_time_range(dt.time(23, 0)) and night.in_time_range(dt.time(1, 0))
    assert not night.in_time_range(dt.time(12, 0))
    assert Distribution(time_from=dt.time(18, 0)).in_time_range(dt.time(23, 59))
    assert not Distribution(time_until=dt.time(8, 0)).in_time_range(dt.time(8, 1))


def test_the_sentences_say_the_rules():
    plan = Distribution(3, 4, dt.time(9, 0), dt.time(17, 30))
    assert plan.sentences(START) == [
        "Dialled from 04 Dec 2026, 3 days after the pool's start (01 Dec 2026).",
        "Spread over 4 days in dial order, an equal share each day (all released by 07 Dec 2026).",
        "Called only between 09:00 and 17:30, the lead's local time.",
    ]
    assert Distribution().sentences(START) == [
        "Dialled from the pool's start (01 Dec 2026).",
        "All leads released on the first day.",
    ]
