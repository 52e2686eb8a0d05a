"""Words for Slack: the one escaping function for user text, mentions, times and durations."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

_FORMATTING_MARKS = ("*", "_", "~", "`")


def escape(text: object) -> str:
    """User text shown literally in mrkdwn: `<!channel>` never pings and `*bold*` stays literal.

    `&`, `<` and `>` become entities; a zero-width space after each formatting mark keeps it
    from pairing with another (docs/decisions.md, "Hostile text").
    """
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for mark in _FORMATTING_MARKS:
        out = out.replace(mark, mark + "\u200b")
    return out


def mention(slack_user_id: str) -> str:
    return f"<@{slack_user_id}>"


def local_time(moment: datetime | str, tz_name: str, fmt: str = "%a %d %b %H:%M %Z") -> str:
    """A UTC moment (or its ISO form, as stored in facts) as the team reads it."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(ZoneInfo(tz_name)).strftime(fmt)


def duration(seconds: float) -> str:
    """`2h 05m`, `12m`, `40s`: how long until something frees up."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"
