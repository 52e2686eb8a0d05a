"""`/dibs hours`: your working hours, your next working window in your own zone, and whether you
are away or paused (the same text heads your App Home)."""

from __future__ import annotations

from bot.rep_hours import RepHours, rep_hours
from bot.working_time import ALWAYS
from handlers.commands import Caller, Subcommand, UsageError
from handlers.pipeline import Reply, reply
from handlers.text import local_time


def hours_text(h: RepHours) -> str:
    """The rep's hours as they read them: times in their own zone."""
    whose = "" if h.own_hours else " (the team's)"
    hours = "around the clock" if h.hours == ALWAYS else f"`{h.hours}`"
    lines = [f"*Your hours:* {hours}{whose}, {h.zone}" + ("" if h.own_zone else " (the team's zone)") + "."]
    if h.holidays:
        lines.append("*Holidays:* " + ", ".join(day.strftime("%a %d %b %Y") for day in h.holidays) + ".")
    start, end = h.window
    if h.working_now:
        lines.append(f"*Now:* working, until {local_time(end, h.zone)}.")
    else:
        lines.append(
            f"*Now:* off; next working window {local_time(start, h.zone)} to {local_time(end, h.zone, '%H:%M')}."
        )
    if h.away:
        until = f" until {local_time(h.away_until, h.zone)}" if h.away_until else ""
        how = "by your Slack status" if h.away_by_status else "with `/dibs away`; `/dibs back` ends it"
        lines.append(f"*Away*{until} ({how}): no leads come your way and your fair share pauses.")
    else:
        lines.append("*Away:* no.")
    if h.paused_since is not None:
        since = local_time(h.paused_since, h.zone)
        lines.append(f"*Auto-assign:* paused since {since} after missed contact SLAs; `/dibs resume` ends it.")
    elif not h.working_now:
        lines.append("*Auto-assign:* passes you over until your hours start; you may still claim by hand.")
    return "\n".join(lines)


def hours(caller: Caller, args: list[str]) -> Reply:
    if args:
        raise UsageError("Say `hours` on its own")
    return reply(hours_text(rep_hours(caller.session, caller.require_member(), caller.now)))


SUBCOMMANDS = [Subcommand("hours", "/dibs hours", "your working hours, next working window and away state", hours)]
