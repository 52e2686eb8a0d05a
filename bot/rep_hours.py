"""`/dibs hours` (issue 13): a rep's own working time as Dibs applies it, now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from bot.availability import current_away, schedule_of, zone_of
from bot.away_status import FROM_STATUS
from bot.working_time import ALWAYS
from models import Member

UPCOMING_HOLIDAYS = 3  # holidays listed ahead


@dataclass(frozen=True)
class RepHours:
    """When a rep works and whether Dibs sends them leads now."""

    hours: str  # `mon-fri 09:00-17:30`
    zone: str
    own_hours: bool  # set for the rep (else the team's)
    own_zone: bool
    holidays: tuple[date, ...]  # the next few, in the rep's zone
    working_now: bool
    window: tuple[datetime, datetime]  # the one they are in, else the next
    away: bool
    away_until: datetime | None  # None: until they are back (or the status changes)
    away_by_status: bool
    paused_since: datetime | None


def rep_hours(session: Session, member: Member, now: datetime) -> RepHours:
    """The member's hours, zone and holidays, where `now` falls, and their away and pause state."""
    schedule = schedule_of(member)
    zone = zone_of(member)
    today = now.astimezone(schedule.zone).date()
    holidays = tuple(sorted(day for day in schedule.holidays if day >= today))[:UPCOMING_HOLIDAYS]
    away = current_away(session, member.id, now)
    return RepHours(
        hours=member.hours or member.team.hours or ALWAYS,
        zone=zone,
        own_hours=member.hours is not None,
        own_zone=member.timezone is not None,
        holidays=holidays,
        working_now=schedule.is_working(now),
        window=schedule.next_window(now),
        away=away is not None,
        away_until=away.ends_at if away else None,
        away_by_status=away is not None and away.source == FROM_STATUS,
        paused_since=member.paused_at,
    )
