"""Domain exceptions; handlers turn each into the answer a user sees."""

from __future__ import annotations


class DibsError(Exception):
    """Base of every error whose message is meant for the person who caused it."""


class SettingsError(DibsError):
    """A missing or malformed environment setting."""


class ConfigError(DibsError):
    """A team config file that cannot be applied; lists every problem by key path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("config refused, nothing applied:\n" + "\n".join(f"  {p}" for p in problems))


class NotFound(DibsError):
    """An unknown reference (lead, dispute, team, member), or one of another team."""


class NotAllowed(DibsError):
    """The caller's role does not permit the action."""


class InvalidInput(DibsError):
    """Malformed arguments or fields; the message says what is expected."""


class LimitReached(DibsError):
    """A claim refused by a team rule; the message names the rule and when it frees up."""


class Conflict(DibsError):
    """The state changed under the caller (already claimed, already resolved)."""
