"""The `/dibs` command: its subcommands, listed once (handlers/slack_app.py), and parsing helpers.

A subcommand is parse → call the service → render: it returns the reply and raises a domain
error (or a UsageError) when refused; handlers/pipeline.py commits, or rolls back and words the error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session

from bot.errors import DibsError, Forbidden, InvalidInput, NotAllowed
from handlers.blocks import escape
from handlers.pipeline import Reply, open_after_ack, open_requested_form, reply
from infra import logs
from models import Member
from models.bounds import MAX_ID, SLACK_ID_LENGTH, has_control_characters


def team_member(member: Member | None) -> Member:
    """The caller as a member of a team; someone outside every team is refused."""
    if member is None:
        raise NotAllowed(Forbidden.NOT_IN_TEAM)
    return member


@dataclass
class Caller:
    """Who typed a `/dibs` command, with the request's session and time (from the pipeline).

    A subcommand that needs a modal asks for it with `open_form`; it opens once the command
    is answered.
    """

    session: Session
    now: datetime
    member: Member | None = None
    form: dict[str, Any] | None = None
    response_url: str | None = None  # where an answer worked after the request goes

    def require_member(self) -> Member:
        return team_member(self.member)

    def open_form(self, view: dict[str, Any]) -> None:
        self.form = view


class UsageError(DibsError):
    """Arguments do not fit the subcommand; the reply shows its usage line (text written here, user text escaped)."""


Handler = Callable[[Caller, list[str]], Reply]


@dataclass(frozen=True)
class Subcommand:
    """`/dibs NAME`: its usage and summary (for help and usage lines) and its handler."""

    name: str
    usage: str
    summary: str
    handler: Handler
    manager_only: bool = False


_MENTION = re.compile(rf"^<@([UW][A-Z0-9]{{1,{SLACK_ID_LENGTH - 1}}})(?:\|[^>]*)?>$")
_REF = re.compile(r"^([LD])-([0-9]{1,10})$", re.IGNORECASE)
_REF_FIELDS = {"L": "lead", "D": "dispute"}  # the log context field of each kind of reference


def parse_user(word: str) -> str:
    """A Slack user id from an escaped mention such as `<@U123|ann>`."""
    match = _MENTION.match(word)
    if not match:
        raise UsageError(f"{escape(word)} is not a @mention of a person")
    return match.group(1)


def parse_ref(word: str, prefix: str) -> int:
    """The number in a reference such as `L-42` or `D-7`, no larger than an id can be."""
    match = _REF.match(word)
    if not match or match.group(1).upper() != prefix or int(match.group(2)) > MAX_ID:
        raise UsageError(f"{escape(word)} is not a {prefix}-number reference")
    logs.bind(**{_REF_FIELDS.get(prefix, "ref"): f"{prefix}-{int(match.group(2))}"})
    return int(match.group(2))


def parse_percent(word: str) -> int:
    """A whole percentage, 0 to 100 (`60`)."""
    if not re.fullmatch(r"[0-9]{1,3}", word) or int(word) > 100:
        raise UsageError(f"{escape(word)} is not a whole percentage")
    return int(word)


class Commands:
    """Every `/dibs` subcommand, `help` first; the help list and usage lines come from them."""

    def __init__(self, subcommands: Iterable[Subcommand]):
        listed = [Subcommand("help", "/dibs help", "this list", self._help), *subcommands]
        self._by_name = {sub.name: sub for sub in listed}
        if len(self._by_name) < len(listed):
            raise ValueError(f"two subcommands share a name among {[sub.name for sub in listed]}")

    def names(self) -> list[str]:
        return list(self._by_name)

    def _find(self, text: str) -> tuple[str, Subcommand | None, list[str]]:
        words = text.split()
        name = words[0].lower() if words else "help"
        return name, self._by_name.get(name), words[1:]

    def usage_for(self, text: str, error: DibsError) -> str | None:
        """The usage line to show with `error`: malformed arguments to a subcommand `text` names."""
        _, sub, _ = self._find(text)
        return sub.usage if sub and isinstance(error, UsageError | InvalidInput) else None

    def run(self, caller: Caller, text: str) -> Reply:
        """Parse and run one `/dibs` command."""
        name, sub, args = self._find(text)
        if sub is None:
            return reply(f"I don't know `{escape(name)}`. Try `/dibs help` for the list of commands.")
        if has_control_characters(text):
            raise UsageError("Commands may not contain control characters")
        if sub.manager_only and not caller.require_member().is_manager:
            raise NotAllowed(Forbidden.MANAGER_COMMAND, command=sub.name)
        return sub.handler(caller, args)

    def help_text(self, is_manager: bool) -> str:
        """The command list of DESIGN §6, managers' commands shown to managers."""
        everyone = [c for c in self._by_name.values() if not c.manager_only]
        managers = [c for c in self._by_name.values() if c.manager_only]
        lines = ["*Dibs* hands out leads fairly. Commands:"]
        lines += [f"• `{c.usage}` — {c.summary}" for c in everyone]
        if managers:
            lines.append("*For managers*" if is_manager else "*For managers* (you are not one)")
            lines += [f"• `{c.usage}` — {c.summary}" for c in managers]
        return "\n".join(lines)

    def _help(self, caller: Caller, args: list[str]) -> Reply:
        return reply(self.help_text(bool(caller.member and caller.member.is_manager)))


def register(app: App, commands: Commands) -> None:
    """Answer `/dibs` in the HTTP response; a modal a subcommand asked for opens after it."""

    def dibs_command(
        ack: Ack, command: dict[str, Any], context: BoltContext, session: Session, now: datetime, member: Member | None
    ) -> None:
        caller = Caller(session, now, member, response_url=command.get("response_url"))
        ack(**commands.run(caller, command.get("text", "")))
        if caller.form is not None:
            open_after_ack(context, caller.form)

    app.command("/dibs")(ack=dibs_command, lazy=[open_requested_form])
