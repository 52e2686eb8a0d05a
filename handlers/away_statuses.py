"""Slack statuses that mean away (issue 13): read with `users.info` at start, then kept current by
the `user_change` event (handlers/people.py). The rule itself is bot/away_status.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.away_status import SlackStatus, status_changed
from bot.teams import find_member
from models import Member, Role


def slack_status(user: Mapping[str, Any]) -> SlackStatus:
    """The status of a Slack user object (users.info, user_change): `status_expiration` is Unix
    seconds, 0 for a status that does not clear by itself."""
    profile = user.get("profile") or {}
    expiration = profile.get("status_expiration") or 0
    expires_at = datetime.fromtimestamp(int(expiration), UTC) if str(expiration).isdigit() and int(expiration) else None
    return SlackStatus(str(profile.get("status_text") or ""), str(profile.get("status_emoji") or ""), expires_at)


def user_status_changed(session: Session, user: Mapping[str, Any], now: datetime) -> None:
    """A `user_change` event's user: a rep of a team is away or back as their status says."""
    member = find_member(session, str(user.get("id") or ""))
    if member is not None and member.role == Role.REP:
        status_changed(session, member, slack_status(user), now)


def read_away_statuses(client: WebClient, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> list[str]:
    """Ask Slack for every active rep's status at start (changes while Dibs was down send no event);
    a problem line per rep Slack could not tell about, and none after Slack stops answering."""
    with sessions() as session:
        reps = list(
            session.scalars(
                select(Member.slack_user_id).where(Member.active.is_(True), Member.role == Role.REP).order_by(Member.id)
            )
        )
    problems = []
    for user_id in reps:
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            problems.append(f"users.info for {user_id} failed ({exc.response.get('error')}); their status is not read")
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                break
            continue
        except OSError as exc:
            problems.append(f"Could not reach Slack to read statuses ({exc}); they are read as they change")
            break
        with sessions.begin() as session:
            user_status_changed(session, user, clock())
    return problems
