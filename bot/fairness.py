"""Fair share (DESIGN §9): who was available, who got credit, and how even that was.

Everything here is a SQL aggregate over one period's rows, so the claims code can call
`fair_share_ratios` on every fair-start draw and auto-assign without reading history.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from bot.availability import schedule_of
from bot.config import SharePeriod
from bot.errors import Invalid, InvalidInput, Limit
from models import AuditEvent, AwayPeriod, CreditShare, Lead, Member, Role, Team

STARVED_BELOW = 0.5
HOARDING_ABOVE = 1.5
HOARDING_CAP_HITS = 3
CHERRY_PICK_POINTS = 20.0
CHERRY_PICK_MIN_CLAIMS = 5
LOW_VALUE_BELOW = 0.5  # share of pipeline value against fair share, while the count looks fair

_WEEK = re.compile(r"([0-9]{4})-?W([0-9]{1,2})", re.IGNORECASE)
WEEK_YEARS = range(2000, 3000)  # a digest week must be a real week with weeks on either side


class Flag(StrEnum):
    STARVED = "starved"
    HOARDING = "hoarding"
    CHERRY_PICKING = "cherry-picking"
    LOW_VALUE = "low-value"


@dataclass(frozen=True)
class ShareRatio:
    """One rep's credited leads against their fair share; ratio None when the share is 0."""

    member_id: int
    credited: float
    fair_share: float
    ratio: float | None


@dataclass(frozen=True)
class PeriodCredit:
    """The period's leads (count, summed score, pipeline value) and each member's credited part of them.

    A lead's pipeline value is its value weighted by its score (value × score / 100), or its value
    where it has no score; a lead without a value adds none.
    """

    leads: int
    score: int
    credited: dict[int, float]
    credited_score: dict[int, float]
    value: float = 0.0
    credited_value: dict[int, float] = field(default_factory=dict)


# --- weeks -------------------------------------------------------------------------------------


def iso_week_bounds(tz_name: str, year: int, week: int) -> tuple[datetime, datetime]:
    """Monday 00:00 to next Monday 00:00 in the zone, as UTC (DST-correct: 167 h or 169 h)."""
    zone = ZoneInfo(tz_name)
    monday = date.fromisocalendar(year, week, 1)
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_containing(tz_name: str, moment_utc: datetime) -> tuple[int, int]:
    """The ISO (year, week) that a moment falls in, on the zone's calendar."""
    iso = moment_utc.astimezone(ZoneInfo(tz_name)).isocalendar()
    return iso.year, iso.week


def previous_week(year: int, week: int) -> tuple[int, int]:
    iso = (date.fromisocalendar(year, week, 1) - timedelta(days=7)).isocalendar()
    return iso.year, iso.week


def week_label(year: int, week: int) -> str:
    """`2026-W47`, the form `parse_week` reads back."""
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> tuple[int, int]:
    """`2026-W47` (also `2026W47`, any case) as (year, week); InvalidInput otherwise."""
    match = _WEEK.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(Invalid.NOT_A_WEEK, text=text)
    year, week = int(match[1]), int(match[2])
    if year not in WEEK_YEARS:
        raise InvalidInput(Invalid.WEEK_OUT_OF_RANGE, first=WEEK_YEARS.start, last=WEEK_YEARS.stop - 1)
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InvalidInput(Invalid.NO_SUCH_WEEK, year=year, week=week) from None
    return year, week


# --- metrics -----------------------------------------------------------------------------------


def gini(values: Sequence[float]) -> float:
    """Gini coefficient, Σ|xᵢ−xⱼ| / (2n·Σx): 0 when all are equal.

    Empty or all-zero input is 0.0: nobody has more than anybody else.
    """
    total = sum(values)
    if not values or total == 0:
        return 0.0
    n = len(values)
    # Sorted ascending, Σ_i Σ_j |x_i − x_j| = 2 Σ_i (2i − n − 1) x_i  (i from 1).
    weighted = sum((2 * i - n - 1) * x for i, x in enumerate(sorted(values), start=1))
    return weighted / (n * total)


def jain(values: Sequence[float]) -> float:
    """Jain's fairness index (Σx)² / (n·Σx²): 1 when all are equal, 1/n when one has it all.

    Empty or all-zero input is 1.0, matching `gini` calling it perfectly even.
    """
    squares = sum(x * x for x in values)
    if not values or squares == 0:
        return 1.0
    return sum(values) ** 2 / (len(values) * squares)


