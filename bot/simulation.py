"""`dibs simulate`: a synthetic month played through the real services under each policy.

The same code as production decides everything (bot/intake.py announces, bot/claiming.py takes
clicks, bot/scheduler.py settles draws, auto-assigns and expires missed contact SLAs, bot/claims.py
holds the limits, bot/mediation.py decides disputes); only the clock is the simulation's, and the
database is a throwaway one the caller hands in (`new_sessions`, one per policy). No Slack: what would
be sent stays in the outbox table.

The events of the world (arrivals, clicks, away days, a joiner) are fixed by bot/world.py; what the
reps do after owning a lead (contact it, close it) follows the lead's own draws, and disputes are
awarded by a manager a few hours after they open, as the dispute's suggestion says.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, claims, draws, scheduler
from bot.availability import go_away
from bot.config import DibsConfig, Limits, RepConfig, TeamConfig
from bot.errors import DibsError
from bot.escalation import resume
from bot.intake import LeadIn, take_lead
from bot.mediation import resolve
from bot.policy_report import PolicyReport, policy_report
from bot.teams import apply_config
from bot.working_time import Schedule
from bot.world import SimLead, SimRep, World
from models import Claim, ClaimStatus, Dispute, DisputeOutcome, DisputeStatus, Lead, LeadStatus, Member, Team

TEAM = "sim"
MANAGER = "U0MANAGER"
RESOLVE_AFTER = timedelta(hours=3)  # a manager decides a dispute this long after it opens
NO_LIMITS = {"max_active_claims": 1000, "max_claims_per_day": 10000, "max_hot_claims_per_day": 10000}


@dataclass(frozen=True)
class Policy:
    """A named set of limits; `reps_click` False means nobody claims and every lead is auto-assigned."""

    name: str
    limits: Limits
    reps_click: bool = True


def standard_policies(team_limits: Limits, others: tuple[tuple[str, Limits], ...] = ()) -> list[Policy]:
    """First click wins (no window, no limits), pure weighted rotation, Dibs with the team's
    limits, then any other configs given."""
    first_click = Limits.model_validate({**NO_LIMITS, "fair_start_seconds": 0, "contest_window_minutes": 0})
    rotation = Limits.model_validate({**NO_LIMITS, "auto_assign_after_minutes": 1})
    return [
        Policy("first click", first_click),
        Policy("rotation", rotation, reps_click=False),
        Policy("dibs", team_limits),
        *(Policy(name, limits) for name, limits in others),
    ]


class _Kind(IntEnum):
    """Event kinds, in the order they happen at the same moment."""

    JOIN = 0
    MORNING = 1  # the manager resumes reps paused for missed SLAs
    AWAY = 2
    ARRIVE = 3
    CLICK = 4
    CONTACT = 5
    CLOSE = 6
    RESOLVE = 7


@dataclass(order=True)
class _Event:
    at: datetime
    kind: _Kind
    seq: int
    payload: Any = field(compare=False)


@dataclass
class _Run:
    """One policy's run: the event queue, the leads' ids, and what has been followed up."""

    world: World
    policy: Policy
    sessions: sessionmaker[Session]
    schedule: Schedule
    events: list[_Event] = field(default_factory=list)
    lead_ids: dict[int, int] = field(default_factory=dict)  # world index → Lead.id
    sim_leads: dict[int, SimLead] = field(default_factory=dict)  # Lead.id → its world lead
    reps: dict[str, SimRep] = field(default_factory=dict)
    followed: set[int] = field(default_factory=set)  # claims whose contact and close are queued
    disputes: set[int] = field(default_factory=set)
    seq: int = 0

    def push(self, at: datetime, kind: _Kind, payload: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.events, _Event(at, kind, self.seq, payload))


def _team_config(world: World, policy: Policy, reps: list[SimRep]) -> DibsConfig:
    options = world.options
    team = TeamConfig(
        name="Simulated team",
        channel="C0SIM",
        timezone=options.timezone,
        hours=options.hours,
        managers=[MANAGER],
        reps=[RepConfig(id=rep.uid, weight=rep.weight) for rep in reps],
        limits=policy.limits,
    )
    return DibsConfig(teams={TEAM: team})


def _member(session: Session, uid: str) -> Member | None:
    return session.scalar(select(Member).where(Member.slack_user_id == uid, Member.active.is_(True)))


def _next_due(session: Session) -> datetime | None:
    """The earliest timer the scheduler will act on: a draw, an auto-assign or a contact SLA."""
    pending = exists().where(Claim.lead_id == Lead.id, Claim.status == ClaimStatus.PENDING)
    open_lead = Lead.status == LeadStatus.OPEN
    times = [
        session.scalar(select(func.min(Lead.fair_start_until)).where(open_lead, pending)),
        session.scalar(select(func.min(Lead.auto_assign_at)).where(open_lead)),
        session.scalar(  # a disputed lead's contact clock is paused
            select(func.min(Claim.expires_at))
            .join(Lead, Lead.id == Claim.lead_id)
            .where(Claim.status == ClaimStatus.ACTIVE, Lead.status == LeadStatus.CLAIMED)
        ),
    ]
    return min((t for t in times if t is not None), default=None)


def _working(run: _Run, due: datetime) -> datetime:
    """Timers due while nobody works wait for the next working window: auto-assign would only
    find every rep off hours and try again later (the contact SLA and draws run in working time)."""
    if run.schedule.is_working(due):
        return due
    start, _ = run.schedule.next_window(due)
    return start


def _arrive(run: _Run, lead: SimLead, now: datetime) -> None:
    data = LeadIn(
        external_id=f"sim-{lead.index}",
        name=f"Lead {lead.index + 1}",
        email=f"buyer{lead.index + 1}@{lead.domain}",
        score=lead.score,
        value=Decimal(lead.value),
        source="simulated",
    )
    with run.sessions.begin() as session:
        created = take_lead(session, session.get_one(Team, TEAM), data, now, "simulation").lead
        run.lead_ids[lead.index] = created.id
        run.sim_leads[created.id] = lead
    if run.policy.reps_click:
        for uid, seconds in lead.clicks:
            run.push(now + timedelta(seconds=seconds), _Kind.CLICK, (uid, created.id))


def _click(run: _Run, uid: str, lead_id: int, now: datetime) -> None:
    """A rep clicks Claim; the button is gone once the lead is not open, so such clicks never happen."""
    with suppress(DibsError), run.sessions.begin() as session:  # refused outright: nothing changes
        member = _member(session, uid)
        lead = session.get_one(Lead, lead_id)
        if member is not None and lead.status == LeadStatus.OPEN:
            claiming.claim_lead(session, member, lead_id, now)


def _contact(run: _Run, claim_id: int, now: datetime) -> None:
    with run.sessions.begin() as session:
        claim = session.get_one(Claim, claim_id)
        if claim.status != ClaimStatus.ACTIVE or claim.contacted_at is not None:
            return  # it expired first, or went to someone else
        claims.mark_contacted(session, claim.member, claim.lead_id, now)
    lead = run.sim_leads[claim.lead_id]
    run.push(now + timedelta(days=lead.close_days), _Kind.CLOSE, claim_id)


def _close(run: _Run, claim_id: int, now: datetime) -> None:
    with run.sessions.begin() as session:
        claim = session.get_one(Claim, claim_id)
        if claim.status != ClaimStatus.ACTIVE:
            return
        lead = run.sim_leads[claim.lead_id]
        amount = Decimal(lead.value) if lead.won else None
        claims.close_lead(session, claim.member, claim.lead_id, now, won=lead.won, amount=amount)


def _resolve(run: _Run, dispute_id: int, now: datetime) -> None:
    """The manager awards the dispute as suggested (else to its first party)."""
    with suppress(DibsError), run.sessions.begin() as session:  # refused: the dispute stays open
        dispute = session.get_one(Dispute, dispute_id)
        if dispute.status != DisputeStatus.OPEN:
            return
        parties = [p for p in dispute.parties if p.withdrawn_at is None]
        suggested = session.get(Member, dispute.suggested_member_id) if dispute.suggested_member_id else None
        winner = suggested.slack_user_id if suggested else parties[0].member.slack_user_id
        manager = _member(session, MANAGER)
        assert manager is not None
        resolve(session, manager, dispute.id, now, outcome=DisputeOutcome.AWARD, shares=[(winner, 100)])


def _follow_up(run: _Run, since: datetime) -> None:
    """Queue what people do next: an owner contacts a new lead of theirs; a manager decides a new dispute."""
    with run.sessions() as session:
        owned = session.execute(
            select(Claim.id, Claim.lead_id, Claim.started_at, Member.slack_user_id)
            .join(Member, Member.id == Claim.member_id)
            .where(Claim.status == ClaimStatus.ACTIVE, Claim.started_at >= since, Claim.contacted_at.is_(None))
        ).all()
        opened = session.execute(select(Dispute.id, Dispute.opened_at).where(Dispute.opened_at >= since)).all()
    for claim_id, lead_id, started_at, uid in owned:
        if claim_id in run.followed:
            continue
        run.followed.add(claim_id)
        low, high = run.reps[uid].contact_minutes
        minutes = low + run.sim_leads[lead_id].contact_draw * (high - low)
        run.push(run.schedule.add_working(started_at, minutes), _Kind.CONTACT, claim_id)
    for dispute_id, opened_at in opened:
        if dispute_id not in run.disputes:
            run.disputes.add(dispute_id)
            run.push(opened_at + RESOLVE_AFTER, _Kind.RESOLVE, dispute_id)


def _join(run: _Run, now: datetime) -> None:
    present = [rep for rep in run.world.reps if rep.joins_at is None or rep.joins_at <= now]
    with run.sessions.begin() as session:
        apply_config(session, _team_config(run.world, run.policy, present), now)


def _away(run: _Run, uid: str, now: datetime) -> None:
    with run.sessions.begin() as session:
        member = _member(session, uid)
        if member is not None:
            go_away(session, member, now, until=(now + timedelta(days=1)).date())


def _morning(run: _Run, now: datetime) -> None:
    """A manager resumes every rep paused for missed contact SLAs, each working morning."""
    with run.sessions.begin() as session:
        manager = _member(session, MANAGER)
        assert manager is not None
        for rep in session.scalars(select(Member).where(Member.team_id == TEAM, Member.paused_at.is_not(None))):
            resume(session, manager, rep, now)


def _setup(run: _Run) -> None:
    world, start = run.world, run.world.options.start
    run.reps = {rep.uid: rep for rep in world.reps}
    _join(run, start)
    for low, _ in run.schedule.intervals(start, world.end):
        run.push(low, _Kind.MORNING)
    for rep in world.reps:
        if rep.joins_at is not None:
            run.push(rep.joins_at, _Kind.JOIN)
        for day in rep.away:
            run.push(datetime.combine(day, datetime.min.time(), start.tzinfo), _Kind.AWAY, rep.uid)
    for lead in world.leads:
        run.push(lead.at, _Kind.ARRIVE, lead)


def run_policy(
    world: World, policy: Policy, sessions: sessionmaker[Session], on_lead: Callable[[], None] = lambda: None
) -> PolicyReport:
    """Play the world under one policy on an empty database; `on_lead` is called per arrival."""
    run = _Run(world, policy, sessions, Schedule.of(world.options.timezone, world.options.hours))
    _setup(run)
    clock, floor = world.options.start, world.options.start
    while True:
        with sessions() as session:
            due = _next_due(session)
        if due is not None:
            due = _working(run, max(due, floor))
        upcoming = run.events[0].at if run.events else None
        if due is not None and due < world.end and (upcoming is None or due <= upcoming):
            clock = max(clock, due)
            scheduler.run_due(sessions, clock)
            floor = clock + timedelta(seconds=1)  # what is still due now (a full batch) goes next
        elif upcoming is not None and upcoming < world.end:
            event = heapq.heappop(run.events)
            clock = max(clock, event.at)
            _handle(run, event, clock, on_lead)
        else:
            break
        _follow_up(run, clock - timedelta(seconds=1))
    with sessions() as session:
        return policy_report(session, TEAM, policy.name, world.options.start, world.end)


def _handle(run: _Run, event: _Event, now: datetime, on_lead: Callable[[], None]) -> None:
    match event.kind:
        case _Kind.JOIN:
            _join(run, now)
        case _Kind.MORNING:
            _morning(run, now)
        case _Kind.AWAY:
            _away(run, event.payload, now)
        case _Kind.ARRIVE:
            _arrive(run, event.payload, now)
            on_lead()
        case _Kind.CLICK:
            uid, lead_id = event.payload
            _click(run, uid, lead_id, now)
        case _Kind.CONTACT:
            _contact(run, event.payload, now)
        case _Kind.CLOSE:
            _close(run, event.payload, now)
        case _Kind.RESOLVE:
            _resolve(run, event.payload, now)


def simulate(
    world: World,
    policies: list[Policy],
    new_sessions: Callable[[], sessionmaker[Session]],
    on_lead: Callable[[], None] = lambda: None,
) -> list[PolicyReport]:
    """Each policy on the same world, each on a fresh database from `new_sessions`; tied draws
    are decided by seeds drawn from the world's seed, so a run repeats exactly."""
    reports = []
    for policy in policies:
        with draws.reproducible_seeds(world.options.seed):
            reports.append(run_policy(world, policy, new_sessions(), on_lead))
    return reports
