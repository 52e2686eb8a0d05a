"""Choosing an owner without a single clear claim: fair-start draws, auto-assign, managers.

Each choice goes to bot/ownership.py as a typed record with its inputs, for `/dibs why`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import draws, outbox, ownership
from bot.availability import auto_assign_block
from bot.claims import check_rules, lock_member, new_claim
from bot.config import Limits
from bot.errors import Clash, Conflict, Forbidden, LimitReached, Missing, NotAllowed, NotFound
from bot.fairness import ShareRatio, to_date_ratios
from bot.fallback import nobody_eligible
from bot.leads import get_lead, owning_claim, pending_claims
from bot.mediation import open_dispute_of, resolve
from bot.outbox import Notice
from bot.ownership import AssignedByManager, AutoAssigned, RatioLine, SetInCrm, WonDraw
from bot.teams import effective_limits
from models import Claim, ClaimStatus, DisputeOutcome, How, Lead, LeadStatus, Member, Team

CANDIDATES_SHOWN = 5  # eligible reps auto-assign checks and records; the first wins


def _ratio(ratios: dict[int, ShareRatio], member_id: int) -> float:
    share = ratios.get(member_id)
    return share.ratio if share is not None and share.ratio is not None else 0.0


def _standing(member: Member, ratios: dict[int, ShareRatio], claimed_at: datetime | None = None) -> RatioLine:
    share = ratios.get(member.id)
    return RatioLine(
        member.slack_user_id,
        round(share.credited, 3) if share else 0.0,
        round(share.fair_share, 3) if share else 0.0,
        round(_ratio(ratios, member.id), 3),
        claimed_at,
    )


def _committed_seed(lead: Lead) -> tuple[str, str]:
    """The window's seed and commitment, checked against each other (a window opened before
    draws were verifiable gets both now)."""
    if lead.draw_seed is None or lead.draw_commitment is None:
        lead.draw_seed = draws.new_seed()
        lead.draw_commitment = draws.commitment(lead.draw_seed)
    draws.check_seed(lead.draw_seed, lead.draw_commitment)
    return lead.draw_seed, lead.draw_commitment


def _reps_claims(claims: list[Claim], now: datetime) -> list[Claim]:
    """The claims of reps; a claimant made a manager since claiming is declined (leads go to reps only)."""
    for claim in claims:
        if not ownership.takes_leads(claim.member):
            claim.status, claim.ended_at, claim.reason = ClaimStatus.DECLINED, now, "a manager takes no leads"
    return [claim for claim in claims if claim.status == ClaimStatus.PENDING]


def settle_draw(session: Session, lead: Lead, now: datetime) -> None:
    """Decide a closed fair-start window: lowest credited share vs fair share wins, ties by seeded draw.

    The winner follows from the seed committed to when the window opened and the published
    standings only (bot/draws.py); a seed not matching its commitment raises DrawTampered.
    The caller holds the lead's row lock.
    """
    claims = pending_claims(session, lead.id)
    if not claims or lead.status != LeadStatus.OPEN:
        return
    claims = _reps_claims(claims, now)
    if not claims:
        return
    team = lead.team
    limits = effective_limits(team)
    ratios = to_date_ratios(session, team, now, limits.fair_share_period)
    seed, committed = _committed_seed(lead)
    standings = tuple(_standing(c.member, ratios, c.requested_at) for c in claims)
    entrants = [(line.rep, line.ratio) for line in standings]
    picked = draws.pick(seed, entrants)
    winner = next(c for c in claims if c.member.slack_user_id == picked)
    tied = draws.tied_at_lowest(entrants)
    choice = WonDraw(picked, limits.fair_start_seconds, standings, tied, seed, now, committed, limits.fair_share_period)
    for claim in claims:
        if claim is not winner:
            claim.status, claim.ended_at, claim.reason = ClaimStatus.DECLINED, now, "fair-start draw"
            outbox.notify(
                session,
                now,
                claim.member.slack_user_id,
                Notice.DRAW_LOST,
                lead=lead.ref,
                winner=winner.member.slack_user_id,
                claimants=len(claims),
            )
    ownership.give(session, lead, winner, choice, limits, now)
    outbox.notify(session, now, winner.member.slack_user_id, Notice.DRAW_WON, lead=lead.ref, claimants=len(claims))


def _ranked_eligible(
    session: Session, team: Team, lead: Lead, limits: Limits, now: datetime, ratios: dict[int, ShareRatio]
) -> tuple[list[Member], list[tuple[str, LimitReached]]]:
    """Reps by ratio (longest since their last lead on ties), checked in that order until
    CANDIDATES_SHOWN are eligible: the first is the winner, the others are shown beside it in
    `/dibs why`. Reps ranked below those are not checked, so a big team costs a handful of checks."""
    members = session.scalars(
        select(Member).where(Member.team_id == team.id, Member.active.is_(True)).order_by(Member.id)
    )
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    ranked = sorted(
        filter(ownership.takes_leads, members),
        key=lambda m: (round(_ratio(ratios, m.id), 9), m.last_assigned_at or epoch, m.id),
    )
    eligible: list[Member] = []
    skipped: list[tuple[str, LimitReached]] = []
    for rep in ranked:
        if len(eligible) == CANDIDATES_SHOWN:
            break
        block = auto_assign_block(rep, now)
        if block is not None:
            skipped.append((rep.slack_user_id, block))
            continue
        try:
            check_rules(session, rep, lead, limits, now)
            eligible.append(rep)
        except LimitReached as refusal:
            skipped.append((rep.slack_user_id, refusal))
    return eligible, skipped


def auto_assign(session: Session, lead: Lead, now: datetime) -> Member | None:
    """Give an unclaimed lead to the eligible rep furthest below fair share (round robin on ties).

    The caller holds the lead's row lock. With nobody eligible, the team's fallback (bot/fallback.py).
    """
    team = lead.team
    limits = effective_limits(team)
    ratios = to_date_ratios(session, team, now, limits.fair_share_period)
    ranked, skipped = _ranked_eligible(session, team, lead, limits, now, ratios)
    chosen = None
    for candidate in ranked:  # the row lock decides: a pause committed since the ranking wins
        locked = lock_member(session, candidate.id)
        block = auto_assign_block(locked, now)
        if block is None:
            chosen = locked
            break
        skipped.append((locked.slack_user_id, block))
    if chosen is None:
        nobody_eligible(session, lead, skipped, now)
        return None
    ranked = [m for m in ranked if m.slack_user_id not in dict(skipped)]
    choice = AutoAssigned(
        chosen.slack_user_id,
        limits.auto_assign_after_minutes,
        tuple(_standing(m, ratios) for m in ranked),
        tuple(skipped),
        now,
    )
    claim = new_claim(lead, chosen, How.AUTO, limits, now)
    session.add(claim)
    ownership.give(session, lead, claim, choice, limits, now)
    outbox.notify(
        session,
        now,
        chosen.slack_user_id,
        Notice.AUTO_ASSIGNED,
        lead=lead.ref,
        after_minutes=limits.auto_assign_after_minutes,
    )
    return chosen


def manager_assign(
    session: Session, manager: Member, lead_id: int, rep_user_id: str, now: datetime, reason: str | None = None
) -> tuple[Lead, LimitReached | None]:
    """A manager gives a lead to a rep, over limits if need be; returns the lead and any limit exceeded."""
    if not manager.is_manager:
        raise NotAllowed(Forbidden.ASSIGN_NEEDS_MANAGER)
    return _hand_over(session, manager.team, lead_id, rep_user_id, now, reason, manager)


def crm_assign(
    session: Session, team: Team, lead_id: int, rep_user_id: str, now: datetime, reason: str | None = None
) -> tuple[Lead, LimitReached | None]:
    """The team's CRM names a lead's new owner: as a manager's assignment, over limits if need be,
    recorded as the CRM's (`SetInCrm`). A lead in dispute is refused: its mediator decides it in Slack."""
    return _hand_over(session, team, lead_id, rep_user_id, now, reason, None)


