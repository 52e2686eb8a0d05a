"""Working time (bot/working_time.py) with fixed datetimes: two zones, a weekend, DST and a holiday."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.working_time import Schedule, parse_hours

NY = ZoneInfo("America/New_York")
SF = ZoneInfo("America/Los_Angeles")


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def sf(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SF).astimezone(UTC)


NEW_YORK = Schedule.of("America/New_York", "mon-fri 09:00-17:30", ["2026-12-25"])
SAN_FRANCISCO = Schedule.of("America/Los_Angeles", "mon-fri 09:00-17:30", ["2026-12-25"])


def test_18_00_in_new_york_is_after_hours_there_and_working_time_in_san_francisco() -> None:
    at = ny(2026, 11, 24, 18, 0)  # a Tuesday
    assert not NEW_YORK.is_working(at)
    assert SAN_FRANCISCO.is_working(at)
    assert NEW_YORK.is_working(ny(2026, 11, 24, 9, 0)) and not NEW_YORK.is_working(ny(2026, 11, 24, 17, 30))


def test_next_window_skips_the_weekend_and_a_holiday() -> None:
    assert NEW_YORK.next_window(ny(2026, 11, 27, 18, 0)) == (ny(2026, 11, 30, 9, 0), ny(2026, 11, 30, 17, 30))
    # Thursday 24 Dec evening: Friday is Christmas, so Monday 28 Dec.
    assert NEW_YORK.next_window(ny(2026, 12, 24, 18, 0))[0] == ny(2026, 12, 28, 9, 0)
    inside = ny(2026, 11, 24, 11, 0)
    assert NEW_YORK.next_window(inside) == (inside, ny(2026, 11, 24, 17, 30))


def test_adding_working_minutes_runs_on_after_the_weekend() -> None:
    friday = ny(2026, 11, 27, 17, 25)
    assert NEW_YORK.add_working(friday, 5) == ny(2026, 11, 27, 17, 30)
    assert NEW_YORK.add_working(friday, 120) == ny(2026, 11, 30, 10, 55)
    assert NEW_YORK.add_working(ny(2026, 11, 28, 12, 0), 60) == ny(2026, 11, 30, 10, 0)


def test_dst_ends_over_a_weekend_and_the_clock_keeps_local_hours() -> None:
    # US DST ends Sunday 1 Nov 2026: Friday is UTC-4, Monday UTC-5.
    friday = ny(2026, 10, 30, 17, 0)
    assert friday.hour == 21 and ny(2026, 11, 2, 9, 0).hour == 14
    assert NEW_YORK.add_working(friday, 90) == ny(2026, 11, 2, 10, 0)
    assert NEW_YORK.next_window(friday + timedelta(hours=1))[0] == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_dst_starts_on_a_working_day_that_is_an_hour_short() -> None:
    weekends_too = Schedule.of("America/Los_Angeles", "mon-sun 00:00-24:00")
    # Sunday 8 Mar 2026 in San Francisco has 23 hours.
    day = weekends_too.intervals(sf(2026, 3, 8, 0, 0), sf(2026, 3, 9, 0, 0))
    assert sum((high - low).total_seconds() for low, high in day) == 23 * 3600
    assert weekends_too.add_working(sf(2026, 3, 8, 1, 30), 60) == sf(2026, 3, 8, 3, 30)


def test_intervals_cover_only_working_time_in_both_zones() -> None:
    week = (ny(2026, 11, 23, 0, 0), ny(2026, 11, 30, 0, 0))
    for schedule in (NEW_YORK, SAN_FRANCISCO):
        parts = schedule.intervals(*week)
        assert len(parts) == 5
        assert sum((high - low).total_seconds() for low, high in parts) == 5 * 8.5 * 3600
    assert NEW_YORK.intervals(ny(2026, 12, 25, 0, 0), ny(2026, 12, 26, 0, 0)) == []


def test_no_hours_means_around_the_clock() -> None:
    always = Schedule.of("UTC", None)
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert always.is_working(at) and always.add_working(at, 600) == at + timedelta(minutes=600)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("weekdays 9-5", "is not working hours like"),
        ("mon-fri 09:00-25:00", "is not a 24-hour HH:MM time"),
        ("fri-mon 09:00-17:00", "runs backwards"),
        ("mon-fri 18:00-09:00", "ends before it starts"),
        ("mon,funday 09:00-17:00", "is not a day"),
    ],
)
def test_bad_hours_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_hours(text)
    assert parse_hours("MON,wed,sat-sun 08:00-24:00").days == frozenset({0, 2, 5, 6})
