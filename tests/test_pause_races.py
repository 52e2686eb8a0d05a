"""A pause and an assignment meet (issue 13): decided by the rep's row lock on PostgreSQL.

Auto-assign ranks reps from what it read, then locks the chosen one; a pause committed meanwhile
must win (the lead goes to the next rep), and two misses of one rep expiring at once are counted
one after the other, so `pause_after_misses = 2` pauses them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming
from bot.assignment import auto_assign
from bot.config import parse_config
from bot.escalation import contact_missed, pause
from bot.intake import LeadIn, take_lead
from bot.leads import get_lead, owning_claim
from bot.teams import apply_config
from infra.db import session_factory
from models import Claim, ClaimStatus, Member, Team

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
PAIR_TOML = """
[teams.pair]
name = "Pair"
channel = "C0PAIR"
timezone = "America/New_York"
managers = ["U0PMGR"]
reps = [{ id = "U0FIRST" }, { id = "U0SECOND" }]

[teams.pair.limits]
fair_start_seconds = 0
pause_after_misses = 2
escalate_after_misses = 0
exclude_past_holders_hours = 0
"""


def member(session: Session, uid: str) -> Member:
    return session.scalars(select(Member).where(Member.slack_user_id == uid)).one()


def pair(pg_engine: Engine) -> sessionmaker[Session]:
    sessions = session_factory(pg_engine)
    with sessions.begin() as session:
        apply_config(session, parse_config(PAIR_TOML), START)
    return sessions


def new_lead(sessions: sessionmaker[Session], at: datetime) -> int:
    with sessions.begin() as session:
        return take_lead(session, session.get_one(Team, "pair"), LeadIn(name="Jane Doe"), at, "test").lead.id


def wait_until_blocked_on_a_lock(sessions: sessionmaker[Session], timeout: float = 10.0) -> None:
    """Until another connection waits for a row lock (the one the caller's transaction holds)."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    while time.monotonic() < deadline:
        with sessions() as session:
            if session.scalar(query):
                return
        time.sleep(0.02)
    raise AssertionError("nobody waited for the lock")


def test_a_pause_committed_while_auto_assign_ranks_the_rep_wins(pg_engine: Engine) -> None:
    sessions = pair(pg_engine)
    lead = new_lead(sessions, START)
    paused = threading.Event()

    def pause_first() -> None:
        with sessions.begin() as session:
            pause(session, member(session, "U0FIRST"), START, 2)  # holds U0FIRST's row lock
            paused.set()
            wait_until_blocked_on_a_lock(sessions)  # auto-assign ranked U0FIRST unpaused and waits

    def assign() -> str | None:
        paused.wait(10)
        with sessions.begin() as session:
            chosen = auto_assign(session, get_lead(session, "pair", lead, lock=True), START + timedelta(minutes=30))
            return chosen.slack_user_id if chosen else None

    with ThreadPoolExecutor(2) as pool:
        pausing, assigning = pool.submit(pause_first), pool.submit(assign)
        pausing.result(timeout=30)
        winner = assigning.result(timeout=30)
    assert winner == "U0SECOND", "the paused rep is passed over, however late the pause came"
    with sessions() as session:
        owning = owning_claim(session, lead)
        assert owning is not None and owning.member.slack_user_id == "U0SECOND"


def test_two_misses_expiring_at_once_pause_the_rep(pg_engine: Engine) -> None:
    sessions = pair(pg_engine)
    leads = [new_lead(sessions, START) for _ in range(2)]
    for lead in leads:
        with sessions.begin() as session:
            claiming.claim_lead(session, member(session, "U0FIRST"), lead, START)
    expiry = START + timedelta(hours=3)
    together = threading.Barrier(2)

    def expire(lead_id: int) -> None:
        with sessions.begin() as session:
            locked = get_lead(session, "pair", lead_id, lock=True)
            claim = session.scalars(
                select(Claim).where(Claim.lead_id == lead_id, Claim.status == ClaimStatus.ACTIVE)
            ).one()
            together.wait(10)
            contact_missed(session, locked, claim, expiry)

    for _ in range(3):  # each round a fresh pair of misses at the same moment
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(expire, leads))
        with sessions() as session:
            assert member(session, "U0FIRST").paused_at == expiry, "two misses today: paused"
        with sessions.begin() as session:
            rep = member(session, "U0FIRST")
            rep.paused_at = None
            for lead in leads:
                claiming.claim_lead(session, rep, lead, expiry)
        expiry += timedelta(days=1)
