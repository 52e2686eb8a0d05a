"""`dibs simulate`: the policies played through the real services on a world small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import app
from bot.config import Limits
from bot.simulation import simulate, standard_policies
from bot.world import SimLead, SimRep, World, WorldOptions, build_world
from infra.db import scratch_sessions

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def _rep(uid: str) -> SimRep:
    return SimRep(uid, 1.0, (2.0, 2.0), 1.0, (5.0, 5.0), (), None)


def _lead(index: int) -> SimLead:
    """Lead `index` arrives at 10:00 + index hours; Alice clicks after 2 s, Bob after 10 s."""
    at = MONDAY + timedelta(hours=10 + index)
    clicks = (("U0ALICE", 2.0), ("U0BOB", 10.0))
    return SimLead(index, at, 50, 1000, f"account{index}.com", clicks, 0.0, 30.0, False)


def hand_world() -> World:
    """Two reps of weight 1, the same hours, never away; four leads both click, Alice always first."""
    options = WorldOptions(reps=2, days=1, seed=7, start=MONDAY)
    return World(options, (_rep("U0ALICE"), _rep("U0BOB")), tuple(_lead(i) for i in range(4)))


def test_the_policies_on_a_hand_checked_world() -> None:
    """Fair share: 4 leads × 1/2 = 2 each.

    First click: Alice's click always lands first and the button is gone before Bob's, so Alice
    4, Bob 0: ratios (2, 0). Gini = Σ|xᵢ−xⱼ| / (2n·Σx) = (2 + 2) / (2·2·2) = 0.5;
    Jain = (Σx)² / (n·Σx²) = 4 / (2·4) = 0.5; worst ratio 0; every lead chosen by its owner.
    Rotation: nobody clicks; round robin alternates Alice, Bob, Alice, Bob: ratios (1, 1), Gini 0,
    Jain 1, no lead rep-chosen.
    Dibs (30 s fair start): both click inside every window; the claimant furthest below fair share
    wins (a tie by the seeded draw), so the leads alternate too: Gini 0, yet every lead rep-chosen.
    """
    first, rotation, dibs = simulate(hand_world(), standard_policies(Limits()), scratch_sessions)
    assert (first.gini, first.jain, first.worst_ratio, first.worst_rep) == (0.5, 0.5, 0.0, "U0BOB")
    assert [(r.rep, r.credited, r.fair_share) for r in first.reps] == [("U0BOB", 0.0, 2.0), ("U0ALICE", 4.0, 2.0)]
    assert first.rep_chosen == 1.0 and first.flags == {"hoarding": 1, "starved": 1}
    assert (rotation.gini, rotation.jain, rotation.worst_ratio, rotation.rep_chosen) == (0.0, 1.0, 1.0, 0.0)
    assert (dibs.gini, dibs.jain, dibs.rep_chosen, dibs.owned) == (0.0, 1.0, 1.0, 4)
    for report in (first, rotation, dibs):
        assert (report.leads, report.sla_misses, report.disputes) == (4, 0, 0)
        assert report.first_contact_minutes is not None


def test_a_seeded_world_repeats_exactly_and_differs_by_seed() -> None:
    options = WorldOptions(reps=6, days=3, seed=3)
    assert build_world(options) == build_world(options)
    assert build_world(options).leads != build_world(WorldOptions(reps=6, days=3, seed=4)).leads
    world = build_world(options)
    policies = standard_policies(Limits(fair_start_seconds=60))[2:]
    assert simulate(world, policies, scratch_sessions) == simulate(world, policies, scratch_sessions)


def test_simulate_prints_the_table_json_and_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "capped.toml"
    config.write_text('[teams.s]\nname = "S"\nchannel = "C0S"\n[teams.s.limits]\nmax_share_ratio = 1.2\n')
    chart = tmp_path / "sim.png"
    args = ["simulate", "--reps", "4", "--days", "2", "--config", str(config), "--chart", str(chart)]
    assert app.main(args) == 0
    out, err = capsys.readouterr()
    assert "simulating" in err, "progress goes to stderr"
    assert out.splitlines()[2].split()[:2] == ["policy", "Gini"]
    assert [line.split("  ")[0] for line in out.splitlines()[4:8]] == [
        "first click",
        "rotation",
        "dibs",
        "capped.toml (s)",
    ]
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert app.main(["simulate", "--reps", "3", "--days", "1", "--json"]) == 0
    assert '"policy": "rotation"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--reps", "0"], "'0' is not a whole number from 1 to 5000"),
        (["--days", "-3"], "'-3' is not a whole number from 1 to 366"),
        (["--slow-contact", "2"], "'2' is not a share from 0 to 1"),
    ],
)
def test_bad_world_options_are_refused_with_the_range(
    args: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        app.main(["simulate", *args])
    assert exited.value.code == 2 and problem in capsys.readouterr().err
