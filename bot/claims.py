"""Claims (DESIGN §5): the rules a claim must pass, claiming, releasing and outcomes.

Races are decided by the database: the lead row is locked first, then the rep's member
row (always in that order), and a partial unique index allows one owning claim per lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from bot import audit, cards
from bot.availability import current_away
from bot.config import Limits
from bot.errors import Clash, Conflict, Forbidden, Invalid, InvalidInput, Limit, LimitReached, NotAllowed
from bot.leads import get_lead, owning_claim
from bot.overlap import account_holder, account_overlaps
from bot.teams import effective_limits
from models import Claim, ClaimStatus, CreditShare, Dispute, Lead, LeadStatus, Member

COUNTED_TODAY = (
    ClaimStatus.PENDING,
    ClaimStatus.ACTIVE,
    ClaimStatus.WON,
    ClaimStatus.LOST,
    ClaimStatus.RELEASED,
    ClaimStatus.EXPIRED,
)


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
    timezone: str
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


def is_hot(lead: Lead, limits: Limits) -> bool:
    return lead.score is not None and lead.score >= limits.hot_score


def _day_bounds(tz_name: str, now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz_name)
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), zone)
    return start, datetime.combine(today + timedelta(days=1), time(0), zone)


def _taken_today(member: Member, now: datetime) -> Select[tuple[int]]:
    """Count of the rep's claims that use up today's allowance (team-local day)."""
    day_start, _ = _day_bounds(member.team.timezone, now)
    return (
        select(func.count())
        .select_from(Claim)
        .where(Claim.member_id == member.id, Claim.requested_at >= day_start, Claim.status.in_(COUNTED_TODAY))
    )


def lock_member(session: Session, member_id: int) -> Member:
    """Serialize one rep's claims so two at once cannot both pass a limit."""
    return session.scalars(select(Member).where(Member.id == member_id).with_for_update()).one()


def check_rules(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> None:
    """Raise LimitReached naming the rule and when it frees up, or return if the rep may take it."""
    tz = member.team.timezone
    if not member.active:
        raise LimitReached(Limit.LEFT_TEAM)
    away = current_away(session, member.id, now)
    if away is not None:
        until = away.ends_at.isoformat() if away.ends_at else None
        raise LimitReached(Limit.AWAY, until=until, timezone=tz)
    if limits.require_territory_match and lead.territory:
        mine = {t.casefold() for t in member.territories}
        if lead.territory.casefold() not in mine:
            raise LimitReached(Limit.TERRITORY, lead=lead.ref, territory=lead.territory, yours=list(member.territories))
    active = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.member_id == member.id, Claim.status.in_((ClaimStatus.PENDING, ClaimStatus.ACTIVE)))
    )
    if active >= limits.max_active_claims:
        raise LimitReached(Limit.ACTIVE, held=active, limit=limits.max_active_claims)
    _, day_end = _day_bounds(tz, now)
    today = _taken_today(member, now)
    resets = {"timezone": tz, "frees_at": day_end.isoformat(), "frees_in": int((day_end - now).total_seconds())}
    claimed_today = session.scalar(today)
    if claimed_today >= limits.max_claims_per_day:
        raise LimitReached(Limit.DAILY, held=claimed_today, limit=limits.max_claims_per_day, **resets)
    if is_hot(lead, limits):
        hot_today = session.scalar(today.where(Claim.hot.is_(True)))
        if hot_today >= limits.max_hot_claims_per_day:
            raise LimitReached(
                Limit.HOT, held=hot_today, limit=limits.max_hot_claims_per_day, hot_score=limits.hot_score, **resets
            )


