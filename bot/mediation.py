"""Disputes and mediation (DESIGN §7): opening, the case, resolution, withdrawal, reminders.

A dispute is decided under its row lock: two managers resolving at once get one outcome,
and the second is told what the first decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import audit, cards, outbox, ownership
from bot.claims import LimitUse, limit_use, new_claim
from bot.errors import Clash, Conflict, Forbidden, Invalid, InvalidInput, Missing, NotAllowed, NotFound
from bot.fairness import to_date_ratios
from bot.inserts import insert_unless_present
from bot.leads import owning_claim
from bot.outbox import Notice
from bot.overlap import Overlap
from bot.ownership import DecidedInDispute
from bot.teams import effective_limits, get_team
from models import (
    Claim,
    ClaimStatus,
    CreditShare,
    Dispute,
    DisputeKind,
    DisputeOutcome,
    DisputeParty,
    DisputeStatus,
    Lead,
    LeadStatus,
    Member,
    Role,
)

MIN_PARTNERS, MAX_PARTNERS = 2, 4


_PARTY_KEY = ("dispute_id", "member_id")


def open_dispute_for(
    session: Session,
    lead: Lead,
    claimant: Claim,
    now: datetime,
    *,
    holder: Claim | None = None,
    account: Overlap | None = None,
    statement: str | None = None,
) -> Dispute:
    """Open a dispute over `lead` (or join the open one) with the claimant's pending claim.

    The other side is the current holder of the lead, or the rep holding its account.
    """
    dispute = session.scalar(
        select(Dispute).where(Dispute.lead_id == lead.id, Dispute.status == DisputeStatus.OPEN).with_for_update()
    )
    created = dispute is None
    if dispute is None:
        team = lead.team
        dispute = Dispute(
            team_id=lead.team_id,
            lead_id=lead.id,
            status=DisputeStatus.OPEN,
            opened_at=now,
            kind=DisputeKind.SAME_ACCOUNT if account else DisputeKind.SAME_LEAD,
            remind_at=now + timedelta(hours=effective_limits(team).dispute_sla_hours),
            account_holder_id=account.holder.id if account and account.holder else None,
            account_held_since=account.held_since if account else None,
        )
        session.add(dispute)
        session.flush()
        if holder is not None:
            _add_party(session, dispute, holder.member, holder, holder.started_at or holder.requested_at)
        elif account is not None and account.holder is not None:
            _add_party(session, dispute, account.holder, None, account.held_since or now)
    _add_party(session, dispute, claimant.member, claimant, claimant.requested_at)
    lead.status = LeadStatus.DISPUTED
    session.flush()
    if created:
        dispute.mediator_id = _choose_mediator(session, dispute)
        dispute.suggested_member_id = _suggestion(dispute)
        outbox.enqueue(
            session,
            outbox.Kind.DISPUTE_CASE,
            now,
            team_id=lead.team_id,
            channel=team.mediation_channel_or_default,
            dispute_id=dispute.id,
        )
    else:
        refresh_case(session, dispute, now)
    if statement:
        thread_post(
            session, dispute, now, Notice.PARTY_STATEMENT, user=claimant.member.slack_user_id, statement=statement
        )
    audit.record(
        session,
        at=now,
        actor=claimant.member.slack_user_id,
        action="dispute.opened" if created else "dispute.joined",
        team_id=lead.team_id,
        lead_id=lead.id,
        dispute_id=dispute.id,
        kind=dispute.kind,
        statement=statement,
    )
    cards.refresh(session, lead, now)
    return dispute


def _add_party(session: Session, dispute: Dispute, member: Member, claim: Claim | None, claimed_at: datetime) -> None:
    """Add a party unless it is one already: the unique (dispute, member) decides, in one statement,
    so a late click under the lead's lock never loads the party list."""
    session.flush()  # the dispute and the claim, for their ids
    values = {"dispute_id": dispute.id, "member_id": member.id, "claim_id": claim.id if claim else None}
    session.execute(insert_unless_present(DisputeParty, values | {"claimed_at": claimed_at}, _PARTY_KEY))
    session.expire(dispute, ["parties"])  # read again from the table when next needed


def _choose_mediator(session: Session, dispute: Dispute) -> int | None:
    """A manager who is not a party, the one who mediated least recently (rotation)."""
    parties = {p.member_id for p in dispute.parties}
    managers = session.scalars(
        select(Member)
        .where(Member.team_id == dispute.team_id, Member.role == Role.MANAGER, Member.active.is_(True))
        .order_by(Member.id)
    ).all()
    candidates = [m for m in managers if m.id not in parties]
    if not candidates:
        return None
    last = dict(
        session.execute(
            select(Dispute.mediator_id, func.max(Dispute.opened_at))
            .where(Dispute.team_id == dispute.team_id, Dispute.id != dispute.id, Dispute.mediator_id.is_not(None))
            .group_by(Dispute.mediator_id)
        )
        .tuples()
        .all()
    )
    epoch = datetime.min.replace(tzinfo=dispute.opened_at.tzinfo)
    return min(candidates, key=lambda m: (last.get(m.id, epoch), m.id)).id


