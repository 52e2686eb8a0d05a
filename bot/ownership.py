"""Who owns a lead, and how they came to (DESIGN §5, §7): the one place that gives a lead an owner.

Every way to an owner ends in `give` with a typed record of the choice and its inputs: the first
valid claim, the fair-start draw, auto-assign, a manager's assignment, a dispute's outcome, or
routing to the account owner. Which rep that is stays decided where its rules are (bot/claims.py,
bot/assignment.py, bot/mediation.py, bot/intake.py); that it is a rep is decided here (`takes_leads`,
`refuse_non_reps`): leads and credit go to reps only, never to a manager, the deciding one included.
The record is stored as JSON in `Lead.assignment` (`to_json`, `from_json`) and read back for
`/dibs why` (`explain`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot import audit, cards, draws
from bot.availability import schedule_of, zone_of
from bot.config import Limits, SharePeriod
from bot.errors import Forbidden, LimitReached, NotAllowed
from models import Claim, ClaimStatus, CreditShare, DisputeOutcome, How, Lead, LeadStatus, Member, Role


@dataclass(frozen=True)
class RatioLine:
    """One rep's standing when the choice was made: credited leads this week (or month) against fair share."""

    rep: str  # Slack user id
    credited: float
    fair_share: float
    ratio: float
    claimed_at: datetime | None = None  # a draw's claimants only


# A refusal stored before refusals were stored as facts is the sentence it was shown as.
StoredRefusal = LimitReached | str


@dataclass(frozen=True)
class FirstClaim:
    """The first valid claim, with no fair-start window open."""

    kind: ClassVar[str] = "first_claim"
    how: ClassVar[How] = How.CLAIM
    winner: str  # Slack user id, as in every record
    at: datetime | None = None  # when it was decided (not stored by the earliest rows)


@dataclass(frozen=True)
class WonDraw:
    """The fair-start window closed: the claimant furthest below fair share won, ties by seeded draw.

    `seed` is revealed here; `commitment` is the sha256 the card showed while the window was open
    (None for draws made before draws were verifiable, whose seed was a number).
    """

    kind: ClassVar[str] = "draw"
    how: ClassVar[How] = How.CLAIM
    winner: str
    window_seconds: int
    claimants: tuple[RatioLine, ...]
    tied: tuple[str, ...]
    seed: int | str
    at: datetime | None = None
    commitment: str | None = None
    period: SharePeriod = "week"  # the ratios' period (the team's `fair_share_period` then)


@dataclass(frozen=True)
class AutoAssigned:
    """Unclaimed for `after_minutes`: round robin to the eligible rep furthest below fair share."""

    kind: ClassVar[str] = "auto"
    how: ClassVar[How] = How.AUTO
    winner: str
    after_minutes: int
    candidates: tuple[RatioLine, ...]
    skipped: tuple[tuple[str, StoredRefusal], ...]  # reps not eligible, and the rule that said so
    at: datetime | None = None


@dataclass(frozen=True)
class AssignedByManager:
    """A manager gave the lead to a rep, over a limit if need be."""

    kind: ClassVar[str] = "manager"
    how: ClassVar[How] = How.ASSIGN
    winner: str
    by: str
    reason: str | None  # the manager's words
    over_limit: StoredRefusal | None  # the limit the assignment went over
    at: datetime | None = None


@dataclass(frozen=True)
class SetInCrm:
    """The team's CRM reported a new owner (`owner_changed`); Dibs followed it, over a limit if need be."""

    kind: ClassVar[str] = "crm"
    how: ClassVar[How] = How.ASSIGN
    winner: str
    reason: str | None  # the CRM's words
    over_limit: StoredRefusal | None  # the limit the change went over
    at: datetime | None = None


@dataclass(frozen=True)
class DecidedInDispute:
    """A dispute's outcome: awarded, split (the largest share holds the lead), assigned or withdrawn."""

    kind: ClassVar[str] = "dispute"
    winner: str
    dispute: str  # its reference, D-n
    outcome: DisputeOutcome
    by: str | None  # the mediator; None when the other parties withdrew
    shares: tuple[tuple[str, int], ...]  # (Slack user id, percent)
    reason: str | None  # the mediator's words
    at: datetime | None = None

    @property
    def how(self) -> How:
        return _HOW_OF_OUTCOME[self.outcome]


