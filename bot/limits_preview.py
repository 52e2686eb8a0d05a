"""`/dibs limits preview KEY VALUE`: the team's last weeks replayed under its limits and under one
changed limit, worked after the request (a replay takes longer than Slack waits for an answer).

The request validates the proposal and queues it; the outbox worker replays it (bot/replay.py,
bot/simulation.py, as `dibs preview` does) and answers by the command's response_url.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.config import Limits
from bot.policy_report import PolicyReport
from bot.replay import recorded_world
from bot.simulation import Policy, simulate
from bot.teams import effective_limits, get_team, with_limit
from bot.world import World
from models import Member

PREVIEW_WEEKS = 4  # the complete weeks replayed


@dataclass(frozen=True)
class LimitsPreview:
    """What the worker replays: the team's recorded weeks and the two sets of limits."""

    team_name: str
    key: str
    current: object
    proposed: object
    world: World
    policies: list[Policy]


def queue_limits_preview(
    session: Session, manager: Member, key: str, raw: str, response_url: str | None, now: datetime
) -> object:
    """Validate a proposed limit like `limits set` does (nothing is changed) and queue its replay,
    answered by `response_url` (a DM when there is none); returns the proposed value."""
    value = getattr(with_limit(manager.team, key, raw), key)
    outbox.enqueue(
        session,
        outbox.Kind.LIMITS_PREVIEW,
        now,
        team_id=manager.team_id,
        channel=manager.slack_user_id,
        response_url=response_url,
        user=manager.slack_user_id,
        key=key,
        value=value,
    )
    return value


def prepare_preview(session: Session, team_id: str, payload: dict[str, Any], now: datetime) -> LimitsPreview:
    """The recorded weeks and both sets of limits, read now (the limits as they are when it runs)."""
    team = get_team(session, team_id)
    current = effective_limits(team)
    key = payload["key"]
    proposed = Limits.model_validate({**current.model_dump(), key: payload["value"]})
    return LimitsPreview(
        team_name=team.name,
        key=key,
        current=getattr(current, key),
        proposed=getattr(proposed, key),
        world=recorded_world(session, team, PREVIEW_WEEKS, now),
        policies=[Policy("current", current), Policy("proposed", proposed)],
    )


def replay(preview: LimitsPreview, new_sessions: Callable[[], sessionmaker[Session]]) -> list[PolicyReport]:
    """Both policies on the recorded weeks, each on a throwaway database from `new_sessions`."""
    return simulate(preview.world, preview.policies, new_sessions)