def _suggestion(dispute: Dispute) -> int | None:
    """The policy's suggestion: the account owner, else the first claim."""
    if dispute.account_holder_id is not None:
        return dispute.account_holder_id
    active = [p for p in dispute.parties if p.withdrawn_at is None]
    return min(active, key=lambda p: p.claimed_at).member_id if active else None


def thread_post(session: Session, dispute: Dispute, now: datetime, notice: Notice, /, **facts: Any) -> None:
    """A notice in the dispute's thread (sent once the case message has its timestamp)."""
    outbox.enqueue(
        session,
        outbox.Kind.THREAD_POST,
        now,
        team_id=dispute.team_id,
        dispute_id=dispute.id,
        notice=notice,
        facts=facts,
    )


def refresh_case(session: Session, dispute: Dispute, now: datetime) -> None:
    outbox.enqueue(session, outbox.Kind.DISPUTE_REFRESH, now, team_id=dispute.team_id, dispute_id=dispute.id)


# ---- reading the case ------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyFacts:
    user: str
    claimed_at: datetime
    load: LimitUse
    ratio: float | None
    withdrawn: bool


@dataclass(frozen=True)
class Case:
    """Everything the mediation message lays out."""

    dispute: Dispute
    lead: Lead
    timezone: str
    mediator: str | None
    parties: list[PartyFacts]
    account_holder: str | None
    suggestion: str | None
    resolved_by: str | None
    credit: list[tuple[str, int]]


def get_dispute(session: Session, team_id: str, dispute_id: int, *, lock: bool = False) -> Dispute:
    query = select(Dispute).where(Dispute.id == dispute_id, Dispute.team_id == team_id)
    dispute = session.scalar(query.with_for_update() if lock else query)
    if dispute is None:
        raise NotFound(Missing.DISPUTE, ref=f"D-{dispute_id}")
    return dispute


def case_facts(session: Session, dispute: Dispute, now: datetime) -> Case:
    team = get_team(session, dispute.team_id)
    ratios = to_date_ratios(session, team, now, effective_limits(team).fair_share_period)

    def uid(member_id: int | None) -> str | None:
        return session.get_one(Member, member_id).slack_user_id if member_id else None

    parties = [
        PartyFacts(
            p.member.slack_user_id,
            p.claimed_at,
            limit_use(session, p.member, now),
            ratios[p.member_id].ratio if p.member_id in ratios else None,
            p.withdrawn_at is not None,
        )
        for p in dispute.parties
    ]
    credit = session.execute(
        select(Member.slack_user_id, CreditShare.percent)
        .join(CreditShare, CreditShare.member_id == Member.id)
        .where(CreditShare.lead_id == dispute.lead_id)
        .order_by(CreditShare.percent.desc(), CreditShare.id)
    ).all()
    return Case(
        dispute,
        dispute.lead,
        team.timezone,
        uid(dispute.mediator_id),
        parties,
        uid(dispute.account_holder_id),
        uid(dispute.suggested_member_id),
        uid(dispute.resolved_by_id),
        [(u, p) for u, p in credit],
    )


def open_dispute_of(session: Session, lead: Lead) -> Dispute:
    dispute = session.scalar(select(Dispute).where(Dispute.lead_id == lead.id, Dispute.status == DisputeStatus.OPEN))
    if dispute is None:
        raise NotFound(Missing.OPEN_DISPUTE, lead=lead.ref)
    return dispute


def open_disputes(session: Session, team_id: str) -> list[Dispute]:
    return list(
        session.scalars(
            select(Dispute)
            .where(Dispute.team_id == team_id, Dispute.status == DisputeStatus.OPEN)
            .order_by(Dispute.opened_at)
        )
    )


# ---- resolving -------------------------------------------------------------------------------


def _locked_open(session: Session, manager: Member, dispute_id: int) -> Dispute:
    """The dispute, locked, if this manager may resolve it now."""
    if not manager.is_manager:
        raise NotAllowed(Forbidden.RESOLVE_NEEDS_MANAGER)
    dispute = get_dispute(session, manager.team_id, dispute_id, lock=True)
    if dispute.status != DisputeStatus.OPEN:
        by = session.get(Member, dispute.resolved_by_id) if dispute.resolved_by_id else None
        raise Conflict(
            Clash.DISPUTE_DECIDED,
            dispute=dispute.ref,
            status=dispute.status,
            by=by.slack_user_id if by else None,
            outcome=dispute.outcome,
        )
    if any(p.member_id == manager.id and p.withdrawn_at is None for p in dispute.parties):
        raise NotAllowed(Forbidden.PARTY_CANNOT_DECIDE, dispute=dispute.ref)
    return dispute


