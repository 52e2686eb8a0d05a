"""Asking for a lead (DESIGN §5, §7): a click, `/dibs claim` or `/dibs contest`.

A claim that passes the rules in bot/claims.py is granted (bot/ownership.py gives the lead),
waits for the fair-start draw (bot/assignment.py), or opens or joins a dispute (bot/mediation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from bot import audit, cards, ownership
from bot.assignment import settle_draw
from bot.availability import zone_of
from bot.claims import check_share, judge, lock_claimant, new_claim, standing
from bot.config import Limits
from bot.errors import Clash, Conflict, Forbidden, Invalid, InvalidInput, LimitReached, NotAllowed
from bot.leads import get_lead, owning_claim
from bot.mediation import open_dispute_for
from bot.overlap import account_hold
from bot.ownership import FirstClaim
from bot.teams import effective_limits
from models import Claim, Dispute, How, Lead, LeadStatus, Member


class ClaimOutcome(StrEnum):
    OWNED = "owned"  # the lead is the rep's now
    IN_DRAW = "in_draw"  # waiting for the fair-start draw
    ALREADY_ASKED = "already_asked"  # a pending claim exists already
    REFUSED = "refused"  # a team rule said no (`refusal`)
    ACCOUNT_DISPUTE = "account_dispute"  # another rep holds the account: a dispute decides
    JOINED_DISPUTE = "joined_dispute"  # the lead was already disputed
    ALREADY_YOURS = "already_yours"
    WINDOW_DISPUTE = "window_dispute"  # claimed inside the holder's contest window
    HELD = "held"  # held past the contest window: the rep may contest
    CONTESTED = "contested"


@dataclass(frozen=True)
class ClaimResult:
    """What became of a claim, with the facts handlers/ words it from."""

    outcome: ClaimOutcome
    lead: Lead
    at: datetime
    timezone: str  # the claimant's own zone when there is a claim, else the team's
    claim: Claim | None = None
    dispute: Dispute | None = None
    refusal: LimitReached | None = None
    holder: str | None = None  # Slack user id holding the lead (or its account)
    held_since: datetime | None = None
    account: str | None = None  # the account key, for an account dispute
    account_lead: str | None = None  # the held lead of that account
    contact_sla_minutes: int | None = None

    @property
    def refused(self) -> bool:
        return self.outcome in (ClaimOutcome.REFUSED, ClaimOutcome.HELD)

    @property
    def offer_contest(self) -> bool:
        return self.outcome == ClaimOutcome.HELD


def _result(outcome: ClaimOutcome, lead: Lead, now: datetime, claim: Claim | None = None, **facts: Any) -> ClaimResult:
    zone = zone_of(claim.member) if claim is not None else lead.team.timezone
    return ClaimResult(outcome, lead, now, zone, claim, **facts)


def claim_lead(session: Session, member: Member, lead_id: int, now: datetime) -> ClaimResult:
    """A rep asks for a lead: granted, entered in a draw or a dispute, or refused with the rule."""
    limits = effective_limits(member.team)
    lead = get_lead(session, member.team_id, lead_id, lock=True)
    if member.is_manager:
        raise NotAllowed(Forbidden.MANAGERS_DO_NOT_CLAIM)
    if lead.status == LeadStatus.OPEN and lead.fair_start_until and lead.fair_start_until <= now:
        settle_draw(session, lead, now)  # the window has closed: decide it before anything else
    if lead.status in (LeadStatus.WON, LeadStatus.LOST):
        raise Conflict(Clash.LEAD_CLOSED, lead=lead.ref, status=lead.status)
    if lead.status == LeadStatus.DISPUTED:
        return _enter_dispute(session, member, lead, limits, now)
    if lead.status == LeadStatus.CLAIMED:
        return _claim_on_held_lead(session, member, lead, limits, now)
    return _claim_open_lead(session, member, lead, limits, now)


def _eligible_claim(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> Claim | ClaimResult:
    """A pending claim if the rep passes every rule; else the refusal (audited, so caps show in the digest)."""
    member, away = lock_claimant(session, member.id, now)
    use = standing(session, member, lead, limits, now)
    if use.asked:
        return _result(ClaimOutcome.ALREADY_ASKED, lead, now)
    try:
        judge(member, lead, limits, now, use, away)
        check_share(session, member, limits, now)
    except LimitReached as refusal:
        audit.record(
            session,
            at=now,
            actor=member.slack_user_id,
            action="claim.refused_limit",
            team_id=lead.team_id,
            lead_id=lead.id,
            member_id=member.id,
            refusal=refusal.as_record(),
        )
        return _result(ClaimOutcome.REFUSED, lead, now, refusal=refusal)
    claim = new_claim(lead, member, How.CLAIM, limits, now)
    session.add(claim)  # inserted by the next flush, in the state the claim ends up in
    return claim


def _claim_open_lead(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> ClaimResult:
    claim = _eligible_claim(session, member, lead, limits, now)
    if isinstance(claim, ClaimResult):
        return claim
    with session.no_autoflush:  # the new claim is inserted once, as it ends up
        held = account_hold(session, lead, now, limits.account_hold_days, member.id)
    if held is not None and held.holder is not None:
        dispute = open_dispute_for(session, lead, claim, now, account=held)
        return _result(
            ClaimOutcome.ACCOUNT_DISPUTE,
            lead,
            now,
            claim,
            dispute=dispute,
            holder=held.holder.slack_user_id,
            account=lead.account_key,
            account_lead=held.lead_ref,
        )
    if lead.fair_start_until and now < lead.fair_start_until:
        audit.record(
            session, at=now, actor=member.slack_user_id, action="claim.requested", team_id=lead.team_id, lead_id=lead.id
        )
        cards.refresh(session, lead, now)
        return _result(ClaimOutcome.IN_DRAW, lead, now, claim)
    ownership.give(session, lead, claim, FirstClaim(member.slack_user_id, now), limits, now)
    return _result(ClaimOutcome.OWNED, lead, now, claim, contact_sla_minutes=limits.contact_sla_minutes)


def _enter_dispute(
    session: Session, member: Member, lead: Lead, limits: Limits, now: datetime, statement: str | None = None
) -> ClaimResult:
    """A claim on a disputed lead joins its dispute (one dispute per lead, not one per click)."""
    claim = _eligible_claim(session, member, lead, limits, now)
    if isinstance(claim, ClaimResult):
        return claim
    dispute = open_dispute_for(session, lead, claim, now, statement=statement)
    return _result(ClaimOutcome.JOINED_DISPUTE, lead, now, claim, dispute=dispute)


def _claim_on_held_lead(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> ClaimResult:
    """Inside the contest window a second claim opens a dispute; after it, the rep may contest."""
    owner = owning_claim(session, lead.id)
    if owner is not None and owner.member_id == member.id:
        return _result(ClaimOutcome.ALREADY_YOURS, lead, now)
    holder = owner.member.slack_user_id if owner else None
    started = owner.started_at if owner and owner.started_at else now
    window = timedelta(minutes=limits.contest_window_minutes)
    if owner is not None and limits.contest_window_minutes and now - started <= window:
        claim = _eligible_claim(session, member, lead, limits, now)
        if isinstance(claim, ClaimResult):
            return claim
        dispute = open_dispute_for(session, lead, claim, now, holder=owner)
        return _result(
            ClaimOutcome.WINDOW_DISPUTE, lead, now, claim, dispute=dispute, holder=holder, held_since=started
        )
    return _result(ClaimOutcome.HELD, lead, now, holder=holder, held_since=started)


def contest(session: Session, member: Member, lead_id: int, reason: str, now: datetime) -> ClaimResult:
    """Challenge the holder of a lead after the contest window: this opens (or joins) a dispute."""
    if not reason.strip():
        raise InvalidInput(Invalid.REASON_NEEDED)
    limits = effective_limits(member.team)
    lead = get_lead(session, member.team_id, lead_id, lock=True)
    if member.is_manager:
        raise NotAllowed(Forbidden.MANAGERS_DO_NOT_CONTEST)
    if lead.status == LeadStatus.DISPUTED:
        return _enter_dispute(session, member, lead, limits, now, statement=reason)
    owner = owning_claim(session, lead.id)
    if lead.status != LeadStatus.CLAIMED or owner is None:
        raise Conflict(Clash.NOTHING_TO_CONTEST, lead=lead.ref, status=lead.status)
    if owner.member_id == member.id:
        raise Conflict(Clash.YOU_HOLD, lead=lead.ref)
    claim = _eligible_claim(session, member, lead, limits, now)
    if isinstance(claim, ClaimResult):
        return claim
    dispute = open_dispute_for(session, lead, claim, now, holder=owner, statement=reason)
    return _result(ClaimOutcome.CONTESTED, lead, now, claim, dispute=dispute)
