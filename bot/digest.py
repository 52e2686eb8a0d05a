"""The weekly fairness digest (DESIGN §9): what it contains, when it is due, and posting it once.

Every number is an aggregate restricted to the week (leads created in it, claims and disputes
that started or ended in it), so the cost follows the week's rows, never the team's history.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session

from bot.config import WEEKDAYS
from bot.errors import Invalid, InvalidInput
from bot.fairness import (
    Flag,
    fair_share_ratios,
    fairness_flags,
    gini,
    iso_week_bounds,
    jain,
    leads_in_period,
    limit_refusals,
    period_shares,
    previous_week,
    week_containing,
    week_label,
)
from bot.teams import get_team
from models import (
    Claim,
    ClaimStatus,
    CreditShare,
    Dispute,
    DisputeOutcome,
    DisputeParty,
    DisputeStatus,
    How,
    JobRun,
    Lead,
    Member,
    Team,
)

DIGEST_JOB = "digest"
NO_SOURCE = "unknown"
CLAIMED_HOW = (How.CLAIM, How.ASSIGN, How.AWARD, How.ROUTE)
WON_DISPUTE_OUTCOMES = (DisputeOutcome.AWARD, DisputeOutcome.ASSIGN)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LeadSummary:
    """Leads in and what happened to them; one lead can be both claimed and later expired."""

    total: int
    by_source: dict[str, int]
    claimed: int
    auto_assigned: int
    expired: int
    mean_score: float | None  # over scored leads only


@dataclass(frozen=True)
class RepDigest:
    """One rep's week."""

    member_id: int
    slack_user_id: str
    credited: float
    fair_share: float
    ratio: float | None
    quality_ratio: float | None
    median_time_to_contact: timedelta | None
    sla_misses: int
    disputes_involved: int  # opened this week with the rep as a party
    disputes_won: int  # resolved this week: award/assign and the rep holds the lead
    disputes_split: int  # resolved this week as a split the rep shares in
    won_count: int  # won deals the rep has credit in
    won_amount: Decimal  # their percentage of those deals' amounts
    cap_hits: int
    own_claims: int
    own_mean_score: float | None
    flags: tuple[Flag, ...]
    value_ratio: float | None = None  # credited pipeline value against fair share; None: no values


@dataclass(frozen=True)
class DisputeSummary:
    opened: int
    resolved: int  # closed this week, withdrawn included
    still_open: int  # open at the end of the period
    median_time_to_resolve: timedelta | None
    outcomes: dict[str, int]


@dataclass(frozen=True)
class Digest:
    """Everything §9 lists for one team and ISO week; `partial` while the week is running."""

    team_id: str
    team_name: str
    timezone: str
    year: int
    week: int
    start: datetime
    end: datetime
    as_of: datetime  # the week's end, or `now` for a partial week
    partial: bool
    leads: LeadSummary
    reps: list[RepDigest]  # lowest ratio first; reps without a fair share last
    gini: float | None  # None when no rep had a fair share (no leads)
    jain: float | None
    gini_change: float | None  # this week minus last week
    jain_change: float | None
    disputes: DisputeSummary

    @property
    def label(self) -> str:
        return week_label(self.year, self.week)


def compute_digest(session: Session, team_id: str, year: int, week: int, now: datetime) -> Digest:
    """The digest of one ISO week, up to `now` if the week is still running."""
    team = get_team(session, team_id)
    start, end = iso_week_bounds(team.timezone, year, week)
    if now <= start:
        raise InvalidInput(Invalid.WEEK_NOT_STARTED, week=week_label(year, week), team=team.name)
    as_of = min(end, now)
    measured = period_shares(session, team_id, start, as_of)
    reps, shares, quality, value = measured.reps, measured.counts, measured.quality, measured.value
    leads = _lead_summary(session, team_id, start, as_of)
    contact = _median_time_to_contact(session, team_id, start, as_of)
    misses = _sla_misses(session, team_id, start, as_of)
    won = _won(session, team_id, start, as_of)
    caps = limit_refusals(session, team_id, start, as_of)
    own = _own_claims(session, team_id, start, as_of)
    disputes = _rep_disputes(session, team_id, start, as_of)
    rows = []
    for rep in reps:
        share = shares[rep.id]
        own_claims, own_mean = own.get(rep.id, (0, None))
        won_count, won_amount = won.get(rep.id, (0, Decimal(0)))
        involved, dispute_wins, splits = disputes.get(rep.id, (0, 0, 0))
        value_ratio = value[rep.id].ratio
        rows.append(
            RepDigest(
                member_id=rep.id,
                slack_user_id=rep.slack_user_id,
                credited=share.credited,
                fair_share=share.fair_share,
                ratio=share.ratio,
                quality_ratio=quality[rep.id].ratio,
                median_time_to_contact=contact.get(rep.id),
                sla_misses=misses.get(rep.id, 0),
                disputes_involved=involved,
                disputes_won=dispute_wins,
                disputes_split=splits,
                won_count=won_count,
                won_amount=won_amount,
                cap_hits=caps.get(rep.id, 0),
                own_claims=own_claims,
                own_mean_score=own_mean,
                flags=fairness_flags(
                    share.ratio, caps.get(rep.id, 0), own_claims, own_mean, leads.mean_score, value_ratio
                ),
                value_ratio=value_ratio,
            )
        )
    rows.sort(key=lambda r: (r.ratio is None, r.ratio or 0.0, r.slack_user_id))
    this_gini, this_jain = _evenness([r.ratio for r in rows])
    last_start, last_end = iso_week_bounds(team.timezone, *previous_week(year, week))
    last = fair_share_ratios(session, team_id, last_start, last_end)
    last_gini, last_jain = _evenness([s.ratio for s in last.values()])
    return Digest(
        team_id=team.id,
        team_name=team.name,
        timezone=team.timezone,
        year=year,
        week=week,
        start=start,
        end=end,
        as_of=as_of,
        partial=now < end,
        leads=leads,
        reps=rows,
        gini=this_gini,
        jain=this_jain,
        gini_change=_change(this_gini, last_gini),
        jain_change=_change(this_jain, last_jain),
        disputes=_dispute_summary(session, team_id, start, as_of),
    )


