"""Away by Slack status (issue 13): a rep whose Slack status is one of the team's away statuses is
away until the status changes or expires, exactly as if they had said `/dibs away`.

The period a status starts is marked `slack_status`, so clearing the status ends only that one: a
rep who said `/dibs away` stays away until they say `/dibs back`, whatever their status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import audit
from bot.availability import current_away
from bot.config import DEFAULT_AWAY_STATUSES
from models import AwayPeriod, Member, Team

FROM_STATUS = "slack_status"


@dataclass(frozen=True)
class SlackStatus:
    """A person's Slack status: its text, its emoji (`:palm_tree:`) and when it clears (None: never)."""

    text: str = ""
    emoji: str = ""
    expires_at: datetime | None = None


def away_statuses(team: Team) -> tuple[str, ...]:
    """The statuses that mean away in this team (its config, else the defaults)."""
    return tuple(team.away_statuses) if team.away_statuses is not None else DEFAULT_AWAY_STATUSES


def means_away(team: Team, status: SlackStatus, now: datetime) -> bool:
    """An emoji entry (`:palm_tree:`) matches the status emoji; a text entry matches a status text
    that contains it ("Out of office until Monday"); case is ignored. An expired status means nothing."""
    if status.expires_at is not None and status.expires_at <= now:
        return False
    emoji, text = status.emoji.strip().casefold(), status.text.casefold()
    for entry in (e.strip().casefold() for e in away_statuses(team)):
        if entry.startswith(":") and entry.endswith(":") and len(entry) > 2:
            if entry == emoji:
                return True
        elif entry and entry in text:
            return True
    return False


def status_changed(session: Session, member: Member, status: SlackStatus, now: datetime) -> bool | None:
    """Start or end the rep's status-driven away period; True: now away, False: now back, None: no change."""
    period = current_away(session, member.id, now)
    if means_away(member.team, status, now):
        if period is not None:
            if period.source == FROM_STATUS and period.ends_at != status.expires_at:
                period.ends_at = status.expires_at  # a new expiry for the same status
            return None
        session.add(AwayPeriod(member_id=member.id, starts_at=now, ends_at=status.expires_at, source=FROM_STATUS))
        _record(session, member, now, "member.away", status)
        return True
    if period is None or period.source != FROM_STATUS:
        return None
    period.ends_at = now
    _record(session, member, now, "member.back", status)
    return False


def _record(session: Session, member: Member, now: datetime, action: str, status: SlackStatus) -> None:
    audit.record(
        session,
        at=now,
        actor=member.slack_user_id,
        action=action,
        team_id=member.team_id,
        slack_status=f"{status.emoji} {status.text}".strip(),
    )
