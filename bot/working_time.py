"""Working hours (issue 13): when a rep works, in their own zone, around weekends and holidays.

Pure: a `Schedule` is built from config text (`mon-fri 09:00-17:30`, a zone, holiday dates) and
answers questions about aware datetimes; nothing here reads the database. A shift never crosses
midnight (end after start, `24:00` allowed), so each local day has at most one window.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "mon-sun 00:00-24:00"
SEARCH_DAYS = 3700  # ten years of holidays is more than any schedule has; beyond it is a bug

_HOURS = re.compile(r"\s*([a-z,\-]+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


@dataclass(frozen=True)
class WeeklyHours:
    """The weekdays worked (0 = Monday) and the daily window, as minutes after local midnight."""

    days: frozenset[int]
    start_minute: int
    end_minute: int


def _minute(clock: str) -> int:
    if not _CLOCK.fullmatch(clock):
        raise ValueError(f"{clock!r} is not a 24-hour HH:MM time")
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{part!r} is not a day or a range of days (mon, tue-fri, sat,sun)")
        low, high = DAYS.index(first), DAYS.index(last or first)
        if high < low:
            raise ValueError(f"{part!r} runs backwards (write it from Monday on: mon-fri)")
        days.update(range(low, high + 1))
    return frozenset(days)


def parse_hours(text: str) -> WeeklyHours:
    """`mon-fri 09:00-17:30` (days: `mon,wed`, `sat-sun`...); ValueError saying what is wrong."""
    match = _HOURS.fullmatch(text.lower())
    if match is None:
        raise ValueError(f"{text!r} is not working hours like 'mon-fri 09:00-17:30'")
    days, start, end = _days(match[1]), _minute(match[2]), _minute(match[3])
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts (a shift cannot cross midnight)")
    return WeeklyHours(days, start, end)


@dataclass(frozen=True)
class Schedule:
    """One rep's working time: weekly hours in their zone, less the team's holidays."""

    zone: ZoneInfo
    hours: WeeklyHours
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, zone: str, hours: str | None, holidays: list[str] | tuple[str, ...] = ()) -> Schedule:
        """From config values; no hours means around the clock (holidays still apply)."""
        return cls(ZoneInfo(zone), parse_hours(hours or ALWAYS), frozenset(date.fromisoformat(d) for d in holidays))

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.hours.days or day in self.holidays:
            return None
        midnight = datetime.combine(day, time(0))
        start = (midnight + timedelta(minutes=self.hours.start_minute)).replace(tzinfo=self.zone)
        end = (midnight + timedelta(minutes=self.hours.end_minute)).replace(tzinfo=self.zone)
        if self.hours.end_minute == 24 * 60:
            end = datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return start.astimezone(UTC), end.astimezone(UTC)  # UTC: same-zone arithmetic is wall-clock

    def windows(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (start, end) in UTC that end after `moment`, in order; the first may have begun."""
        day = moment.astimezone(self.zone).date()
        for offset in range(SEARCH_DAYS):
            window = self._window(day + timedelta(days=offset))
            if window is not None and window[1] > moment:
                yield window
        raise ValueError("no working time in ten years (every day a holiday?)")

    def is_working(self, moment: datetime) -> bool:
        """Whether `moment` falls inside a working window."""
        start, _ = next(self.windows(moment))
        return start <= moment

    def next_window(self, moment: datetime) -> tuple[datetime, datetime]:
        """The window `moment` is in (from `moment`), else the next one to start."""
        start, end = next(self.windows(moment))
        return max(start, moment), end

    def add_working(self, moment: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `moment` (time off does not count)."""
        left = timedelta(minutes=minutes)
        for start, end in self.windows(moment):
            start = max(start, moment)
            if end - start >= left:
                return start + left
            left -= end - start
        raise AssertionError("unreachable: windows() raises when it runs out")

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working parts of [start, end)."""
        parts: list[tuple[datetime, datetime]] = []
        for low, high in self.windows(start):
            if low >= end:
                break
            parts.append((max(low, start), min(high, end)))
        return parts
