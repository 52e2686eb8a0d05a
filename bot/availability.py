"""Away and back: when a rep takes no leads (and fair share stops counting their time)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import Clash, Conflict, Invalid, InvalidInput, Limit, LimitReached
from bot.working_time import Schedule
from models import AwayPeriod, Member


def zone_of(member: Member) -> str:
    """The rep's own time zone, else the team's."""
    return member.timezone or member.team.timezone


def schedule_of(member: Member) -> Schedule:
    """When the rep works: their hours (else the team's, else around the clock) less the team's holidays."""
    return Schedule.of(zone_of(member), member.hours or member.team.hours, member.team.holidays)


def auto_assign_block(member: Member, now: datetime) -> LimitReached | None:
    """Why auto-assign passes over this rep now (outside their hours, or paused); None if it need not.

    A rep off hours or paused may still claim by hand, so this is no claim rule (bot/claims.py).
    """
    schedule = schedule_of(member)
    if not schedule.is_working(now):
        back_at, _ = schedule.next_window(now)
        return LimitReached(Limit.OFF_HOURS, back_at=back_at.isoformat(), timezone=zone_of(member))
    if member.paused_at is not None:
        return LimitReached(Limit.PAUSED, since=member.paused_at.isoformat(), timezone=zone_of(member))
    return None


def current_away(session: Session, member_id: int, now: datetime) -> AwayPeriod | None:
    """The away period covering `now`, if the member is away."""
    return session.scalar(select(AwayPeriod).where(AwayPeriod.member_id == member_id, away_covering(now)))


def away_covering(now: datetime) -> ColumnElement[bool]:
    """The condition on AwayPeriod rows covering `now`."""
    return and_(AwayPeriod.starts_at <= now, or_(AwayPeriod.ends_at.is_(None), AwayPeriod.ends_at > now))


def go_away(session: Session, member: Member, now: datetime, until: date | None = None) -> AwayPeriod:
    """Mark a rep away from now, until the start of `until` in the team's zone (or `back`)."""
    ends_at = None
    if until is not None:
        ends_at = datetime.combine(until, time(0), ZoneInfo(member.team.timezone))
        if ends_at <= now:
            raise InvalidInput(Invalid.NOT_IN_FUTURE, date=until.isoformat())
    period = current_away(session, member.id, now)
    if period is None:
        period = AwayPeriod(member_id=member.id, starts_at=now)
        session.add(period)
    period.ends_at, period.source = ends_at, "command"  # said in so many words: a status change keeps it
    audit.record(
        session,
        at=now,
        actor=member.slack_user_id,
        action="member.away",
        team_id=member.team_id,
        until=until.isoformat() if until else None,
    )
    return period


def come_back(session: Session, member: Member, now: datetime) -> None:
    """End the current away period now."""
    period = current_away(session, member.id, now)
    if period is None:
        raise Conflict(Clash.NOT_AWAY)
    period.ends_at = now
    audit.record(session, at=now, actor=member.slack_user_id, action="member.back", team_id=member.team_id)