def _evenness(ratios: list[float | None]) -> tuple[float | None, float | None]:
    """Gini and Jain of the reps who had a fair share; None for both when nobody had one."""
    rated = [r for r in ratios if r is not None]
    return (gini(rated), jain(rated)) if rated else (None, None)


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _median(seconds: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def _between(column: QueryableAttribute[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


# --- leads and claims --------------------------------------------------------------------------


def _lead_summary(session: Session, team_id: str, start: datetime, end: datetime) -> LeadSummary:
    in_period = leads_in_period(team_id, start, end)
    by_source: dict[str, int] = {}
    scored, score = 0, 0
    for source, count, source_scored, source_score in session.execute(
        select(Lead.source, func.count(), func.count(Lead.score), func.sum(Lead.score))
        .where(in_period)
        .group_by(Lead.source)
    ):
        key = source or NO_SOURCE
        by_source[key] = by_source.get(key, 0) + count
        scored, score = scored + source_scored, score + (source_score or 0)
    claimed, auto, expired = session.execute(
        select(
            func.count(
                distinct(case((and_(Claim.how.in_(CLAIMED_HOW), Claim.started_at.is_not(None)), Claim.lead_id)))
            ),
            func.count(distinct(case((Claim.how == How.AUTO, Claim.lead_id)))),
            func.count(distinct(case((Claim.status == ClaimStatus.EXPIRED, Claim.lead_id)))),
        )
        .join(Lead, Lead.id == Claim.lead_id)
        .where(in_period, Claim.requested_at >= start)  # a claim never predates its lead: bounds the scan
    ).one()
    return LeadSummary(
        total=sum(by_source.values()),
        by_source=dict(sorted(by_source.items(), key=lambda item: (-item[1], item[0]))),
        claimed=claimed,
        auto_assigned=auto,
        expired=expired,
        mean_score=score / scored if scored else None,
    )


def _median_time_to_contact(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, timedelta]:
    """Per rep, the median of contacted_at − started_at over claims on the week's leads."""
    waits: dict[int, list[float]] = defaultdict(list)
    for member_id, started_at, contacted_at in session.execute(
        select(Claim.member_id, Claim.started_at, Claim.contacted_at)
        .join(Lead, Lead.id == Claim.lead_id)
        .where(
            leads_in_period(team_id, start, end),
            Claim.requested_at >= start,  # a claim never predates its lead: bounds the scan
            Claim.started_at.is_not(None),
            Claim.contacted_at.is_not(None),
        )
    ):
        waits[member_id].append((contacted_at - started_at).total_seconds())
    return {member_id: timedelta(seconds=statistics.median(seconds)) for member_id, seconds in waits.items()}


def _sla_misses(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, int]:
    """Claims that ran out of contact SLA during the week (expiry sets status and ended_at)."""
    rows = session.execute(
        select(Claim.member_id, func.count())
        .join(Lead, Lead.id == Claim.lead_id)
        .where(Lead.team_id == team_id, Claim.status == ClaimStatus.EXPIRED, _between(Claim.ended_at, start, end))
        .group_by(Claim.member_id)
    )
    return dict(rows.tuples().all())


def _won(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, tuple[int, Decimal]]:
    """Deals won during the week, credited by each rep's current credit share of the lead."""
    rows = session.execute(
        select(
            CreditShare.member_id,
            func.count(),
            func.sum(func.coalesce(Claim.amount, 0) * CreditShare.percent),
        )
        .select_from(Claim)
        .join(Lead, Lead.id == Claim.lead_id)
        .join(CreditShare, CreditShare.lead_id == Claim.lead_id)
        .where(Lead.team_id == team_id, Claim.status == ClaimStatus.WON, _between(Claim.ended_at, start, end))
        .group_by(CreditShare.member_id)
    )
    return {member_id: (count, (Decimal(str(cents)) / 100).quantize(CENT)) for member_id, count, cents in rows}


def _own_claims(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, tuple[int, float | None]]:
    """Per rep, leads they claimed themselves (not assigned) that became theirs this week,
    with the mean score of those that have one."""
    # Driven from the week's claims (ix_claims_started), the team by its members and each score
    # looked up by key: a join to leads on the team alone scans every lead the team ever had.
    score = select(Lead.score).where(Lead.id == Claim.lead_id).scalar_subquery()
    rows = session.execute(
        select(Claim.member_id, func.count(), func.avg(score))
        .where(
            Claim.member_id.in_(select(Member.id).where(Member.team_id == team_id)),
            Claim.how == How.CLAIM,
            _between(Claim.started_at, start, end),
        )
        .group_by(Claim.member_id)
    )
    return {member_id: (count, None if mean is None else float(mean)) for member_id, count, mean in rows}


# --- disputes ----------------------------------------------------------------------------------


def _rep_disputes(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, tuple[int, int, int]]:
    """Per rep: disputes opened this week they are party to; of those resolved this week,
    how many they won (hold 100% of the lead) and how many were split with them."""
    involved = dict(
        session.execute(
            select(DisputeParty.member_id, func.count())
            .join(Dispute, Dispute.id == DisputeParty.dispute_id)
            .where(Dispute.team_id == team_id, _between(Dispute.opened_at, start, end))
            .group_by(DisputeParty.member_id)
        )
        .tuples()
        .all()
    )
    won = and_(Dispute.outcome.in_(WON_DISPUTE_OUTCOMES), CreditShare.percent == 100)
    outcomes = {
        member_id: (wins, splits)
        for member_id, wins, splits in session.execute(
            select(
                DisputeParty.member_id,
                func.count(case((won, 1))),
                func.count(case((Dispute.outcome == DisputeOutcome.SPLIT, 1))),
            )
            .join(Dispute, Dispute.id == DisputeParty.dispute_id)
            .join(
                CreditShare,
                and_(CreditShare.lead_id == Dispute.lead_id, CreditShare.member_id == DisputeParty.member_id),
            )
            .where(
                Dispute.team_id == team_id,
                Dispute.status != DisputeStatus.OPEN,
                _between(Dispute.resolved_at, start, end),
            )
            .group_by(DisputeParty.member_id)
        )
    }
    return {
        member_id: (involved.get(member_id, 0), *outcomes.get(member_id, (0, 0)))
        for member_id in involved.keys() | outcomes.keys()
    }


def _dispute_summary(session: Session, team_id: str, start: datetime, end: datetime) -> DisputeSummary:
    team_disputes = Dispute.team_id == team_id
    opened = session.scalar(select(func.count()).where(team_disputes, _between(Dispute.opened_at, start, end)))
    still_open = session.scalar(
        select(func.count()).where(
            team_disputes,
            Dispute.opened_at < end,
            or_(Dispute.status == DisputeStatus.OPEN, Dispute.resolved_at >= end),
        )
    )
    closed = session.execute(
        select(Dispute.outcome, Dispute.opened_at, Dispute.resolved_at).where(
            team_disputes,
            Dispute.status != DisputeStatus.OPEN,
            _between(Dispute.resolved_at, start, end),
        )
    ).all()
    outcomes: dict[str, int] = defaultdict(int)
    for outcome, _, _ in closed:
        outcomes[outcome or "unknown"] += 1
    return DisputeSummary(
        opened=opened or 0,
        resolved=len(closed),
        still_open=still_open or 0,
        median_time_to_resolve=_median([(resolved - opened_at).total_seconds() for _, opened_at, resolved in closed]),
        outcomes=dict(sorted(outcomes.items())),
    )


# --- schedule ----------------------------------------------------------------------------------


def due_digest_week(team: Team, now: datetime) -> tuple[int, int] | None:
    """The previous ISO week once this week's `digest_day` at `digest_time` (team-local) has
    passed; None before then. A digest missed while no replica ran is still due afterwards."""
    year, week = week_containing(team.timezone, now)
    hour, minute = (int(part) for part in team.digest_time.split(":"))
    day = date.fromisocalendar(year, week, 1) + timedelta(days=WEEKDAYS.index(team.digest_day))
    # A wall time skipped by DST resolves to the first moment after the gap (zoneinfo fold=0).
    due = datetime.combine(day, time(hour, minute), ZoneInfo(team.timezone)).astimezone(UTC)
    return previous_week(year, week) if now >= due else None


def digest_run_key(team_id: str, year: int, week: int) -> str:
    return f"{team_id}/{week_label(year, week)}"


def take_digest_run(session: Session, team_id: str, year: int, week: int, now: datetime) -> bool:
    """Claim the right to post this (team, week) digest: True once, False ever after.

    The unique (job, key) row decides races between replicas; the caller commits it together
    with the digest's outbox messages, so a crash before commit leaves the digest still due.
    """
    try:
        with session.begin_nested():
            session.add(JobRun(job=DIGEST_JOB, key=digest_run_key(team_id, year, week), started_at=now))
    except IntegrityError:
        return False
    return True
