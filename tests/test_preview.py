"""`dibs preview`: a team's recorded week replayed under its current limits and a proposed config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy.orm import Session, sessionmaker

import app
from bot import scheduler
from bot.replay import recorded_world
from models import Team
from tests.test_claims import claim, new_lead, owner_of, set_limits

TUESDAY = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York, the week after the reps joined
NEXT_WEEK = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PROPOSED = '[teams.east]\nname = "Sales East"\nchannel = "C0EAST"\n[teams.east.limits]\nfair_start_seconds = 0\n'


@pytest.fixture
def recorded(teams: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A week of east with a 30 s fair start: four leads 5 minutes apart, Alice clicks each after 2 s,
    Bob after 10 s; the draws alternate them, so each holds two."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    set_limits(teams, fair_start_seconds=30)
    leads = []
    for hour in range(4):
        at = TUESDAY + timedelta(minutes=5 * hour)
        with freeze_time(at):
            leads.append(new_lead(teams, f"Lead {hour}"))
        with freeze_time(at + timedelta(seconds=2)):
            claim(teams, "U0ALICE", leads[-1])
        with freeze_time(at + timedelta(seconds=10)):
            claim(teams, "U0BOB", leads[-1])
        with freeze_time(at + timedelta(seconds=30)):
            scheduler.run_due(teams, datetime.now(UTC))
    assert sorted(owner_of(teams, lead) or "" for lead in leads) == ["U0ALICE", "U0ALICE", "U0BOB", "U0BOB"]
    return leads


def test_the_recorded_week_becomes_a_world_with_every_click(teams, recorded: list[int]) -> None:
    with teams() as session:
        world = recorded_world(session, session.get_one(Team, "east"), 1, NEXT_WEEK)
    assert [lead.at for lead in world.leads] == [TUESDAY + timedelta(minutes=5 * m) for m in range(4)]
    assert {lead.clicks for lead in world.leads} == {(("U0ALICE", 2.0), ("U0BOB", 10.0))}
    assert sorted(rep.uid for rep in world.reps) == ["U0ALICE", "U0BOB", "U0CAROL"]


def test_preview_shows_what_first_click_would_have_done(
    recorded: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fair shares of the 4 leads, by weight (Alice 1, Bob 1, Carol 2, all there all week): 1, 1, 2.

    Current (30 s fair start): Alice 2, Bob 2, Carol 0 → ratios 2, 2, 0;
    Gini = Σ|xᵢ−xⱼ| / (2n·Σx) = (0 + 2 + 2) · 2 / (2·3·4) = 1/3.
    Proposed (first click): Alice's click is always first, so Alice 4 → ratios 4, 0, 0;
    Gini = (4 + 4 + 0) · 2 / (2·3·4) = 2/3.
    """
    proposed = tmp_path / "first-click.toml"
    proposed.write_text(PROPOSED)
    with freeze_time(NEXT_WEEK):
        assert app.main(["preview", "--config", str(proposed), "--team", "east", "--weeks", "1"]) == 0
    out, err = capsys.readouterr()
    assert "replaying" in err
    assert "fair_start_seconds: 30 → 0" in out
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines() if line.startswith(("current", "proposed"))}
    assert rows["current"][1] == "0.333" and rows["current"][6] == "100%"
    assert rows["proposed (first-click.toml (east))"][3:5] == ["0.667", "0.333"], "Gini, then Jain 16 / (3·16)"