@dataclass(frozen=True)
class RoutedToAccountOwner:
    """`route_to_account_owner`: a new lead of an account a rep holds went straight to them."""

    kind: ClassVar[str] = "route"
    how: ClassVar[How] = How.ROUTE
    winner: str
    account_lead: str  # the held lead of that account
    at: datetime | None = None


OwnerChoice = (
    FirstClaim | WonDraw | AutoAssigned | AssignedByManager | SetInCrm | DecidedInDispute | RoutedToAccountOwner
)

_HOW_OF_OUTCOME = {
    DisputeOutcome.AWARD: How.AWARD,
    DisputeOutcome.SPLIT: How.SPLIT,
    DisputeOutcome.ASSIGN: How.ASSIGN,
    DisputeOutcome.WITHDRAWN: How.WITHDRAWN,
}


# ---- who may own a lead ----------------------------------------------------------------------


def takes_leads(member: Member) -> bool:
    """Leads and credit go to reps only (DESIGN §5): a manager hands them out and mediates."""
    return member.role == Role.REP


def refuse_non_reps(lead: Lead, takers: Sequence[Member], *, by: str | None, dispute: str | None = None) -> None:
    """Refuse `lead` (or a share of its credit, for 2+ takers) for a manager: `by` (a Slack user id)
    decided it, `dispute` (its ref) is what it settles. A mediator is never a split partner."""
    for taker in takers:
        if not takes_leads(taker):
            raise NotAllowed(
                Forbidden.REPS_ONLY,
                user=taker.slack_user_id,
                lead=lead.ref,
                dispute=dispute,
                partner=len(takers) > 1,
                yourself=taker.slack_user_id == by,
            )


def _decided(choice: OwnerChoice) -> tuple[str | None, str | None]:
    """Who decided the choice, and in which dispute (None for the rules' own choices)."""
    match choice:
        case AssignedByManager():
            return choice.by, None
        case DecidedInDispute():
            return choice.by, choice.dispute
    return None, None


# ---- giving a lead its owner -----------------------------------------------------------------


def give(
    session: Session,
    lead: Lead,
    claim: Claim,
    choice: OwnerChoice,
    limits: Limits,
    now: datetime,
    *,
    credit: Sequence[tuple[Member, int]] = (),
) -> None:
    """Make `claim` the lead's owner as `choice` records: credit (all of it, or a split's `credit`),
    the contact SLA clock, the card update and the audit event. A manager is refused (`refuse_non_reps`)."""
    by, dispute = _decided(choice)
    refuse_non_reps(lead, [member for member, _ in credit] or [claim.member], by=by, dispute=dispute)
    claim.how = choice.how
    claim.status = ClaimStatus.ACTIVE
    claim.started_at = now
    schedule = schedule_of(claim.member)  # the SLA runs in the holder's working time
    claim.remind_at = schedule.add_working(now, limits.contact_sla_minutes / 2)
    claim.expires_at = schedule.add_working(now, limits.contact_sla_minutes)
    if lead.status != LeadStatus.OPEN:  # an open lead has no credit: giving it back deleted it
        session.execute(delete(CreditShare).where(CreditShare.lead_id == lead.id))
    lead.status = LeadStatus.CLAIMED
    lead.auto_assign_at = None
    lead.assignment = to_json(choice)
    lead.fallback = None
    for member, percent in credit or [(claim.member, 100)]:
        session.add(CreditShare(lead_id=lead.id, member_id=member.id, percent=percent, created_at=now))
    claim.member.last_assigned_at = now
    session.flush()
    audit.record(
        session,
        at=now,
        actor=claim.member.slack_user_id,
        action="lead.owned",
        team_id=lead.team_id,
        lead_id=lead.id,
        how=claim.how,
        way=choice.kind,  # first_claim, draw, auto, manager, dispute, route: the claims metric counts these
        over_limit=claim.over_limit,
    )
    cards.refresh(session, lead, now)