def start_ownership(
    session: Session, lead: Lead, claim: Claim, limits: Limits, now: datetime, assignment: dict
) -> None:
    """Make `claim` the lead's owner: full credit, contact SLA clock, card update, audit."""
    claim.status = ClaimStatus.ACTIVE
    claim.started_at = now
    claim.remind_at = now + timedelta(minutes=limits.contact_sla_minutes / 2)
    claim.expires_at = now + timedelta(minutes=limits.contact_sla_minutes)
    lead.status = LeadStatus.CLAIMED
    lead.auto_assign_at = None
    lead.assignment = assignment
    session.execute(delete(CreditShare).where(CreditShare.lead_id == lead.id))
    session.add(CreditShare(lead_id=lead.id, member_id=claim.member_id, percent=100, created_at=now))
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
        over_limit=claim.over_limit,
    )
    cards.refresh(session, lead, now)


def new_claim(
    lead: Lead, member: Member, how: str, limits: Limits, now: datetime, *, status: ClaimStatus = ClaimStatus.PENDING
) -> Claim:
    return Claim(lead=lead, member=member, status=status, how=how, hot=is_hot(lead, limits), requested_at=now)


def _result(outcome: ClaimOutcome, lead: Lead, now: datetime, claim: Claim | None = None, **facts: Any) -> ClaimResult:
    return ClaimResult(outcome, lead, now, lead.team.timezone, claim, **facts)


def claim_lead(session: Session, member: Member, lead_id: int, now: datetime) -> ClaimResult:
    """A rep asks for a lead: granted, entered in a draw or a dispute, or refused with the rule."""
    from bot.assignment import settle_draw  # draw and claim rules call each other

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
    member = lock_member(session, member.id)
    if session.scalar(
        select(Claim.id).where(
            Claim.lead_id == lead.id, Claim.member_id == member.id, Claim.status == ClaimStatus.PENDING
        )
    ):
        return _result(ClaimOutcome.ALREADY_ASKED, lead, now)
    try:
        check_rules(session, member, lead, limits, now)
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
    claim = new_claim(lead, member, "claim", limits, now)
    session.add(claim)
    session.flush()
    return claim


