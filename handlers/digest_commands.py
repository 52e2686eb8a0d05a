"""`/dibs digest preview|post [YYYY-Www]` for managers."""

from __future__ import annotations

from datetime import datetime

from bot.digest import compute_digest
from bot.digest_post import DigestState, queue_digest
from bot.fairness import parse_week, previous_week, week_containing, week_label
from handlers.commands import Caller, Subcommand, UsageError
from handlers.digest_view import digest_message
from handlers.pipeline import Reply, reply


def chosen_week(tz: str, now: datetime, week: str | None) -> tuple[int, int]:
    """The week named, or by default the last complete ISO week in the team's zone."""
    return parse_week(week) if week else previous_week(*week_containing(tz, now))


def digest(caller: Caller, args: list[str]) -> Reply:
    team = caller.require_member().team
    if not args or args[0].lower() not in ("preview", "post") or len(args) > 2:
        raise UsageError("Say `digest preview` or `digest post`, optionally with a week like 2026-W47")
    year, week = chosen_week(team.timezone, caller.now, args[1] if len(args) > 1 else None)
    if args[0].lower() == "preview":
        shown = digest_message(compute_digest(caller.session, team.id, year, week, caller.now))
        return reply(shown["text"], shown["blocks"])
    state = queue_digest(caller.session, team, year, week, caller.now)
    if state == DigestState.POSTED:
        return reply(f"The digest for {week_label(year, week)} was already posted; not posting it again.")
    if state == DigestState.POSTING:
        return reply(f"The digest for {week_label(year, week)} is on its way to <#{team.channel}> already.")
    return reply(f"Posting the digest for {week_label(year, week)} in <#{team.channel}>.")


SUBCOMMANDS = [
    Subcommand(
        "digest", "/dibs digest preview|post [2026-W47]", "the weekly fairness digest", digest, manager_only=True
    ),
]
