"""Claims (DESIGN §5): the rules a claim must pass (limits), and a held claim's life after it
got its lead: contacted, released or expired, won or lost.

Asking for a lead is bot/claiming.py; giving it and recording how is bot/ownership.py.
Races are decided by the database: the lead row is locked first, then the rep's member
row (always in that order), and a partial unique index allows one owning claim per lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session, joinedload

from bot import audit, cards, ownership
from bot.availability import away_covering, current_away
from bot.away_status import FROM_STATUS
from bot.config import Limits
from bot.errors import Clash, Conflict, Forbidden, Limit, LimitReached, NotAllowed
from bot.fairness import calendar_period, to_date_ratios
from bot.leads import get_lead, owning_claim
from bot.teams import effective_limits
from models import AwayPeriod, Claim, ClaimStatus, CreditShare, How, Lead, LeadStatus, Member

COUNTED_TODAY = (
    ClaimStatus.PENDING,
    ClaimStatus.ACTIVE,
    ClaimStatus.WON,
    ClaimStatus.LOST,
    ClaimStatus.RELEASED,
    ClaimStatus.EXPIRED,
)


def is_hot(lead: Lead, limits: Limits) -> bool:
    return lead.score is not None and lead.score >= limits.hot_score


def _day_bounds(tz_name: str, now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz_name)
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), zone)
    return start, datetime.combine(today + timedelta(days=1), time(0), zone)


def _period_bounds(tz_name: str, now: datetime, period: Limit) -> tuple[datetime, datetime]:
    """The team-local ISO week (Monday 00:00 on) or calendar month that `now` is in."""
    return calendar_period(tz_name, now, "week" if period == Limit.WEEKLY else "month")


@dataclass(frozen=True)
class Away:
    """The rep is away now, until `until` (None: until they say they are back); `by_status`: their
    Slack status made them so."""

    until: datetime | None
    by_status: bool = False


@dataclass(frozen=True)
class Standing:
    """A rep's use of every limit at `now`, and their history with one lead: one aggregate query."""

    asked: bool  # a pending claim on this lead already
    active: int  # pending and active claims
    today: int  # claims counted against today's allowance (team-local day)
    hot_today: int
    week: int  # the team-local ISO week's claims
    month: int
    missed_at: datetime | None  # the last missed contact SLA on this lead, within the exclusion


