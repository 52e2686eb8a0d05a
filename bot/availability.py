"""Away and back: when a rep takes no leads (and fair share stops counting their time)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import audit
from bot.errors import Clash, Conflict, Invalid, InvalidInput
from models import AwayPeriod, Member


def current_away(session: Session, member_id: int, now: datetime) -> AwayPeriod | None:
    """The away period covering `now`, if the member is away."""
    return session.scalar(
        select(AwayPeriod).where(
            AwayPeriod.member_id == member_id,
            AwayPeriod.starts_at <= now,
            or_(AwayPeriod.ends_at.is_(None), AwayPeriod.ends_at > now),
        )
    )


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
    period.ends_at = ends_at
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