def _team_member(session: Session, team_id: str, user_id: str) -> Member:
    member = session.scalar(
        select(Member).where(Member.slack_user_id == user_id, Member.team_id == team_id, Member.active.is_(True))
    )
    if member is None:
        raise InvalidInput(Invalid.NOT_A_MEMBER, user=user_id)
    return member


def validate_split(shares: list[tuple[str, int]]) -> None:
    """2–4 distinct partners with whole percentages summing to 100."""
    if not MIN_PARTNERS <= len(shares) <= MAX_PARTNERS:
        raise InvalidInput(Invalid.SPLIT_PARTNERS, count=len(shares), min=MIN_PARTNERS, max=MAX_PARTNERS)
    if len({uid for uid, _ in shares}) != len(shares):
        raise InvalidInput(Invalid.SPLIT_REPEATED_PARTNER)
    if any(pct <= 0 for _, pct in shares):
        raise InvalidInput(Invalid.SPLIT_EMPTY_SHARE)
    total = sum(pct for _, pct in shares)
    if total != 100:
        raise InvalidInput(Invalid.SPLIT_TOTAL, total=total)


def resolve(
    session: Session,
    manager: Member,
    dispute_id: int,
    now: datetime,
    *,
    outcome: DisputeOutcome | str,
    shares: list[tuple[str, int]],
    reason: str | None = None,
) -> Dispute:
    """Decide a dispute: `award` to a party, `split` 2–4 ways, or `assign` to any rep of the team;
    never to a manager, the mediator included (bot/ownership.py).

    `shares` is [(Slack user id, percent)]: one entry at 100 for award and assign.
    """
    outcome = DisputeOutcome(outcome)
    dispute = _locked_open(session, manager, dispute_id)
    if outcome == DisputeOutcome.SPLIT:
        validate_split(shares)
    members = [(_team_member(session, dispute.team_id, uid), pct) for uid, pct in shares]
    takers = [member for member, _ in members]
    ownership.refuse_non_reps(dispute.lead, takers, by=manager.slack_user_id, dispute=dispute.ref)
    if outcome == DisputeOutcome.AWARD:
        party_ids = {p.member_id for p in dispute.parties if p.withdrawn_at is None}
        if members[0][0].id not in party_ids:
            raise InvalidInput(Invalid.AWARD_TO_OUTSIDER, user=shares[0][0], dispute=dispute.ref, lead=dispute.lead.ref)
    _settle(session, dispute, members, outcome, now, decided_by=manager, reason=reason)
    return dispute


def _settle(
    session: Session,
    dispute: Dispute,
    members: list[tuple[Member, int]],
    outcome: DisputeOutcome,
    now: datetime,
    *,
    decided_by: Member | None,
    reason: str | None,
) -> None:
    """Give the lead to the winners, close the losing claims, record and announce the outcome."""
    lead = session.scalars(select(Lead).where(Lead.id == dispute.lead_id).with_for_update()).one()
    limits = effective_limits(lead.team)
    primary = members[0][0]  # the largest share holds the lead (first named on a tie)
    winners = {m.id for m, _ in members}
    holder = owning_claim(session, lead.id)
    for pending in session.scalars(select(Claim).where(Claim.lead_id == lead.id, Claim.status == ClaimStatus.PENDING)):
        if pending.member_id != primary.id:
            pending.status, pending.ended_at, pending.reason = ClaimStatus.DECLINED, now, f"{dispute.ref} {outcome}"
    if holder is not None and holder.member_id != primary.id:
        holder.status, holder.ended_at, holder.reason = ClaimStatus.RELEASED, now, f"{dispute.ref} {outcome}"
        holder.remind_at = holder.expires_at = None
    session.flush()
    claim = (
        holder
        if holder is not None and holder.member_id == primary.id
        else session.scalar(
            select(Claim).where(
                Claim.lead_id == lead.id, Claim.member_id == primary.id, Claim.status == ClaimStatus.PENDING
            )
        )
    )
    choice = DecidedInDispute(
        primary.slack_user_id,
        dispute.ref,
        outcome,
        decided_by.slack_user_id if decided_by else None,
        tuple((m.slack_user_id, pct) for m, pct in members),
        reason,
        now,
    )
    if claim is None:
        claim = new_claim(lead, primary, choice.how, limits, now)
        session.add(claim)
    ownership.give(session, lead, claim, choice, limits, now, credit=members)
    dispute.status = DisputeStatus.WITHDRAWN if outcome == DisputeOutcome.WITHDRAWN else DisputeStatus.RESOLVED
    dispute.outcome, dispute.reason, dispute.resolved_at = outcome, reason, now
    dispute.resolved_by_id = decided_by.id if decided_by else None
    dispute.remind_at = None
    _announce_outcome(session, dispute, members, winners, now, decided_by, reason)