def open_for_claims(lead: Lead, limits: Limits, now: datetime) -> None:
    """The lead has no owner: start (or restart) the claiming clock, a fair-start window, then auto-assign."""
    lead.status = LeadStatus.OPEN
    lead.announced_at = now
    lead.fair_start_until = now + timedelta(seconds=limits.fair_start_seconds) if limits.fair_start_seconds else None
    lead.draw_seed = draws.new_seed() if limits.fair_start_seconds else None
    lead.draw_commitment = draws.commitment(lead.draw_seed) if lead.draw_seed else None
    lead.auto_assign_at = now + timedelta(minutes=limits.auto_assign_after_minutes)
    lead.assignment = None


def choice_of(lead: Lead) -> OwnerChoice | None:
    """How the lead's current owner was chosen; None while it has none."""
    return from_json(lead.assignment) if lead.assignment else None


def draw_check(lead: Lead) -> draws.DrawCheck | None:
    """The lead's revealed draw recomputed from what was published; None if no verifiable draw chose its owner."""
    choice = choice_of(lead)
    if not isinstance(choice, WonDraw) or choice.commitment is None:
        return None
    entrants = [(line.rep, line.ratio) for line in choice.claimants]
    return draws.check(lead.ref, str(choice.seed), choice.commitment, entrants, choice.winner)


@dataclass(frozen=True)
class NoRepTookIt:
    """Where a lead went while no rep could take it, and why (`Lead.fallback`)."""

    kind: str  # "escalated": its contact SLA was missed too often; "no_eligible": nobody could take it
    at: datetime
    missed_by: tuple[str, ...] = ()  # who missed it, in order
    went_to: str = "managers"  # "managers", "wait" (tried again later) or a Slack user id
    skipped: tuple[tuple[str, StoredRefusal], ...] = ()  # each rep, and the rule that passed them over


def no_rep_json(record: NoRepTookIt) -> dict[str, Any]:
    """The record as `Lead.fallback` stores it."""
    return {
        "kind": record.kind,
        "at": record.at.isoformat(),
        "missed_by": list(record.missed_by),
        "went_to": record.went_to,
        "skipped": {rep: _refusal_json(refusal) for rep, refusal in record.skipped},
    }


def _no_rep(stored: dict[str, Any] | None) -> NoRepTookIt | None:
    if not stored:
        return None
    skipped = tuple((rep, _refusal(why)) for rep, why in stored.get("skipped", {}).items())
    return NoRepTookIt(
        stored["kind"],
        datetime.fromisoformat(stored["at"]),
        tuple(stored.get("missed_by", ())),
        stored.get("went_to", "managers"),
        skipped,
    )


@dataclass(frozen=True)
class Explanation:
    """`/dibs why`: the lead, its status and how its current owner was chosen (None: no owner yet)."""

    lead: str  # its reference, L-n
    status: LeadStatus
    choice: OwnerChoice | None
    contact_due: datetime | None = None  # the holder's contact SLA, while it runs
    holder_zone: str | None = None  # the holder's own time zone, to show it in
    no_rep: NoRepTookIt | None = None  # while it has no owner: where it went instead


def explain(lead: Lead) -> Explanation:
    running = [c for c in lead.claims if c.status == ClaimStatus.ACTIVE and c.expires_at is not None]
    holder = running[0] if running and lead.status == LeadStatus.CLAIMED else None
    due, zone = (holder.expires_at, zone_of(holder.member)) if holder else (None, None)
    return Explanation(lead.ref, LeadStatus(lead.status), choice_of(lead), due, zone, _no_rep(lead.fallback))


# ---- the stored form -------------------------------------------------------------------------


def _ratio_json(line: RatioLine) -> dict[str, Any]:
    stored = {"rep": line.rep, "credited": line.credited, "fair_share": line.fair_share, "ratio": line.ratio}
    return stored | ({"claimed_at": line.claimed_at.isoformat()} if line.claimed_at else {})


