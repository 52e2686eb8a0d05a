"""Choosing an owner without a single clear claim: fair-start draws, auto-assign, managers.

Each choice stores its inputs in `Lead.assignment`, so `/dibs why L-n` can explain it.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, outbox
from bot.claims import check_rules, lock_member, new_claim, start_ownership
from bot.config import Limits
from bot.errors import Conflict, LimitReached, NotAllowed, NotFound
from bot.fairness import ShareRatio, week_to_date_ratios
from bot.leads import get_lead, owning_claim, pending_claims
from bot.teams import effective_limits
from bot.text import mention
from models import Claim, ClaimStatus, Lead, LeadStatus, Member, Role, Team

AUTO_ASSIGN_RETRY = timedelta(minutes=15)
_TIE = 1e-9


def _ratio(ratios: dict[int, ShareRatio], member_id: int) -> float:
    share = ratios.get(member_id)
    return share.ratio if share is not None and share.ratio is not None else 0.0


def _facts(member: Member, ratios: dict[int, ShareRatio]) -> dict[str, Any]:
    share = ratios.get(member.id)
    return {
        "rep": member.slack_user_id,
        "credited": round(share.credited, 3) if share else 0.0,
        "fair_share": round(share.fair_share, 3) if share else 0.0,
        "ratio": round(_ratio(ratios, member.id), 3),
    }


def settle_draw(session: Session, lead: Lead, now: datetime) -> None:
    """Decide a closed fair-start window: lowest credited share vs fair share wins, ties by seeded draw.

    The caller holds the lead's row lock.
    """
    claims = pending_claims(session, lead.id)
    if not claims or lead.status != LeadStatus.OPEN:
        return
    team = session.get(Team, lead.team_id)
    limits = effective_limits(team)
    ratios = week_to_date_ratios(session, team, now)
    best = min(_ratio(ratios, c.member_id) for c in claims)
    tied = sorted((c for c in claims if _ratio(ratios, c.member_id) <= best + _TIE), key=lambda c: c.member_id)
    seed = secrets.randbits(63)
    winner = random.Random(seed).choice(tied)
    assignment = {
        "kind": "draw",
        "at": now.isoformat(),
        "window_seconds": limits.fair_start_seconds,
        "seed": seed,
        "claimants": [_facts(c.member, ratios) | {"claimed_at": c.requested_at.isoformat()} for c in claims],
        "tied": [c.member.slack_user_id for c in tied],
        "winner": winner.member.slack_user_id,
    }
    for claim in claims:
        if claim is not winner:
            claim.status, claim.ended_at, claim.reason = ClaimStatus.DECLINED, now, "fair-start draw"
            outbox.post(
                session,
                now,
                claim.member.slack_user_id,
                f"{lead.ref} went to {mention(winner.member.slack_user_id)} in the fair-start draw "
                f"among {len(claims)}. `/dibs why {lead.ref}` shows how it was decided.",
            )
    start_ownership(session, lead, winner, limits, now, assignment)
    outbox.post(
        session,
        now,
        winner.member.slack_user_id,
        f"{lead.ref} is yours: you won the fair-start draw among {len(claims)}. "
        f"Mark it contacted with `/dibs contacted {lead.ref}`.",
    )


def _eligible(
    session: Session, team: Team, lead: Lead, limits: Limits, now: datetime
) -> tuple[list[Member], dict[str, str]]:
    reps = session.scalars(
        select(Member)
        .where(Member.team_id == team.id, Member.role == Role.REP, Member.active.is_(True))
        .order_by(Member.id)
    )
    eligible, skipped = [], {}
    for rep in reps:
        try:
            check_rules(session, rep, lead, limits, now)
            eligible.append(rep)
        except LimitReached as refusal:
            skipped[rep.slack_user_id] = str(refusal)
    return eligible, skipped


def auto_assign(session: Session, lead: Lead, now: datetime) -> Member | None:
    """Give an unclaimed lead to the eligible rep furthest below fair share (round robin on ties).

    The caller holds the lead's row lock. With nobody eligible, try again later.
    """
    team = session.get(Team, lead.team_id)
    limits = effective_limits(team)
    eligible, skipped = _eligible(session, team, lead, limits, now)
    if not eligible:
        lead.auto_assign_at = now + AUTO_ASSIGN_RETRY
        audit.record(
            session,
            at=now,
            actor=audit.BOT_ACTOR,
            action="lead.auto_assign_skipped",
            team_id=team.id,
            lead_id=lead.id,
            skipped=skipped,
        )
        return None
    ratios = week_to_date_ratios(session, team, now)
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    ranked = sorted(eligible, key=lambda m: (round(_ratio(ratios, m.id), 9), m.last_assigned_at or epoch, m.id))
    chosen = lock_member(session, ranked[0].id)
    assignment = {
        "kind": "auto",
        "at": now.isoformat(),
        "after_minutes": limits.auto_assign_after_minutes,
        "candidates": [_facts(m, ratios) for m in ranked],
        "skipped": skipped,
        "winner": chosen.slack_user_id,
    }
    claim = new_claim(lead, chosen, "auto", limits, now)
    session.add(claim)
    start_ownership(session, lead, claim, limits, now, assignment)
    outbox.post(
        session,
        now,
        chosen.slack_user_id,
        f"{lead.ref} was unclaimed for {limits.auto_assign_after_minutes} minutes and is now yours "
        f"(you were furthest below your fair share). Mark it contacted with `/dibs contacted {lead.ref}`.",
    )
    return chosen


def manager_assign(
    session: Session, manager: Member, lead_id: int, rep_user_id: str, now: datetime, reason: str | None = None
) -> tuple[Lead, str | None]:
    """A manager gives a lead to a rep, over limits if need be; returns the lead and any limit exceeded."""
    if not manager.is_manager:
        raise NotAllowed("Only a manager of the team can assign leads.")
    team = manager.team
    limits = effective_limits(team)
    lead = get_lead(session, team.id, lead_id, lock=True)
    rep = session.scalar(
        select(Member).where(Member.slack_user_id == rep_user_id, Member.team_id == team.id, Member.active.is_(True))
    )
    if rep is None:
        raise NotFound(f"{mention(rep_user_id)} is not in your team.")
    if lead.status in (LeadStatus.WON, LeadStatus.LOST):
        raise Conflict(f"{lead.ref} is closed ({lead.status}).")
    rep = lock_member(session, rep.id)
    over_limit = None
    try:
        check_rules(session, rep, lead, limits, now)
    except LimitReached as exceeded:
        over_limit = str(exceeded)
    if lead.status == LeadStatus.DISPUTED:  # assigning decides the dispute
        from bot.mediation import open_dispute_of, resolve

        resolve(
            session,
            manager,
            open_dispute_of(session, lead).id,
            now,
            outcome="assign",
            shares=[(rep_user_id, 100)],
            reason=reason,
        )
        return lead, over_limit
    current = owning_claim(session, lead.id)
    if current is not None and current.member_id == rep.id:
        raise Conflict(f"{mention(rep_user_id)} already holds {lead.ref}.")
    if current is not None:
        current.status, current.ended_at, current.reason = ClaimStatus.RELEASED, now, "reassigned by a manager"
        current.remind_at = current.expires_at = None
        outbox.post(
            session,
            now,
            current.member.slack_user_id,
            f"{mention(manager.slack_user_id)} reassigned {lead.ref} to {mention(rep_user_id)}.",
        )
    for waiting in pending_claims(session, lead.id):
        waiting.status, waiting.ended_at, waiting.reason = ClaimStatus.DECLINED, now, "assigned by a manager"
    claim: Claim = new_claim(lead, rep, "assign", limits, now)
    claim.over_limit = over_limit is not None
    session.add(claim)
    start_ownership(
        session,
        lead,
        claim,
        limits,
        now,
        {
            "kind": "manager",
            "at": now.isoformat(),
            "by": manager.slack_user_id,
            "reason": reason,
            "over_limit": over_limit,
            "winner": rep_user_id,
        },
    )
    outbox.post(
        session,
        now,
        rep_user_id,
        f"{mention(manager.slack_user_id)} assigned {lead.ref} to you. "
        f"Mark it contacted with `/dibs contacted {lead.ref}`.",
    )
    return lead, over_limit


def explain(lead: Lead) -> str:
    """`/dibs why`: how the current owner was chosen, from the stored inputs."""
    facts = lead.assignment
    if not facts:
        return f"{lead.ref} has no owner yet; it is {lead.status}."
    kind, winner = facts["kind"], mention(facts["winner"]) if facts.get("winner") else "nobody"
    if kind == "first_claim":
        return f"{lead.ref} went to {winner}: the first valid claim (no fair-start window was open)."
    if kind == "route":
        return (
            f"{lead.ref} went straight to {winner}, who holds the same account ({facts['account_lead']}); "
            "this team routes new leads of an owned account to its owner."
        )
    if kind == "dispute":
        by = f" by {mention(facts['by'])}" if facts.get("by") else ""
        shares = ", ".join(f"{mention(uid)} {pct}%" for uid, pct in facts["shares"])
        why = f" Reason: {facts['reason']}" if facts.get("reason") else ""
        return f"{lead.ref} was decided in {facts['dispute']}{by}: {facts['outcome']} ({shares}).{why}"
    if kind == "manager":
        why = f" Reason: {facts['reason']}" if facts.get("reason") else ""
        over = f" This went over a limit: {facts['over_limit']}" if facts.get("over_limit") else ""
        return f"{lead.ref} was assigned to {winner} by {mention(facts['by'])}.{why}{over}"
    rows = facts.get("claimants") or facts.get("candidates") or []
    table = "\n".join(
        f"• {mention(r['rep'])}: {r['credited']:g} credited vs {r['fair_share']:g} fair share (ratio {r['ratio']:.2f})"
        for r in rows
    )
    if kind == "draw":
        tie = ""
        if len(facts["tied"]) > 1:
            tie = f" {len(facts['tied'])} were tied, so a seeded draw picked the winner (seed {facts['seed']})."
        return (
            f"{lead.ref} had {len(rows)} claims in its {facts['window_seconds']}s fair-start window. "
            f"The claimant with the lowest ratio of credited leads to fair share this week wins.{tie}\n"
            f"{table}\nWinner: {winner}"
        )
    if kind == "auto":
        skipped = "".join(f"\n• {mention(uid)} was not eligible: {why}" for uid, why in facts["skipped"].items())
        return (
            f"{lead.ref} was unclaimed for {facts['after_minutes']} minutes, so it went by round robin "
            f"to the eligible rep furthest below fair share (longest since their last lead on ties).\n"
            f"{table}{skipped}\nWinner: {winner}"
        )
    return f"{lead.ref} went to {winner} ({kind})."
