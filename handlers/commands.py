"""The `/dibs` command: a registry of subcommands, parsing helpers and the one error mapping."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.errors import DibsError, Forbidden, InvalidInput, NotAllowed
from handlers.blocks import escape
from handlers.refusals import refusal_text
from models import Member

Reply = dict[str, Any]


@dataclass
class Caller:
    """Who is asking, how to answer them, with the request's database session and clock.

    `response_url` is the interaction's (a click, a form with one): the way Slack lets an app
    answer wherever the click happened, even in channels and DMs the bot is not in.
    """

    slack_user_id: str
    response_url: str | None
    session: Session
    now: datetime
    member: Member | None = None

    def require_member(self) -> Member:
        if self.member is None:
            raise NotAllowed(Forbidden.NOT_IN_TEAM)
        return self.member


class UsageError(DibsError):
    """Arguments do not fit the subcommand; the reply shows its usage line (text written here, user text escaped)."""


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Callable[[Caller, list[str]], Reply]
    manager_only: bool = False


COMMANDS: dict[str, Subcommand] = {}


def subcommand(name: str, usage: str, summary: str, *, manager_only: bool = False):
    """Register a `/dibs NAME` handler; help and usage lines are generated from these."""

    def register(handler: Callable[[Caller, list[str]], Reply]) -> Callable[[Caller, list[str]], Reply]:
        COMMANDS[name] = Subcommand(name, usage, summary, handler, manager_only)
        return handler

    return register


def reply(text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
    """An ephemeral answer to the person who typed the command."""
    answer: Reply = {"response_type": "ephemeral", "text": text}
    if blocks:
        answer["blocks"] = blocks
    return answer


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_REF = re.compile(r"^([LD])-(\d{1,12})$", re.IGNORECASE)


def parse_user(word: str) -> str:
    """A Slack user id from an escaped mention such as `<@U123|ann>`."""
    match = _MENTION.match(word)
    if not match:
        raise UsageError(f"{escape(word)} is not a @mention of a person")
    return match.group(1)


def parse_ref(word: str, prefix: str) -> int:
    """The number in a reference such as `L-42` or `D-7`."""
    match = _REF.match(word)
    if not match or match.group(1).upper() != prefix:
        raise UsageError(f"{escape(word)} is not a {prefix}-number reference")
    return int(match.group(2))


def perform(caller: Caller, action: Callable[[], Reply], usage: str | None = None) -> Reply:
    """Run one user action as a unit of work: commit on success; on a domain error roll
    everything back and answer with the error in words (handlers/refusals.py)."""
    try:
        answer = action()
        caller.session.commit()
        return answer
    except DibsError as exc:
        caller.session.rollback()
        if isinstance(exc, UsageError | InvalidInput) and usage:
            return reply(f"{refusal_text(exc)}. Usage: `{usage}`")
        return reply(refusal_text(exc))


def run_command(caller: Caller, text: str) -> Reply:
    """Parse and run one `/dibs` command."""
    words = text.split()
    name = words[0].lower() if words else "help"
    sub = COMMANDS.get(name)
    if sub is None:
        return reply(f"I don't know `{escape(name)}`. Try `/dibs help` for the list of commands.")

    def run() -> Reply:
        if sub.manager_only and not caller.require_member().is_manager:
            raise NotAllowed(Forbidden.MANAGER_COMMAND, command=sub.name)
        return sub.handler(caller, words[1:])

    return perform(caller, run, sub.usage)


def help_text(is_manager: bool) -> str:
    """The command list of DESIGN §6, managers' commands shown to managers."""
    everyone = [c for c in COMMANDS.values() if not c.manager_only]
    managers = [c for c in COMMANDS.values() if c.manager_only]
    lines = ["*Dibs* hands out leads fairly. Commands:"]
    lines += [f"• `{c.usage}` — {c.summary}" for c in everyone]
    if managers:
        lines.append("*For managers*" if is_manager else "*For managers* (you are not one)")
        lines += [f"• `{c.usage}` — {c.summary}" for c in managers]
    return "\n".join(lines)


@subcommand("help", "/dibs help", "this list")
def _help(caller: Caller, args: list[str]) -> Reply:
    return reply(help_text(bool(caller.member and caller.member.is_manager)))


def tell_privately(caller: Caller, answer: Reply) -> None:
    """Queue a private answer: by the interaction's response_url, else a direct message."""
    blocks = answer.get("blocks")
    if caller.response_url:
        outbox.enqueue(
            caller.session,
            outbox.Kind.RESPOND,
            caller.now,
            response_url=caller.response_url,
            user=caller.slack_user_id,
            text=answer["text"],
            blocks=blocks,
        )
    else:
        outbox.post(caller.session, caller.now, caller.slack_user_id, answer["text"], blocks)


def answer_privately(caller: Caller, action: Callable[[], Reply]) -> None:
    """Run a click's action; its answer is queued in the same transaction as its changes.

    A refused action changes nothing, so its explanation is queued on its own.
    """
    done = False

    def run() -> Reply:
        nonlocal done
        answer = action()
        tell_privately(caller, answer)
        done = True
        return answer

    answer = perform(caller, run)
    if not done:
        tell_privately(caller, answer)
        caller.session.commit()
