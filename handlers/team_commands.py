"""`/dibs` subcommands for managers: limits and team membership."""

from __future__ import annotations

from bot.limits_preview import PREVIEW_WEEKS, queue_limits_preview
from bot.teams import add_member, effective_limits, remove_member, set_limit
from handlers.blocks import escape, section
from handlers.commands import Caller, Subcommand, UsageError, parse_user
from handlers.pipeline import Reply, reply


def limits(caller: Caller, args: list[str]) -> Reply:
    manager = caller.require_member()
    if not args:
        team = manager.team
        lines = [
            f"`{key}` = {value}" + (" _(set in Slack)_" if key in team.limit_overrides else "")
            for key, value in effective_limits(team).model_dump().items()
        ]
        return reply(f"Limits of {team.name}", [section("\n".join(lines))])
    if len(args) == 3 and args[0].lower() == "preview":
        value = queue_limits_preview(caller.session, manager, args[1], args[2], caller.response_url, caller.now)
        return reply(
            f"Replaying {escape(manager.team.name)}'s last {PREVIEW_WEEKS} weeks with `{args[1]}` = {escape(value)}: "
            "working on it, the comparison comes here shortly. Nothing is changed."
        )
    if len(args) != 3 or args[0].lower() != "set":
        raise UsageError(
            "Say `limits` to see them, `limits set KEY VALUE` to change one "
            "or `limits preview KEY VALUE` to see what a change would have done"
        )
    value = set_limit(caller.session, manager, args[1], args[2], caller.now)
    return reply(f"`{args[1]}` is now {value} for {manager.team.name}.")


def team(caller: Caller, args: list[str]) -> Reply:
    manager = caller.require_member()
    if len(args) == 3 and args[0].lower() == "add":
        member = add_member(caller.session, manager, parse_user(args[1]), args[2].lower(), caller.now)
        return reply(f"<@{member.slack_user_id}> joined {manager.team.name} as a {member.role}.")
    if len(args) == 2 and args[0].lower() == "remove":
        member = remove_member(caller.session, manager, parse_user(args[1]), caller.now)
        return reply(f"<@{member.slack_user_id}> no longer takes leads in {manager.team.name}.")
    raise UsageError("Say `team add @user rep` (or manager) or `team remove @user`")


SUBCOMMANDS = [
    Subcommand(
        "limits",
        "/dibs limits [set KEY VALUE] · /dibs limits preview KEY VALUE",
        "show or change the team's limits, or replay the last 4 weeks with one changed",
        limits,
        manager_only=True,
    ),
    Subcommand(
        "team",
        "/dibs team add @user rep|manager · /dibs team remove @user",
        "add or remove team members",
        team,
        manager_only=True,
    ),
]