def _announce_outcome(
    session: Session,
    dispute: Dispute,
    members: list[tuple[Member, int]],
    winners: set[int],
    now: datetime,
    decided_by: Member | None,
    reason: str | None,
) -> None:
    facts: dict[str, Any] = {
        "dispute": dispute.ref,
        "lead": dispute.lead.ref,
        "outcome": dispute.outcome,
        "by": decided_by.slack_user_id if decided_by else None,
        "shares": [[m.slack_user_id, pct] for m, pct in members],
        "reason": reason,
    }
    thread_post(session, dispute, now, Notice.DISPUTE_RESOLVED, **facts)
    for party in dispute.parties:
        outbox.notify(session, now, party.member.slack_user_id, Notice.DISPUTE_RESOLVED, **facts)
    for member, _ in members:
        if member.id not in {p.member_id for p in dispute.parties}:
            outbox.notify(session, now, member.slack_user_id, Notice.DISPUTE_RESOLVED, **facts)
    refresh_case(session, dispute, now)
    audit.record(
        session,
        at=now,
        actor=decided_by.slack_user_id if decided_by else audit.BOT_ACTOR,
        action="dispute.resolved",
        team_id=dispute.team_id,
        lead_id=dispute.lead_id,
        dispute_id=dispute.id,
        outcome=dispute.outcome,
        reason=reason,
        shares={m.slack_user_id: pct for m, pct in members},
        winners=sorted(winners),
    )


def withdraw(session: Session, member: Member, dispute_id: int, now: datetime) -> Dispute:
    """A party steps back; with one party left, the dispute resolves to them (if they are still a rep)."""
    dispute = get_dispute(session, member.team_id, dispute_id, lock=True)
    if dispute.status != DisputeStatus.OPEN:
        raise Conflict(Clash.DISPUTE_CLOSED, dispute=dispute.ref, status=dispute.status)
    party = next((p for p in dispute.parties if p.member_id == member.id and p.withdrawn_at is None), None)
    if party is None:
        raise NotAllowed(Forbidden.NOT_A_PARTY, dispute=dispute.ref)
    party.withdrawn_at = now
    claim = party.claim
    if claim is not None and claim.status == ClaimStatus.PENDING:
        claim.status, claim.ended_at, claim.reason = ClaimStatus.DECLINED, now, "withdrew from dispute"
    audit.record(
        session,
        at=now,
        actor=member.slack_user_id,
        action="dispute.withdrawn",
        team_id=dispute.team_id,
        lead_id=dispute.lead_id,
        dispute_id=dispute.id,
    )
    thread_post(session, dispute, now, Notice.PARTY_WITHDREW, user=member.slack_user_id, dispute=dispute.ref)
    remaining = [p for p in dispute.parties if p.withdrawn_at is None]
    if len(remaining) == 1 and ownership.takes_leads(remaining[0].member):  # else the mediator decides
        _settle(
            session,
            dispute,
            [(remaining[0].member, 100)],
            DisputeOutcome.WITHDRAWN,
            now,
            decided_by=None,
            reason="the other party withdrew",
        )
    else:
        refresh_case(session, dispute, now)
    return dispute


def remind(session: Session, dispute: Dispute, now: datetime) -> None:
    """Past the dispute SLA: a reminder in the thread and to every manager of the team."""
    dispute.remind_at = None
    facts = {
        "dispute": dispute.ref,
        "lead": dispute.lead.ref,
        "hours": int((now - dispute.opened_at).total_seconds() // 3600),
    }
    thread_post(session, dispute, now, Notice.DISPUTE_REMINDER, **facts)
    for manager in session.scalars(
        select(Member).where(Member.team_id == dispute.team_id, Member.role == Role.MANAGER, Member.active.is_(True))
    ):
        outbox.notify(session, now, manager.slack_user_id, Notice.DISPUTE_REMINDER, **facts)
    audit.record(
        session,
        at=now,
        actor=audit.BOT_ACTOR,
        action="dispute.reminded",
        team_id=dispute.team_id,
        lead_id=dispute.lead_id,
        dispute_id=dispute.id,
    )
