"""`dibs preview`: the team's own last weeks replayed under the current limits and proposed ones.

The recorded history becomes a world for bot/simulation.py: the reps present then (weights, join
dates, away days), every lead as it arrived (time, score, value, account) and every rep's click on
it, at the same number of seconds after the lead came in. What happened after a rep owned a lead
(how soon they contacted it, when it closed) is taken from the record where there is one. Replayed
through the same services on a throwaway database, so the team's real data is only read.
"""

from __future__ import annotations

import hashlib
import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.fairness import eligible_reps, iso_week_bounds, leads_in_period, week_containing
from bot.working_time import ALWAYS
from bot.world import SimLead, SimRep, World, WorldOptions
from models import AwayPeriod, Claim, How, Lead, LeadStatus, Member, Team

DEFAULT_CONTACT_MINUTES = (5.0, 90.0)  # a rep who never contacted a lead in the record
OPEN_CLOSE_DAYS = 3650.0  # a lead still open in the record stays open in the replay


def recorded_period(team: Team, weeks: int, now: datetime) -> tuple[datetime, datetime]:
    """The last `weeks` complete ISO weeks before the current one, in the team's zone."""
    this_week, _ = iso_week_bounds(team.timezone, *week_containing(team.timezone, now))
    return this_week - timedelta(weeks=weeks), this_week


def _account_domain(lead: Lead) -> str:
    """A stand-in domain per recorded account, so leads of one account stay one account."""
    key = lead.account_key or f"lead-{lead.id}"
    return f"account-{hashlib.sha256(key.encode()).hexdigest()[:12]}.com"


def _contact_minutes(session: Session, member_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """Each rep's median minutes from owning a lead to contacting it, in the period."""
    waits: dict[int, list[float]] = defaultdict(list)
    rows = session.execute(
        select(Claim.member_id, Claim.started_at, Claim.contacted_at).where(
            Claim.member_id.in_(member_ids),
            Claim.started_at >= start,
            Claim.started_at < end,
            Claim.contacted_at.is_not(None),
        )
    )
    for member_id, started, contacted in rows:
        waits[member_id].append((contacted - started).total_seconds() / 60)
    return {member_id: statistics.median(minutes) for member_id, minutes in waits.items()}


def _away_days(session: Session, member: Member, start: datetime, end: datetime) -> tuple[datetime, ...]:
    days: set[datetime] = set()
    for period in session.scalars(
        select(AwayPeriod).where(AwayPeriod.member_id == member.id, AwayPeriod.starts_at < end)
    ):
        day = max(period.starts_at, start).replace(hour=0, minute=0, second=0, microsecond=0)
        until = min(period.ends_at or end, end)
        while day < until:
            days.add(day)
            day += timedelta(days=1)
    return tuple(sorted(days))


def _reps(session: Session, team: Team, start: datetime, end: datetime) -> tuple[SimRep, ...]:
    members = eligible_reps(session, team.id, start, end)
    contact = _contact_minutes(session, [m.id for m in members], start, end)
    reps = []
    for member in members:
        minutes = contact.get(member.id)
        reps.append(
            SimRep(
                uid=member.slack_user_id,
                weight=member.weight,
                click_seconds=(0.0, 0.0),  # clicks are replayed as recorded
                eagerness=1.0,
                contact_minutes=(minutes, minutes) if minutes is not None else DEFAULT_CONTACT_MINUTES,
                away=tuple(day.date() for day in _away_days(session, member, start, end)),
                joins_at=member.joined_at if member.joined_at > start else None,
            )
        )
    return tuple(reps)


def _clicks(session: Session, lead_ids: list[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Every rep's own claim on each lead (clicks, `/dibs claim`), won, lost or declined."""
    clicks: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    rows = session.execute(
        select(Claim.lead_id, Member.slack_user_id, Claim.requested_at)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.lead_id.in_(lead_ids), Claim.how == How.CLAIM)
        .order_by(Claim.requested_at)
    )
    for lead_id, uid, at in rows:
        clicks[lead_id].append((uid, at))
    return clicks


def recorded_world(session: Session, team: Team, weeks: int, now: datetime) -> World:
    """The team's last `weeks` complete weeks as a world to replay."""
    start, end = recorded_period(team, weeks, now)
    options = WorldOptions(
        reps=0, days=7 * weeks, seed=0, start=start, timezone=team.timezone, hours=team.hours or ALWAYS
    )
    reps = _reps(session, team, start, end)
    leads = list(session.scalars(select(Lead).where(leads_in_period(team.id, start, end)).order_by(Lead.created_at)))
    clicks = _clicks(session, [lead.id for lead in leads])
    replayed = []
    for index, lead in enumerate(leads):
        closed_after = (lead.closed_at - lead.created_at).total_seconds() / 86400 if lead.closed_at else None
        replayed.append(
            SimLead(
                index=index,
                at=lead.created_at,
                score=lead.score if lead.score is not None else 0,
                value=int(lead.value or 0),
                domain=_account_domain(lead),
                clicks=tuple(
                    (uid, max(0.0, (at - lead.created_at).total_seconds())) for uid, at in clicks.get(lead.id, [])
                ),
                contact_draw=0.0,
                close_days=closed_after if closed_after is not None else OPEN_CLOSE_DAYS,
                won=lead.status == LeadStatus.WON,
            )
        )
    return World(options, reps, tuple(replayed))