def fairness_flags(
    ratio: float | None,
    cap_hits: int,
    own_claims: int,
    own_mean_score: float | None,
    team_mean_score: float | None,
    value_ratio: float | None = None,
) -> tuple[Flag, ...]:
    """The §9 flags for one rep; a rep without a fair share (ratio None) is never flagged.

    LOW_VALUE: the rep's share of pipeline value is far below fair while their lead count is not.
    """
    if ratio is None:
        return ()
    flags: list[Flag] = []
    if ratio < STARVED_BELOW:
        flags.append(Flag.STARVED)
    if ratio > HOARDING_ABOVE or cap_hits >= HOARDING_CAP_HITS:
        flags.append(Flag.HOARDING)
    if (
        own_claims >= CHERRY_PICK_MIN_CLAIMS
        and own_mean_score is not None
        and team_mean_score is not None
        and own_mean_score - team_mean_score >= CHERRY_PICK_POINTS
    ):
        flags.append(Flag.CHERRY_PICKING)
    if value_ratio is not None and value_ratio < LOW_VALUE_BELOW and ratio >= STARVED_BELOW:
        flags.append(Flag.LOW_VALUE)
    return tuple(flags)


def share_ratios(weights: dict[int, float], credited: dict[int, float], total: float) -> dict[int, ShareRatio]:
    """fᵢ = total × eᵢ / Σe and rᵢ = cᵢ / fᵢ for every rep in `weights`."""
    weight_sum = sum(weights.values())
    ratios: dict[int, ShareRatio] = {}
    for member_id, weight in weights.items():
        fair = total * weight / weight_sum if weight_sum > 0 else 0.0
        got = credited.get(member_id, 0.0)
        ratios[member_id] = ShareRatio(member_id, got, fair, got / fair if fair > 0 else None)
    return ratios


# --- queries -----------------------------------------------------------------------------------


def leads_in_period(team_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The team's leads created in [start, end) (index `ix_leads_team_created`)."""
    return and_(Lead.team_id == team_id, Lead.created_at >= start, Lead.created_at < end)


def eligible_reps(session: Session, team_id: str, start: datetime, end: datetime) -> list[Member]:
    """Reps of the team present at some point of [start, end); managers never count."""
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.team_id == team_id,
                Member.role == Role.REP,
                Member.joined_at < end,
                or_(Member.left_at.is_(None), Member.left_at > start),
            )
            .order_by(Member.id)
        )
    )


def effective_weights(session: Session, reps: Sequence[Member], start: datetime, end: datetime) -> dict[int, float]:
    """eᵢ = weight × the share of [start, end) the rep was a member, working and not away."""
    span = (end - start).total_seconds()
    if not reps or span <= 0:
        return dict.fromkeys((rep.id for rep in reps), 0.0)
    away: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    rows = session.execute(
        select(AwayPeriod.member_id, AwayPeriod.starts_at, AwayPeriod.ends_at).where(
            AwayPeriod.member_id.in_([rep.id for rep in reps]),
            AwayPeriod.starts_at < end,
            or_(AwayPeriod.ends_at.is_(None), AwayPeriod.ends_at > start),
        )
    )
    for member_id, starts_at, ends_at in rows:
        away[member_id].append((starts_at, ends_at or end))
    return {rep.id: rep.weight * _available_seconds(rep, away[rep.id], start, end) / span for rep in reps}


