"""`/dibs why`: how a lead's owner was chosen, read back from what was stored when it was decided.

Each kind of decision is its own record; handlers/answers.py words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.errors import LimitReached
from models import Lead


@dataclass(frozen=True)
class RatioLine:
    """One rep's standing when the choice was made: credited leads this week against fair share."""

    rep: str  # Slack user id
    credited: float
    fair_share: float
    ratio: float


# A refusal stored before refusals were stored as facts is the sentence it was shown as.
StoredRefusal = LimitReached | str


@dataclass(frozen=True)
class NoOwner:
    lead: str
    status: str


@dataclass(frozen=True)
class FirstClaim:
    lead: str
    winner: str


@dataclass(frozen=True)
class RoutedToAccountOwner:
    lead: str
    winner: str
    account_lead: str


@dataclass(frozen=True)
class DecidedInDispute:
    lead: str
    dispute: str
    outcome: str  # award, split, assign, withdrawn
    by: str | None
    shares: tuple[tuple[str, int], ...]
    reason: str | None  # the mediator's words


@dataclass(frozen=True)
class AssignedByManager:
    lead: str
    winner: str
    by: str
    reason: str | None  # the manager's words
    over_limit: StoredRefusal | None


@dataclass(frozen=True)
class WonDraw:
    lead: str
    winner: str
    window_seconds: int
    claimants: tuple[RatioLine, ...]
    tied: tuple[str, ...]
    seed: int


@dataclass(frozen=True)
class AutoAssigned:
    lead: str
    winner: str
    after_minutes: int
    candidates: tuple[RatioLine, ...]
    skipped: tuple[tuple[str, StoredRefusal], ...]


Explanation = (
    NoOwner | FirstClaim | RoutedToAccountOwner | DecidedInDispute | AssignedByManager | WonDraw | AutoAssigned
)


def _ratios(rows: list[dict[str, Any]]) -> tuple[RatioLine, ...]:
    return tuple(RatioLine(r["rep"], r["credited"], r["fair_share"], r["ratio"]) for r in rows)


def _refusal(stored: dict[str, Any] | str) -> StoredRefusal:
    return LimitReached.from_record(stored) if isinstance(stored, dict) else stored


def explain(lead: Lead) -> Explanation:
    """How the current owner was chosen, from the inputs stored in `Lead.assignment`."""
    facts = lead.assignment
    if not facts:
        return NoOwner(lead.ref, lead.status)
    kind, winner = facts["kind"], facts["winner"]
    if kind == "first_claim":
        return FirstClaim(lead.ref, winner)
    if kind == "route":
        return RoutedToAccountOwner(lead.ref, winner, facts["account_lead"])
    if kind == "dispute":
        shares = tuple((uid, pct) for uid, pct in facts["shares"])
        return DecidedInDispute(
            lead.ref, facts["dispute"], facts["outcome"], facts.get("by"), shares, facts.get("reason")
        )
    if kind == "manager":
        over = facts.get("over_limit")
        return AssignedByManager(lead.ref, winner, facts["by"], facts.get("reason"), _refusal(over) if over else None)
    if kind == "draw":
        return WonDraw(
            lead.ref, winner, facts["window_seconds"], _ratios(facts["claimants"]), tuple(facts["tied"]), facts["seed"]
        )
    if kind == "auto":
        skipped = tuple((uid, _refusal(why)) for uid, why in facts["skipped"].items())
        return AutoAssigned(lead.ref, winner, facts["after_minutes"], _ratios(facts["candidates"]), skipped)
    raise ValueError(f"{lead.ref} has an assignment of unknown kind {kind!r}")
