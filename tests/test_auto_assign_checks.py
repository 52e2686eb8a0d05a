"""Auto-assign on a big team checks reps in ranked order and stops after a few eligible ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduler
from bot.availability import go_away
from bot.config import parse_config
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from models import Lead, Member, Team

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
REPS = [f"U0R{n}" for n in range(1, 9)]
_REP_TABLES = ", ".join('{ id = "' + uid + '" }' for uid in REPS)
BIG = (
    '[teams.big]\nname = "Big"\nchannel = "C0BIG"\nmanagers = ["U0BIGMGR"]\n'
    f"reps = [{_REP_TABLES}]\n"
    "[teams.big.limits]\nfair_start_seconds = 0\nauto_assign_after_minutes = 1\n"
)


def test_only_the_top_of_the_ranking_is_checked_and_recorded(sessions: sessionmaker[Session]) -> None:
    """Eight reps, all at ratio 0, none ever assigned: ranked by id. U0R8 is away, ranked last:
    the winner is U0R1, /dibs why lists U0R1–U0R5, and U0R8 is never checked (not listed as skipped)."""
    with freeze_time(START), sessions.begin() as session:
        apply_config(session, parse_config(BIG), START)
        go_away(session, session.scalars(select(Member).where(Member.slack_user_id == "U0R8")).one(), START)
        lead = take_lead(session, session.get_one(Team, "big"), LeadIn(name="Jane"), START, "test").lead.id
    scheduler.run_due(sessions, START + timedelta(minutes=1))
    with sessions() as session:
        record = session.get_one(Lead, lead).assignment
    assert record is not None and record["winner"] == "U0R1"
    assert [c["rep"] for c in record["candidates"]] == REPS[:5]
    assert record["skipped"] == {}