def _refusal_json(refusal: StoredRefusal) -> dict[str, Any] | str:
    return refusal.as_record() if isinstance(refusal, LimitReached) else refusal


def to_json(choice: OwnerChoice) -> dict[str, Any]:
    """The choice as `Lead.assignment` stores it (the same shape earlier releases wrote)."""
    stored: dict[str, Any] = {"kind": choice.kind, "winner": choice.winner}
    if choice.at is not None:
        stored["at"] = choice.at.isoformat()
    match choice:
        case FirstClaim():
            return stored
        case WonDraw():
            claimants = [_ratio_json(line) for line in choice.claimants]
            return (
                stored
                | {
                    "window_seconds": choice.window_seconds,
                    "seed": choice.seed,
                    "claimants": claimants,
                    "tied": list(choice.tied),
                }
                | ({"commitment": choice.commitment} if choice.commitment else {})
                | ({"period": choice.period} if choice.period != "week" else {})
            )
        case AutoAssigned():
            return stored | {
                "after_minutes": choice.after_minutes,
                "candidates": [_ratio_json(line) for line in choice.candidates],
                "skipped": {rep: _refusal_json(refusal) for rep, refusal in choice.skipped},
            }
        case AssignedByManager():
            over = _refusal_json(choice.over_limit) if choice.over_limit is not None else None
            return stored | {"by": choice.by, "reason": choice.reason, "over_limit": over}
        case SetInCrm():
            over = _refusal_json(choice.over_limit) if choice.over_limit is not None else None
            return stored | {"reason": choice.reason, "over_limit": over}
        case DecidedInDispute():
            return stored | {
                "dispute": choice.dispute,
                "outcome": choice.outcome.value,
                "by": choice.by,
                "reason": choice.reason,
                "shares": [[rep, percent] for rep, percent in choice.shares],
            }
        case RoutedToAccountOwner():
            return stored | {"account_lead": choice.account_lead}


def _ratios(rows: list[dict[str, Any]]) -> tuple[RatioLine, ...]:
    return tuple(
        RatioLine(r["rep"], r["credited"], r["fair_share"], r["ratio"], _time(r.get("claimed_at"))) for r in rows
    )


def _refusal(stored: dict[str, Any] | str) -> StoredRefusal:
    return LimitReached.from_record(stored) if isinstance(stored, dict) else stored


def _time(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


def from_json(stored: dict[str, Any]) -> OwnerChoice:
    """A record read back from `Lead.assignment`, whichever release wrote it."""
    winner, at = stored["winner"], _time(stored.get("at"))
    match stored["kind"]:
        case FirstClaim.kind:
            return FirstClaim(winner, at)
        case WonDraw.kind:
            claimants, tied = _ratios(stored["claimants"]), tuple(stored["tied"])
            window, seed, committed = stored["window_seconds"], stored["seed"], stored.get("commitment")
            return WonDraw(winner, window, claimants, tied, seed, at, committed, stored.get("period", "week"))
        case AutoAssigned.kind:
            skipped = tuple((rep, _refusal(why)) for rep, why in stored["skipped"].items())
            return AutoAssigned(winner, stored["after_minutes"], _ratios(stored["candidates"]), skipped, at)
        case AssignedByManager.kind:
            over = stored.get("over_limit")
            return AssignedByManager(winner, stored["by"], stored.get("reason"), _refusal(over) if over else None, at)
        case SetInCrm.kind:
            over = stored.get("over_limit")
            return SetInCrm(winner, stored.get("reason"), _refusal(over) if over else None, at)
        case DecidedInDispute.kind:
            shares = tuple((rep, percent) for rep, percent in stored["shares"])
            outcome = DisputeOutcome(stored["outcome"])
            return DecidedInDispute(
                winner, stored["dispute"], outcome, stored.get("by"), shares, stored.get("reason"), at
            )
        case RoutedToAccountOwner.kind:
            return RoutedToAccountOwner(winner, stored["account_lead"], at)
    raise ValueError(f"an assignment of unknown kind {stored['kind']!r}")
