"""The escalation chain (issue 13): what a missed contact SLA leads to.

A missed SLA gives the lead back, and its past holders cannot take it again for a while
(bot/claims.py `check_rules`); after `escalate_after_misses` misses it goes to the managers
instead of the channel; a rep who misses `pause_after_misses` in a day is paused from auto-assign.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import audit, outbox, ownership
from bot.availability import zone_of
from bot.claims import lock_member, release
from bot.errors import Forbidden, NotAllowed
from bot.fallback import managers_of, tell
from bot.outbox import Notice
from bot.ownership import NoRepTookIt
from bot.teams import effective_limits
from models import Claim, ClaimStatus, Lead, Member

ESCALATED = "escalated"


def _missed_by(session: Session, lead: Lead) -> list[str]:
    """Who missed the lead's contact SLA, first miss first (a rep twice is listed twice)."""
    rows = session.scalars(
        select(Member.slack_user_id)
        .join(Claim, Claim.member_id == Member.id)
        .where(Claim.lead_id == lead.id, Claim.status == ClaimStatus.EXPIRED)
        .order_by(Claim.ended_at, Claim.id)
    )
    return list(rows)


def _misses_today(session: Session, member: Member, now: datetime) -> int:
    zone = ZoneInfo(zone_of(member))
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), zone)
    return (
        session.scalar(
            select(func.count())
            .select_from(Claim)
            .where(Claim.member_id == member.id, Claim.status == ClaimStatus.EXPIRED, Claim.ended_at >= start)
        )
        or 0
    )


def contact_missed(session: Session, lead: Lead, claim: Claim, now: datetime) -> None:
    """The holder missed the contact SLA: the lead goes back (or up to the managers), the holder may pause.

    The caller holds the lead's row lock.
    """
    holder = claim.member
    limits = effective_limits(lead.team)
    misses = len(_missed_by(session, lead)) + 1
    escalate = bool(limits.escalate_after_misses) and misses >= limits.escalate_after_misses
    release(session, holder, lead.id, now, "contact SLA missed", status=ClaimStatus.EXPIRED, reannounce=not escalate)
    outbox.notify(session, now, holder.slack_user_id, Notice.CLAIM_EXPIRED, lead=lead.ref)
    if escalate:
        _escalate(session, lead, now)
    if limits.pause_after_misses:
        holder = lock_member(session, holder.id)  # one rep's misses expiring at once are counted in turn
        today = _misses_today(session, holder, now)
        if holder.paused_at is None and today >= limits.pause_after_misses:
            pause(session, holder, now, today)


def _escalate(session: Session, lead: Lead, now: datetime) -> None:
    holders = _missed_by(session, lead)
    lead.auto_assign_at = None  # no more round robin: a manager decides
    lead.fallback = ownership.no_rep_json(NoRepTookIt(ESCALATED, now, tuple(holders)))
    managers = [manager.slack_user_id for manager in managers_of(session, lead.team_id)]
    tell(session, lead, managers, now, Notice.LEAD_ESCALATED, lead=lead.ref, misses=len(holders), holders=holders)
    audit.record(session, at=now, actor=audit.BOT_ACTOR, action="lead.escalated", team_id=lead.team_id, lead_id=lead.id)


def pause(session: Session, member: Member, now: datetime, misses: int) -> None:
    """Stop auto-assigning to a rep who keeps missing contact SLAs (they may still claim by hand)."""
    rep = lock_member(session, member.id)
    if rep.paused_at is not None:
        return
    rep.paused_at = now
    outbox.notify(session, now, rep.slack_user_id, Notice.PAUSED_FOR_MISSES, misses=misses)
    audit.record(
        session, at=now, actor=audit.BOT_ACTOR, action="member.paused", team_id=rep.team_id, user=rep.slack_user_id
    )


def resume(session: Session, actor: Member, rep: Member, now: datetime) -> bool:
    """The rep (or a manager of their team) resumes auto-assign; False if they were not paused."""
    if actor.id != rep.id and not (actor.is_manager and actor.team_id == rep.team_id):
        raise NotAllowed(Forbidden.MANAGER_COMMAND, command="resume @rep")
    locked = lock_member(session, rep.id)
    if locked.paused_at is None:
        return False
    locked.paused_at = None
    audit.record(
        session, at=now, actor=actor.slack_user_id, action="member.resumed", team_id=rep.team_id, user=rep.slack_user_id
    )
    return True
