"""The same CRM lead sent twice at once (a webhook retry racing the original): one lead, both
answers name it. The unique (team_id, external_id) constraint decides, through `INSERT … ON
CONFLICT DO NOTHING` (issue 11), so the loser waits for the winner's commit and reads its lead."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bot.config import parse_config
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from infra.db import session_factory
from models import Lead, Team
from tests.conftest import TEAM_TOML

SENDERS = 8


def test_the_same_external_id_at_once_makes_one_lead(pg_engine, now) -> None:
    sessions = session_factory(pg_engine)
    with sessions.begin() as session:
        apply_config(session, parse_config(TEAM_TOML), now)
    barrier = threading.Barrier(SENDERS)

    def send(n: int) -> tuple[int, bool]:
        with sessions.begin() as session:
            team = session.get_one(Team, "east")
            barrier.wait()
            result = take_lead(session, team, LeadIn(name=f"Jane {n}", external_id="crm-42"), now, "crm")
            return result.lead.id, result.created

    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(send, range(SENDERS)))
    assert len({lead_id for lead_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1