def _available_seconds(rep: Member, away: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """Seconds of [start, end) inside [joined_at, left_at), in the rep's working hours and not away."""
    low = max(start, rep.joined_at)
    high = min(end, rep.left_at or end)
    if high <= low:
        return 0.0
    return sum(_outside(part, sorted(away)) for part in schedule_of(rep).intervals(low, high))


def _outside(part: tuple[datetime, datetime], away: list[tuple[datetime, datetime]]) -> float:
    """Seconds of `part` that no (sorted) away period covers; overlapping periods count once."""
    low, high = part
    available = (high - low).total_seconds()
    cursor = low
    for away_start, away_end in away:
        away_start, away_end = max(away_start, cursor), min(away_end, high)
        if away_end > away_start:
            available -= (away_end - away_start).total_seconds()
            cursor = away_end
    return available


def period_credit(session: Session, team_id: str, start: datetime, end: datetime) -> PeriodCredit:
    """Leads in and credit shares of them; a split counts its percentage, NULL scores count 0."""
    in_period = leads_in_period(team_id, start, end)
    worth = func.coalesce(Lead.value * func.coalesce(Lead.score, 100), 0)  # pipeline value × 100
    leads, score, value = session.execute(
        select(func.count(), func.coalesce(func.sum(Lead.score), 0), func.coalesce(func.sum(worth), 0)).where(in_period)
    ).one()
    rows = session.execute(
        select(
            CreditShare.member_id,
            func.sum(CreditShare.percent),
            func.sum(CreditShare.percent * func.coalesce(Lead.score, 0)),
            func.sum(CreditShare.percent * worth),
        )
        .join(Lead, Lead.id == CreditShare.lead_id)
        .where(in_period, CreditShare.created_at >= start)  # credit never predates its lead: bounds the scan
        .group_by(CreditShare.member_id)
    ).all()
    return PeriodCredit(
        leads=leads,
        score=int(score),
        credited={member_id: percent / 100 for member_id, percent, _, _ in rows},
        credited_score={member_id: float(points) / 100 for member_id, _, points, _ in rows},
        value=float(value) / 100,
        credited_value={member_id: float(cents) / 10000 for member_id, _, _, cents in rows},
    )


@dataclass(frozen=True)
class PeriodShares:
    """Who was eligible in a period, and each one's credited share of its leads, of their scores
    (quality) and of their pipeline value, against fair share: what the digest and the simulator
    both measure."""

    reps: list[Member]
    credit: PeriodCredit
    counts: dict[int, ShareRatio]
    quality: dict[int, ShareRatio]
    value: dict[int, ShareRatio]


def period_shares(session: Session, team_id: str, start: datetime, end: datetime) -> PeriodShares:
    """The team's shares of the leads created in [start, end)."""
    reps = eligible_reps(session, team_id, start, end)
    weights = effective_weights(session, reps, start, end)
    credit = period_credit(session, team_id, start, end)
    return PeriodShares(
        reps,
        credit,
        share_ratios(weights, credit.credited, credit.leads),
        share_ratios(weights, credit.credited_score, credit.score),
        share_ratios(weights, credit.credited_value, credit.value),
    )


def limit_refusals(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, int]:
    """Claims refused by a limit in [start, end), per rep (audit log): the hoarding signal.

    Share-cap refusals are left out: they stop a rep who is ahead, and are no sign of grabbing.
    """
    member_id = AuditEvent.details["member_id"].as_integer()
    why = AuditEvent.details[("refusal", "why")].as_string()
    rows = session.execute(
        select(member_id, func.count())
        .where(
            AuditEvent.team_id == team_id,
            AuditEvent.action == "claim.refused_limit",
            AuditEvent.at >= start,
            AuditEvent.at < end,
            or_(why.is_(None), why != Limit.SHARE.value),
        )
        .group_by(member_id)
    )
    return dict(rows.tuples().all())


def fair_share_ratios(session: Session, team_id: str, start: datetime, end: datetime) -> dict[int, ShareRatio]:
    """Each eligible rep's credited leads of [start, end) against their fair share, by member id."""
    weights = effective_weights(session, eligible_reps(session, team_id, start, end), start, end)
    credit = period_credit(session, team_id, start, end)
    return share_ratios(weights, credit.credited, credit.leads)


def calendar_period(tz_name: str, now: datetime, period: SharePeriod) -> tuple[datetime, datetime]:
    """The team-local ISO week (Monday 00:00 on) or calendar month (`period` "week" or "month")
    that `now` is in, in the team's zone."""
    zone = ZoneInfo(tz_name)
    today = now.astimezone(zone).date()
    if period == "week":
        first = today - timedelta(days=today.weekday())
        after = first + timedelta(days=7)
    else:
        first = today.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), zone), datetime.combine(after, time(), zone)


def to_date_ratios(session: Session, team: Team, now: datetime, period: SharePeriod) -> dict[int, ShareRatio]:
    """Each rep's credited leads this week or month (the team's `fair_share_period`) against their
    fair share so far: what draws, auto-assign and the share cap go by."""
    start, _ = calendar_period(team.timezone, now, period)
    return fair_share_ratios(session, team.id, start.astimezone(UTC), now)