def _claim_open_lead(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> ClaimResult:
    from bot.mediation import open_dispute_for

    claim = _eligible_claim(session, member, lead, limits, now)
    if isinstance(claim, ClaimResult):
        return claim
    held = account_holder(account_overlaps(session, lead, now, limits.account_hold_days), member.id)
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
    start_ownership(
        session,
        lead,
        claim,
        limits,
        now,
        {"kind": "first_claim", "at": now.isoformat(), "winner": member.slack_user_id},
    )
    return _result(ClaimOutcome.OWNED, lead, now, claim, contact_sla_minutes=limits.contact_sla_minutes)


def _enter_dispute(
    session: Session, member: Member, lead: Lead, limits: Limits, now: datetime, statement: str | None = None
) -> ClaimResult:
    """A claim on a disputed lead joins its dispute (one dispute per lead, not one per click)."""
    from bot.mediation import open_dispute_for

    claim = _eligible_claim(session, member, lead, limits, now)
    if isinstance(claim, ClaimResult):
        return claim
    dispute = open_dispute_for(session, lead, claim, now, statement=statement)
    return _result(ClaimOutcome.JOINED_DISPUTE, lead, now, claim, dispute=dispute)


def _claim_on_held_lead(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> ClaimResult:
    """Inside the contest window a second claim opens a dispute; after it, the rep may contest."""
    from bot.mediation import open_dispute_for

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
    from bot.mediation import open_dispute_for

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


def _credited_claim(session: Session, member: Member, lead_id: int, *, manager_ok: bool) -> tuple[Lead, Claim]:
    """The lead's owning claim, if `member` owns it, shares its credit, or (when allowed) manages."""
    lead = get_lead(session, member.team_id, lead_id, lock=True)
    claim = owning_claim(session, lead.id)
    if claim is None or claim.status != ClaimStatus.ACTIVE:
        raise Conflict(Clash.NOT_HELD, lead=lead.ref, status=lead.status)
    credited = session.scalar(
        select(CreditShare.id).where(CreditShare.lead_id == lead.id, CreditShare.member_id == member.id)
    )
    if credited is None and not (manager_ok and member.is_manager):
        raise NotAllowed(Forbidden.NOT_THE_HOLDER, lead=lead.ref, holder=claim.member.slack_user_id)
    return lead, claim


def release(
    session: Session,
    member: Member,
    lead_id: int,
    now: datetime,
    reason: str | None = None,
    *,
    status: ClaimStatus = ClaimStatus.RELEASED,
) -> Lead:
    """Give a lead back (by its holder or a manager, or on SLA expiry): it is re-announced,
    and the old card says who gave it back and why."""
    lead, claim = _credited_claim(session, member, lead_id, manager_ok=True)
    claim.status, claim.ended_at, claim.reason = status, now, reason
    claim.remind_at = claim.expires_at = None
    session.execute(delete(CreditShare).where(CreditShare.lead_id == lead.id))
    session.flush()
    verb = "expired" if status == ClaimStatus.EXPIRED else "released"
    audit.record(
        session,
        at=now,
        actor=member.slack_user_id,
        action=f"claim.{verb}",
        team_id=lead.team_id,
        lead_id=lead.id,
        holder=claim.member.slack_user_id,
        reason=reason,
    )
    team = member.team
    cards.reannounce(
        session, team, lead, effective_limits(team), now, retired_as=verb, by=claim.member.slack_user_id, reason=reason
    )
    return lead


def mark_contacted(session: Session, member: Member, lead_id: int, now: datetime) -> Lead:
    """The contact SLA is met: no reminder, no expiry."""
    lead, claim = _credited_claim(session, member, lead_id, manager_ok=False)
    if claim.contacted_at is not None:
        raise Conflict(Clash.ALREADY_CONTACTED, lead=lead.ref)
    claim.contacted_at = now
    claim.remind_at = claim.expires_at = None
    audit.record(
        session, at=now, actor=member.slack_user_id, action="claim.contacted", team_id=lead.team_id, lead_id=lead.id
    )
    cards.refresh(session, lead, now)
    return lead


def close_lead(
    session: Session,
    member: Member,
    lead_id: int,
    now: datetime,
    *,
    won: bool,
    amount: Decimal | None = None,
    reason: str | None = None,
) -> Lead:
    """Record the outcome; the lead and its owning claim are closed as won or lost."""
    lead, claim = _credited_claim(session, member, lead_id, manager_ok=True)
    claim.status = ClaimStatus.WON if won else ClaimStatus.LOST
    claim.ended_at, claim.amount, claim.reason = now, amount, reason
    claim.remind_at = claim.expires_at = None
    claim.contacted_at = claim.contacted_at or now
    lead.status = LeadStatus.WON if won else LeadStatus.LOST
    lead.closed_at = now
    audit.record(
        session,
        at=now,
        actor=member.slack_user_id,
        action="lead.won" if won else "lead.lost",
        team_id=lead.team_id,
        lead_id=lead.id,
        amount=str(amount) if amount is not None else None,
        reason=reason,
    )
    cards.refresh(session, lead, now)
    return lead


@dataclass(frozen=True)
class LimitUse:
    """How much of each limit a rep is using right now (for `mine`, App Home, dispute cases)."""

    active: int
    max_active: int
    today: int
    max_today: int
    hot_today: int
    max_hot_today: int


def limit_use(session: Session, member: Member, now: datetime) -> LimitUse:
    limits = effective_limits(member.team)
    counts = dict(
        session.execute(
            select(Claim.status, func.count())
            .where(Claim.member_id == member.id, Claim.status.in_((ClaimStatus.PENDING, ClaimStatus.ACTIVE)))
            .group_by(Claim.status)
        ).all()
    )
    today = _taken_today(member, now)
    return LimitUse(
        active=sum(counts.values()),
        max_active=limits.max_active_claims,
        today=session.scalar(today) or 0,
        max_today=limits.max_claims_per_day,
        hot_today=session.scalar(today.where(Claim.hot.is_(True))) or 0,
        max_hot_today=limits.max_hot_claims_per_day,
    )
