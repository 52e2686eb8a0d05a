"""A synthetic sales team for `dibs simulate`: who the reps are, how they click, and which leads come in.

Everything is drawn from one seeded generator, so the same options give the same world, and every
policy of a run plays the same world (the same leads at the same moments, the same reps clicking
the same leads at the same speed). Only the rules differ.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.working_time import Schedule

DEFAULT_START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
CLICKER_WEIGHT = 6.0  # how much likelier a fast clicker is to click a lead than another rep


@dataclass(frozen=True)
class WorldOptions:
    """What the simulated month looks like; every field has a sensible default."""

    reps: int = 20
    days: int = 28
    seed: int = 1
    start: datetime = DEFAULT_START
    timezone: str = "UTC"
    hours: str = "mon-fri 09:00-17:00"
    leads_per_hour: float = 2.0  # arrivals per working hour, for the whole team
    clickers_per_lead: float = 4.0  # reps who click a lead, on average (Poisson)
    fast_clickers: int = 3  # reps who click within seconds, and click far more leads
    slow_share: float = 0.25  # reps who take minutes to click
    part_time_share: float = 0.2  # reps with weight 0.5
    away_days: float = 1.5  # working days away per rep over the run, on average
    joiner: bool = True  # the last rep joins halfway through
    owned_account_share: float = 0.1  # leads of an account someone already works
    slow_contact_share: float = 0.1  # reps who often miss the contact SLA
    won_share: float = 0.25  # of contacted leads, at score 100 (scaled by score)


@dataclass(frozen=True)
class SimRep:
    uid: str
    weight: float
    click_seconds: tuple[float, float]  # reaction time range after a lead is announced
    eagerness: float  # relative chance of being one of a lead's clickers
    contact_minutes: tuple[float, float]  # working minutes from owning a lead to contacting it
    away: tuple[date, ...]
    joins_at: datetime | None  # None: from the start


@dataclass(frozen=True)
class SimLead:
    index: int
    at: datetime
    score: int
    value: int
    domain: str  # its account: leads sharing a domain are the same account
    clicks: tuple[tuple[str, float], ...]  # (rep uid, seconds after announcement), same in every policy
    contact_draw: float  # in [0, 1): where in the owner's contact range they contact it
    close_days: float  # from contact to closing
    won: bool  # when its owner closes it


@dataclass(frozen=True)
class World:
    options: WorldOptions
    reps: tuple[SimRep, ...]
    leads: tuple[SimLead, ...] = field(repr=False)

    @property
    def end(self) -> datetime:
        return self.options.start + timedelta(days=self.options.days)


def rep_uid(index: int) -> str:
    return f"U{index + 1:05d}"


def _reps(options: WorldOptions, rng: random.Random) -> tuple[SimRep, ...]:
    schedule = Schedule.of(options.timezone, options.hours)
    end = options.start + timedelta(days=options.days)
    workdays = sorted({low.date() for low, _ in schedule.intervals(options.start, end)})
    reps = []
    for index in range(options.reps):
        fast = index < options.fast_clickers
        slow = not fast and rng.random() < options.slow_share
        click = (2.0, 6.0) if fast else (120.0, 1200.0) if slow else (10.0, 120.0)
        contact = (60.0, 300.0) if rng.random() < options.slow_contact_share else (5.0, 90.0)
        away_count = min(len(workdays), _poisson(rng, options.away_days))
        joins = (
            options.start + timedelta(days=options.days // 2) if options.joiner and index == options.reps - 1 else None
        )
        reps.append(
            SimRep(
                uid=rep_uid(index),
                weight=0.5 if rng.random() < options.part_time_share else 1.0,
                click_seconds=click,
                eagerness=CLICKER_WEIGHT if fast else 1.0,
                contact_minutes=contact,
                away=tuple(sorted(rng.sample(workdays, away_count))),
                joins_at=joins,
            )
        )
    return tuple(reps)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; fine for the small means used here."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _arrivals(options: WorldOptions, rng: random.Random) -> list[datetime]:
    """Poisson arrivals during working hours only."""
    schedule = Schedule.of(options.timezone, options.hours)
    end = options.start + timedelta(days=options.days)
    arrivals = []
    for low, high in schedule.intervals(options.start, end):
        moment = low
        while True:
            moment += timedelta(hours=rng.expovariate(options.leads_per_hour))
            if moment >= high:
                break
            arrivals.append(moment)
    return arrivals


def _clickers(options: WorldOptions, reps: tuple[SimRep, ...], rng: random.Random) -> tuple[tuple[str, float], ...]:
    """Who clicks a lead and how fast: a Poisson number of reps, fast clickers far likelier."""
    count = min(len(reps), _poisson(rng, options.clickers_per_lead))
    pool = list(reps)
    chosen: list[SimRep] = []
    for _ in range(count):
        rep = rng.choices(pool, weights=[r.eagerness for r in pool])[0]
        pool.remove(rep)
        chosen.append(rep)
    return tuple((rep.uid, rng.uniform(*rep.click_seconds)) for rep in chosen)


def build_world(options: WorldOptions) -> World:
    """The seeded world: reps, then leads with their clicks and outcomes drawn once for all policies."""
    rng = random.Random(options.seed)
    reps = _reps(options, rng)
    accounts: list[str] = []
    leads = []
    for index, at in enumerate(_arrivals(options, rng)):
        if accounts and rng.random() < options.owned_account_share:
            domain = rng.choice(accounts)  # another lead of an account someone already works
        else:
            domain = f"account{index + 1}.com"
            accounts.append(domain)
        score = max(0, min(100, round(rng.betavariate(2.0, 3.0) * 100)))
        leads.append(
            SimLead(
                index=index,
                at=at,
                score=score,
                value=int(round(rng.lognormvariate(8.5, 0.8), -1)),
                domain=domain,
                clicks=_clickers(options, reps, rng),
                contact_draw=rng.random(),
                close_days=rng.uniform(0.5, 3.0),
                won=rng.random() < options.won_share * score / 100,
            )
        )
    return World(options, reps, tuple(leads))
