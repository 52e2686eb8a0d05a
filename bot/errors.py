"""Domain exceptions. A refusal carries its reason and facts; handlers/refusals.py words it.

Facts are JSON-ready (ids, refs, numbers, ISO times, the raw user text), so a refusal can
also be stored as it is (a limit a manager's assignment went over, for `why`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class DibsError(Exception):
    """Base of every error meant for the person who caused it."""


class SettingsError(DibsError):
    """A missing or malformed environment setting (read on the terminal, so it carries its text)."""


class ConfigError(DibsError):
    """A team config file that cannot be applied; lists every problem by key path (terminal text)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("config refused, nothing applied:\n" + "\n".join(f"  {p}" for p in problems))


class FileRefused(DibsError):
    """A file named on the command line that cannot be read as asked (terminal text)."""


class RowRefused(DibsError):
    """A CSV row that cannot be read as a lead (terminal text, reported with its line)."""


class Refusal(DibsError):
    """A refused request: why (an enum member of the subclass's kind) and the facts to word it."""

    why: StrEnum

    def __init__(self, why: StrEnum, /, **facts: Any):
        super().__init__(why, facts)
        self.why = why
        self.facts = facts

    def __str__(self) -> str:  # for logs; people read handlers/refusals.py's sentence
        return f"{type(self).__name__}({self.why}, {self.facts})"

    def as_record(self) -> dict[str, Any]:
        """The refusal as JSON, for storing it with what it explains."""
        return {"why": str(self.why), **self.facts}


class Missing(StrEnum):
    LEAD = "lead"  # ref
    DISPUTE = "dispute"  # ref
    OPEN_DISPUTE = "open_dispute"  # lead
    MEMBER = "member"  # user
    TEAM = "team"  # slug, known


class NotFound(Refusal):
    """An unknown reference (lead, dispute, team, member), or one of another team."""

    why: Missing


class Forbidden(StrEnum):
    NOT_IN_TEAM = "not_in_team"
    MANAGER_COMMAND = "manager_command"  # command
    MANAGERS_DO_NOT_CLAIM = "managers_do_not_claim"
    MANAGERS_DO_NOT_CONTEST = "managers_do_not_contest"
    ASSIGN_NEEDS_MANAGER = "assign_needs_manager"
    RESOLVE_NEEDS_MANAGER = "resolve_needs_manager"
    NOT_THE_HOLDER = "not_the_holder"  # lead, holder
    PARTY_CANNOT_DECIDE = "party_cannot_decide"  # dispute
    NOT_A_PARTY = "not_a_party"  # dispute
    REPS_ONLY = "reps_only"  # user, lead, dispute (None outside one), partner (a split share), yourself


class NotAllowed(Refusal):
    """The caller's role does not permit the action."""

    why: Forbidden


class Invalid(StrEnum):
    NOT_IN_FUTURE = "not_in_future"  # date
    REASON_NEEDED = "reason_needed"
    NOT_A_MEMBER = "not_a_member"  # user
    SPLIT_PARTNERS = "split_partners"  # count, min, max
    SPLIT_REPEATED_PARTNER = "split_repeated_partner"
    SPLIT_EMPTY_SHARE = "split_empty_share"
    SPLIT_TOTAL = "split_total"  # total
    AWARD_TO_OUTSIDER = "award_to_outsider"  # user, dispute, lead
    NOT_A_WEEK = "not_a_week"  # text
    NO_SUCH_WEEK = "no_such_week"  # year, week
    WEEK_OUT_OF_RANGE = "week_out_of_range"  # first, last (years)
    WEEK_NOT_STARTED = "week_not_started"  # week, team
    UNKNOWN_LIMIT = "unknown_limit"  # key, known
    BAD_LIMIT_VALUE = "bad_limit_value"  # key, problem
    UNKNOWN_ROLE = "unknown_role"  # role
    REMOVE_YOURSELF = "remove_yourself"


class InvalidInput(Refusal):
    """Malformed arguments or fields; the sentence says what is expected."""

    why: Invalid


class Limit(StrEnum):
    LEFT_TEAM = "left_team"
    AWAY = "away"  # until (ISO or None), timezone, by_status (a Slack status says so)
    TERRITORY = "territory"  # lead, territory, yours
    ACTIVE = "max_active_claims"  # held, limit
    DAILY = "max_claims_per_day"  # held, limit, timezone, frees_at, frees_in (seconds)
    HOT = "max_hot_claims_per_day"  # as DAILY, and hot_score
    WEEKLY = "max_claims_per_week"  # as DAILY (frees_at: the next Monday, the rep's team zone)
    MONTHLY = "max_claims_per_month"  # as DAILY (frees_at: the 1st of next month)
    OFF_HOURS = "off_hours"  # back_at (ISO: the next working window), timezone (the rep's); auto-assign only
    PAUSED = "paused"  # since (ISO), misses; auto-assign only
    PAST_HOLDER = "past_holder"  # lead, until (ISO), timezone: missed its contact SLA not long ago
    SHARE = "max_share_ratio"  # ratio, limit, credited, fair_share, period, timezone, frees_at, frees_in (period end)


class LimitReached(Refusal):
    """A claim refused by a team rule: the rule, the use against its limit, when it frees up."""

    why: Limit

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> LimitReached:
        facts = dict(record)
        return cls(Limit(facts.pop("why")), **facts)


class Clash(StrEnum):
    LEAD_CLOSED = "lead_closed"  # lead, status
    NOT_HELD = "not_held"  # lead, status
    ALREADY_HOLDS = "already_holds"  # user, lead
    YOU_HOLD = "you_hold"  # lead
    NOTHING_TO_CONTEST = "nothing_to_contest"  # lead, status
    ALREADY_CONTACTED = "already_contacted"  # lead
    NOT_AWAY = "not_away"
    DISPUTE_DECIDED = "dispute_decided"  # dispute, status, by, outcome
    DISPUTE_CLOSED = "dispute_closed"  # dispute, status
    ALREADY_MEMBER = "already_member"  # user, team (None: the caller's), role
    NO_VERIFIABLE_DRAW = "no_verifiable_draw"  # lead: its owner was not chosen by a verifiable draw
    IN_DISPUTE = "in_dispute"  # lead, dispute: its mediator decides who owns it, in Slack


class Conflict(Refusal):
    """The state changed under the caller (already claimed, already resolved)."""

    why: Clash