def _hand_over(
    session: Session,
    team: Team,
    lead_id: int,
    rep_user_id: str,
    now: datetime,
    reason: str | None,
    manager: Member | None,
) -> tuple[Lead, LimitReached | None]:
    """Give the lead to the rep for `manager` (None: the CRM)."""
    limits = effective_limits(team)
    lead = get_lead(session, team.id, lead_id, lock=True)
    rep = session.scalar(
        select(Member).where(Member.slack_user_id == rep_user_id, Member.team_id == team.id, Member.active.is_(True))
    )
    if rep is None:
        raise NotFound(Missing.MEMBER, user=rep_user_id)
    if lead.status in (LeadStatus.WON, LeadStatus.LOST):
        raise Conflict(Clash.LEAD_CLOSED, lead=lead.ref, status=lead.status)
    dispute = open_dispute_of(session, lead) if lead.status == LeadStatus.DISPUTED else None
    if dispute is not None and manager is None:
        raise Conflict(Clash.IN_DISPUTE, lead=lead.ref, dispute=dispute.ref)
    by = manager.slack_user_id if manager is not None else None
    ownership.refuse_non_reps(lead, [rep], by=by, dispute=dispute.ref if dispute else None)
    rep = lock_member(session, rep.id)
    over_limit = None
    try:
        check_rules(session, rep, lead, limits, now)
    except LimitReached as exceeded:
        over_limit = exceeded
    if dispute is not None and manager is not None:  # assigning decides the dispute
        resolve(
            session,
            manager,
            dispute.id,
            now,
            outcome=DisputeOutcome.ASSIGN,
            shares=[(rep_user_id, 100)],
            reason=reason,
        )
        return lead, over_limit
    current = owning_claim(session, lead.id)
    if current is not None and current.member_id == rep.id:
        raise Conflict(Clash.ALREADY_HOLDS, user=rep_user_id, lead=lead.ref)
    if current is not None:
        current.status, current.ended_at = ClaimStatus.RELEASED, now
        current.reason = "reassigned by a manager" if manager is not None else "owner changed in the CRM"
        current.remind_at = current.expires_at = None
        outbox.notify(
            session, now, current.member.slack_user_id, Notice.REASSIGNED_AWAY, lead=lead.ref, by=by, to=rep_user_id
        )
    for waiting in pending_claims(session, lead.id):
        waiting.status, waiting.ended_at = ClaimStatus.DECLINED, now
        waiting.reason = "assigned by a manager" if manager is not None else "owner changed in the CRM"
    claim = new_claim(lead, rep, How.ASSIGN, limits, now)
    claim.over_limit = over_limit is not None
    session.add(claim)
    choice: AssignedByManager | SetInCrm = (
        AssignedByManager(rep_user_id, by, reason, over_limit, now)
        if by is not None
        else SetInCrm(rep_user_id, reason, over_limit, now)
    )
    ownership.give(session, lead, claim, choice, limits, now)
    outbox.notify(session, now, rep_user_id, Notice.ASSIGNED_TO_YOU, lead=lead.ref, by=by)
    return lead, over_limit
