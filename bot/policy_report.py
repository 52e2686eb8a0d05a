"""How fair a run of the rules was (`dibs simulate`, `dibs preview`): the digest's measures over a period.

The same formulas as the weekly digest (bot/fairness.py), taken over the whole period: each rep's
credited leads against their fair share (weight × time available), the Gini and Jain of those
ratios, the worst rep's ratio, the spread of quality (score) ratios, the share of pipeline value,
how many leads the reps chose themselves, time to first contact, SLA misses, disputes and flags.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.fairness import (
    Flag,
    fairness_flags,
    gini,
    jain,
    leads_in_period,
    limit_refusals,
    period_shares,
)
from models import OWNING_CLAIM_STATUSES, Claim, ClaimStatus, Dispute, How, Lead


@dataclass(frozen=True)
class RepOutcome:
    """One rep over the period."""

    rep: str  # Slack user id
    weight: float
    credited: float
    fair_share: float
    ratio: float | None
    quality_ratio: float | None
    value_ratio: float | None
    chose: int  # leads they own by their own claim (click or draw)
    flags: tuple[Flag, ...]


@dataclass(frozen=True)
class PolicyReport:
    """The measures of one policy over one period; ratios are None when nobody had a fair share."""

    policy: str
    leads: int
    owned: int  # leads with an owner at the end
    gini: float
    jain: float
    worst_ratio: float | None
    worst_rep: str | None
    quality_spread: float  # highest minus lowest quality ratio
    value_gini: float  # Gini of the pipeline-value ratios
    rep_chosen: float  # share of owned leads the owner chose (claim or draw), 0..1
    first_contact_minutes: float | None  # median, from the lead's arrival to its first contact
    sla_misses: int
    disputes: int
    flags: dict[str, int]  # flag → reps flagged
    reps: tuple[RepOutcome, ...]


def _rated(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def policy_report(session: Session, team_id: str, policy: str, start: datetime, end: datetime) -> PolicyReport:
    """The measures of the team's leads created in [start, end), as they stand now."""
    measured = period_shares(session, team_id, start, end)
    reps, counts, quality, value = measured.reps, measured.counts, measured.quality, measured.value
    in_period = leads_in_period(team_id, start, end)
    owning = (
        select(Claim.member_id, Claim.how, Lead.score)
        .join(Lead, Lead.id == Claim.lead_id)
        .where(in_period, Claim.status.in_(OWNING_CLAIM_STATUSES))
    )
    owned_rows = session.execute(owning).all()
    chose: Counter[int] = Counter(member_id for member_id, how, _ in owned_rows if how == How.CLAIM)
    chosen_scores: dict[int, list[int]] = {}
    for member_id, how, score in owned_rows:
        if how == How.CLAIM and score is not None:
            chosen_scores.setdefault(member_id, []).append(score)
    scored = session.execute(select(func.avg(Lead.score)).where(in_period)).scalar()
    team_mean = float(scored) if scored is not None else None
    cap_hits = limit_refusals(session, team_id, start, end)
    rows = []
    for rep in reps:
        mine = chosen_scores.get(rep.id, [])
        flags = fairness_flags(
            counts[rep.id].ratio,
            cap_hits.get(rep.id, 0),
            chose[rep.id],
            statistics.fmean(mine) if mine else None,
            team_mean,
            value[rep.id].ratio,
        )
        rows.append(
            RepOutcome(
                rep.slack_user_id,
                rep.weight,
                counts[rep.id].credited,
                counts[rep.id].fair_share,
                counts[rep.id].ratio,
                quality[rep.id].ratio,
                value[rep.id].ratio,
                chose[rep.id],
                flags,
            )
        )
    rows.sort(key=lambda r: (r.ratio is None, r.ratio or 0.0, r.rep))
    ratios = _rated([r.ratio for r in rows])
    qualities = _rated([r.quality_ratio for r in rows])
    worst = rows[0] if rows and rows[0].ratio is not None else None
    return PolicyReport(
        policy=policy,
        leads=measured.credit.leads,
        owned=len(owned_rows),
        gini=gini(ratios),
        jain=jain(ratios),
        worst_ratio=worst.ratio if worst else None,
        worst_rep=worst.rep if worst else None,
        quality_spread=max(qualities) - min(qualities) if qualities else 0.0,
        value_gini=gini(_rated([r.value_ratio for r in rows])),
        rep_chosen=sum(chose.values()) / len(owned_rows) if owned_rows else 0.0,
        first_contact_minutes=_median_first_contact(session, team_id, start, end),
        sla_misses=session.scalar(
            select(func.count())
            .select_from(Claim)
            .join(Lead, Lead.id == Claim.lead_id)
            .where(in_period, Claim.status == ClaimStatus.EXPIRED)
        )
        or 0,
        disputes=session.scalar(
            select(func.count()).select_from(Dispute).join(Lead, Lead.id == Dispute.lead_id).where(in_period)
        )
        or 0,
        flags=dict(sorted(Counter(str(flag) for r in rows for flag in r.flags).items())),
        reps=tuple(rows),
    )


def _median_first_contact(session: Session, team_id: str, start: datetime, end: datetime) -> float | None:
    """Median minutes from a lead's arrival to the first time anyone contacted it."""
    rows = session.execute(
        select(Lead.created_at, func.min(Claim.contacted_at))
        .join(Claim, Claim.lead_id == Lead.id)
        .where(leads_in_period(team_id, start, end), Claim.contacted_at.is_not(None))
        .group_by(Lead.id, Lead.created_at)
    ).all()
    waits = [(contacted - created).total_seconds() / 60 for created, contacted in rows]
    return statistics.median(waits) if waits else None