def standing(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> Standing:
    """Count every limit in one pass over the rep's recent and open claims (`ix_claims_member_requested`)."""
    tz = member.team.timezone
    day, _ = _day_bounds(tz, now)
    week, _ = _period_bounds(tz, now, Limit.WEEKLY)
    month, _ = _period_bounds(tz, now, Limit.MONTHLY)
    counted = Claim.status.in_(COUNTED_TODAY)
    held = Claim.status.in_((ClaimStatus.PENDING, ClaimStatus.ACTIVE))
    since = now - timedelta(hours=limits.exclude_past_holders_hours or 0)
    missed = and_(Claim.lead_id == lead.id, Claim.status == ClaimStatus.EXPIRED, Claim.ended_at > since)
    row = session.execute(
        select(
            func.count(Claim.id).filter(Claim.lead_id == lead.id, Claim.status == ClaimStatus.PENDING),
            func.count(Claim.id).filter(held),
            func.count(Claim.id).filter(counted, Claim.requested_at >= day),
            func.count(Claim.id).filter(counted, Claim.requested_at >= day, Claim.hot.is_(True)),
            func.count(Claim.id).filter(counted, Claim.requested_at >= week),
            func.count(Claim.id).filter(counted, Claim.requested_at >= month),
            func.max(Claim.ended_at).filter(missed),
        ).where(
            Claim.member_id == member.id,
            or_(Claim.requested_at >= min(day, week, month), held, Claim.lead_id == lead.id),
        )
    ).one()
    missed_at = row[6] if limits.exclude_past_holders_hours else None
    return Standing(row[0] > 0, row[1], row[2], row[3], row[4], row[5], missed_at)


def judge(member: Member, lead: Lead, limits: Limits, now: datetime, use: Standing, away: Away | None) -> None:
    """Raise LimitReached for the first rule the rep breaks, in the order the rules are told."""
    tz = member.team.timezone
    if not member.active:
        raise LimitReached(Limit.LEFT_TEAM)
    if away is not None:
        until = away.until.isoformat() if away.until else None
        raise LimitReached(Limit.AWAY, until=until, timezone=tz, by_status=away.by_status)
    if use.missed_at is not None:
        excluded_until = use.missed_at + timedelta(hours=limits.exclude_past_holders_hours)
        raise LimitReached(Limit.PAST_HOLDER, lead=lead.ref, until=excluded_until.isoformat(), timezone=tz)
    if limits.require_territory_match and lead.territory:
        mine = {t.casefold() for t in member.territories}
        if lead.territory.casefold() not in mine:
            raise LimitReached(Limit.TERRITORY, lead=lead.ref, territory=lead.territory, yours=list(member.territories))
    if use.active >= limits.max_active_claims:
        raise LimitReached(Limit.ACTIVE, held=use.active, limit=limits.max_active_claims)
    _, day_end = _day_bounds(tz, now)
    resets = {"timezone": tz, "frees_at": day_end.isoformat(), "frees_in": int((day_end - now).total_seconds())}
    if use.today >= limits.max_claims_per_day:
        raise LimitReached(Limit.DAILY, held=use.today, limit=limits.max_claims_per_day, **resets)
    if is_hot(lead, limits) and use.hot_today >= limits.max_hot_claims_per_day:
        raise LimitReached(
            Limit.HOT, held=use.hot_today, limit=limits.max_hot_claims_per_day, hot_score=limits.hot_score, **resets
        )
    for period, cap, taken in (
        (Limit.WEEKLY, limits.max_claims_per_week, use.week),
        (Limit.MONTHLY, limits.max_claims_per_month, use.month),
    ):
        if cap is not None and taken >= cap:
            _, end = _period_bounds(tz, now, period)
            frees = {"timezone": tz, "frees_at": end.isoformat(), "frees_in": int((end - now).total_seconds())}
            raise LimitReached(period, held=taken, limit=cap, **frees)


def _taken_today(member: Member, now: datetime) -> Select[tuple[int]]:
    """Count of the rep's claims that use up today's allowance (team-local day)."""
    day_start, _ = _day_bounds(member.team.timezone, now)
    return (
        select(func.count())
        .select_from(Claim)
        .where(Claim.member_id == member.id, Claim.requested_at >= day_start, Claim.status.in_(COUNTED_TODAY))
    )


def lock_member(session: Session, member_id: int) -> Member:
    """Serialize one rep's claims so two at once cannot both pass a limit; the row as committed
    by whoever held the lock before (a pause, a removal), not as this session first read it."""
    query = select(Member).where(Member.id == member_id).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def lock_claimant(session: Session, member_id: int, now: datetime) -> tuple[Member, Away | None]:
    """`lock_member` bringing whether the rep is away now, in the same statement."""
    covering = select(AwayPeriod).where(AwayPeriod.member_id == Member.id, away_covering(now)).order_by(AwayPeriod.id)
    period = covering.with_only_columns(AwayPeriod.id).limit(1).scalar_subquery()
    until = covering.with_only_columns(AwayPeriod.ends_at).limit(1).scalar_subquery()
    source = covering.with_only_columns(AwayPeriod.source).limit(1).scalar_subquery()
    query = (
        select(Member, period, until, source)
        .where(Member.id == member_id)
        .options(joinedload(Member.team))  # re-read with the row: its team is wanted next
        .with_for_update(of=Member)
    )
    member, away, ends, started_by = session.execute(query.execution_options(populate_existing=True)).one()
    return member, Away(ends, started_by == FROM_STATUS) if away is not None else None


def check_rules(session: Session, member: Member, lead: Lead, limits: Limits, now: datetime) -> None:
    """Raise LimitReached naming the rule and when it frees up, or return if the rep may take it."""
    current = current_away(session, member.id, now)
    away = Away(current.ends_at, current.source == FROM_STATUS) if current is not None else None
    judge(member, lead, limits, now, standing(session, member, lead, limits, now), away)


def check_share(session: Session, member: Member, limits: Limits, now: datetime) -> None:
    """The share cap (`max_share_ratio`): a rep already credited more than that multiple of their
    fair share this week (or month: `fair_share_period`) may not claim until others catch up or the
    period turns (a claim only: auto-assign and managers may still give them a lead)."""
    if limits.max_share_ratio is None:
        return
    tz, period = member.team.timezone, limits.fair_share_period
    share = to_date_ratios(session, member.team, now, period).get(member.id)
    if share is None or share.ratio is None or share.ratio <= limits.max_share_ratio:
        return
    _, period_end = calendar_period(tz, now, period)
    raise LimitReached(
        Limit.SHARE,
        ratio=round(share.ratio, 2),
        limit=limits.max_share_ratio,
        credited=round(share.credited, 2),
        fair_share=round(share.fair_share, 2),
        period=period,
        timezone=tz,
        frees_at=period_end.isoformat(),
        frees_in=int((period_end - now).total_seconds()),
    )


def new_claim(lead: Lead, member: Member, how: How, limits: Limits, now: datetime) -> Claim:
    """A rep's claim on a lead, pending until bot/ownership.py gives it the lead (or it is declined)."""
    return Claim(
        lead=lead, member=member, status=ClaimStatus.PENDING, how=how, hot=is_hot(lead, limits), requested_at=now
    )


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
    reannounce: bool = True,
) -> Lead:
    """Give a lead back (by its holder or a manager, or on SLA expiry): it is re-announced
    (unless it goes up the escalation chain instead), and the old card says who gave it back and why."""
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
    retired_as = verb if reannounce else "escalated"  # not re-announced: it goes up to the managers
    cards.retire(session, lead, now, retired_as=retired_as, by=claim.member.slack_user_id, reason=reason)
    ownership.open_for_claims(lead, effective_limits(member.team), now)
    if reannounce:
        cards.announce(session, member.team, lead, now)
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
        )
        .tuples()
        .all()
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
