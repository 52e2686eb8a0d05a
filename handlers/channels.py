"""Dibs in its teams' channels: it joins the public ones itself; a private one needs an invitation.

Slack lets a bot post a file, an ephemeral message or (without `chat:write.public`) any message
only where it is a member. `conversations.join` works for public channels alone; a member of a
private channel has to type `/invite @Dibs` there. Called at start and by `dibs config apply`.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Team


def team_channels(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    """(channel id, team id, config key) of every team's channel and mediation channel, once each."""
    with sessions() as session:
        teams = list(session.scalars(select(Team).order_by(Team.id)))
    found: dict[str, tuple[str, str, str]] = {}
    for team in teams:
        for key, channel in (("channel", team.channel), ("mediation_channel", team.mediation_channel)):
            if channel and channel not in found:
                found[channel] = (channel, team.id, key)
    return list(found.values())


def join_team_channels(client: WebClient, sessions: sessionmaker[Session]) -> list[str]:
    """Join every team channel Dibs can join; one line, with its fix, per channel it is not in."""
    problems = []
    for channel, team_id, key in team_channels(sessions):
        problem = _join(client, channel, f"`{key}` of team {team_id}")
        if problem:
            problems.append(problem)
    return problems


def _join(client: WebClient, channel: str, where: str) -> str | None:
    try:
        client.conversations_join(channel=channel)
        return None
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
    except OSError as exc:
        return f"Could not reach Slack to join {channel} ({where}): {exc}"
    if error == "method_not_supported_for_channel_type":  # private: joined only by invitation
        if _is_member(client, channel):
            return None
        return f"Dibs is not in private channel {channel} ({where}): type /invite @Dibs in that channel"
    if error == "channel_not_found":
        return f"Slack has no channel {channel} ({where}): correct it in the team config"
    if error == "is_archived":
        return f"Channel {channel} ({where}) is archived: unarchive it or change it in the team config"
    if error == "missing_scope":
        return f"Dibs may not join {channel} ({where}): add the channels:join scope and reinstall the app"
    return f"Could not join {channel} ({where}): Slack answered {error}"


def _is_member(client: WebClient, channel: str) -> bool:
    """Whether the bot is in a private channel (Slack hides private channels from non-members)."""
    try:
        return bool(client.conversations_info(channel=channel)["channel"].get("is_member"))
    except (SlackApiError, OSError):
        return False
