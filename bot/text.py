"""Text the domain layer hands to Slack: mentions and escaping of user-supplied text."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def escape(text: object) -> str:
    """Neutralize mrkdwn control characters in user text (`<!channel>` never pings)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(slack_user_id: str) -> str:
    return f"<@{slack_user_id}>"


def local_time(moment: datetime, tz_name: str, fmt: str = "%a %d %b %H:%M %Z") -> str:
    """A UTC moment as the team reads it."""
    return moment.astimezone(ZoneInfo(tz_name)).strftime(fmt)


def duration(seconds: float) -> str:
    """`2h 05m`, `12m`, `40s`: how long until something frees up."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"
