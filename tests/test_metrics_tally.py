"""The lead and claim counters of /metrics are the database's (every process reports the cluster's
count) but a scrape no longer reads all history: each process counts by group once, then only the
newest ids (handlers/metrics.py's IdTally). Each lead counts once across scrapes, a lead whose
transaction commits after a newer one still counts, and a CRM's free-form sources stay bounded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_config
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from handlers import metrics
from handlers.metrics import SOURCES_PER_TEAM, BusinessCollector, IdTally
from infra.db import session_factory
from models import Lead, Team
from tests.conftest import TEAM_TOML


def _add_leads(teams: sessionmaker[Session], now: datetime, sources: Sequence[str | None]) -> None:
    with teams.begin() as session:
        east = session.get_one(Team, "east")
        for n, source in enumerate(sources):
            take_lead(session, east, LeadIn(name=f"Lead {n}", source=source), now, "test")


def _leads_metric(collector: BusinessCollector, sessions: sessionmaker[Session]) -> dict[tuple[str, ...], float]:
    with sessions() as session:
        family = next(f for f in collector._families(session, datetime.now()) if f.name == "dibs_leads")
    return {tuple(sample.labels.values()): sample.value for sample in family.samples}


def test_each_lead_counts_once_across_scrapes(
    teams: sessionmaker[Session], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "TALLY_TAIL_IDS", 3)  # most of the history is counted by group
    _add_leads(teams, now, ["web"] * 8 + ["csv"] * 2)
    collector = BusinessCollector(teams, lambda: now)
    assert _leads_metric(collector, teams) == {("east", "web"): 8, ("east", "csv"): 2}
    assert _leads_metric(collector, teams) == {("east", "web"): 8, ("east", "csv"): 2}, "nothing counted twice"

    _add_leads(teams, now, ["web", None])

    assert _leads_metric(collector, teams) == {("east", "web"): 9, ("east", "csv"): 2, ("east", "none"): 1}


def test_a_crms_many_sources_keep_the_series_bounded(teams: sessionmaker[Session], now: datetime) -> None:
    sources = [f"campaign-{n}" for n in range(SOURCES_PER_TEAM + 5)]
    _add_leads(teams, now, sources)

    counted = _leads_metric(BusinessCollector(teams, lambda: now), teams)

    assert len(counted) == SOURCES_PER_TEAM + 1 and counted[("east", "other")] == 5
    assert sum(counted.values()) == len(sources)


def test_a_lead_committed_after_a_newer_one_still_counts(pg_engine: Engine, now: datetime) -> None:
    """Two intakes at once: the one holding the lower id commits after a scrape saw the higher."""
    sessions = session_factory(pg_engine)
    with sessions.begin() as session:
        apply_config(session, parse_config(TEAM_TOML), now)
    tally = IdTally(Lead.id, [Lead.source])
    slow = sessions()
    with slow.begin():
        take_lead(slow, slow.get_one(Team, "east"), LeadIn(name="Slow", source="slow"), now, "test")
        slow.flush()  # holds the lower id, uncommitted
        _add_leads(sessions, now, ["fast"])
        with sessions() as session:
            assert tally.totals(session) == {("fast",): 1}
    slow.close()

    with sessions() as session:
        assert tally.totals(session) == {("fast",): 1, ("slow",): 1}
