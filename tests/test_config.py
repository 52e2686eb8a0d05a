"""Team config: validation by key path, idempotent apply, and what `config show` prints."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import app
from bot.config import Limits, parse_config
from bot.errors import ConfigError
from bot.teams import apply_config, effective_limits, show_config, team_for_token
from models import AuditEvent, AwayPeriod, Member, Team
from tests.conftest import TEAM_TOML

BAD_TOML = """
[teams.east]
name = "Sales East"
channel = "C0EAST"
timezone = "Mars/Olympus"
intake_token = "env:DIBS_TEST_UNSET_TOKEN"
managers = ["U0MGR1"]
reps = [{ id = "U0ALICE", weight = 0 }, { id = "U0BOB", wieght = 2 }]
colour = "red"

[teams.east.limits]
max_active_claims = "5"

[teams.west]
name = "Sales West"
channel = "C0WEST"
reps = [{ id = "U0ALICE" }]
"""


def test_bad_config_lists_every_problem_by_key_path() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD_TOML, env={})
    assert caught.value.problems == [
        "teams.east.timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)",
        "teams.east.reps[0].weight: Input should be greater than 0",
        "teams.east.reps[1].wieght: unknown key",
        "teams.east.limits.max_active_claims: Input should be a valid integer",
        "teams.east.colour: unknown key",
        "teams.east.intake_token: environment variable DIBS_TEST_UNSET_TOKEN is not set",
        "teams.west.reps[0].id: U0ALICE is already listed at teams.east.reps[0].id (one team, one role per person)",
    ]


def test_bad_toml_syntax_is_one_clear_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[teams.east\nname = 1")
    assert caught.value.problems[0].startswith("not valid TOML:")


def test_env_token_is_read_from_the_environment() -> None:
    text = '[teams.a]\nname="A"\nchannel="C0A"\nintake_token="env:TOK_A"\n'
    config = parse_config(text, env={"TOK_A": "abc"})
    assert config.teams["a"].intake_token == "env:TOK_A"


def test_two_teams_with_one_token_are_refused() -> None:
    text = (
        '[teams.a]\nname="A"\nchannel="C0A"\nintake_token="same"\n'
        '[teams.b]\nname="B"\nchannel="C0B"\nintake_token="same"\n'
    )
    with pytest.raises(ConfigError, match=r"teams\.b\.intake_token: same token as teams\.a\.intake_token"):
        parse_config(text)


def test_cli_refuses_bad_file_whole_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_TOML)
    assert app.main(["config", "apply", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "config refused, nothing applied" in err
    assert err.count("\n  teams.") == 7
    assert app.main(["config", "show"]) == 0
    assert "no teams yet" in capsys.readouterr().out


def test_apply_is_idempotent_and_audited(sessions, now) -> None:
    config = parse_config(TEAM_TOML)
    with sessions.begin() as session:
        first = apply_config(session, config, now)
    with sessions.begin() as session:
        second = apply_config(session, config, now + timedelta(hours=1))
    assert "team east: created" in first and "team east: added rep U0ALICE" in first
    assert second == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 7
        audited = session.scalars(select(AuditEvent.team_id).where(AuditEvent.action == "config.applied"))
        assert sorted(audited) == ["east", "west"]


def test_intake_token_is_stored_hashed_and_found_by_value(teams) -> None:
    with teams() as session:
        east = session.get(Team, "east")
        assert east.intake_token_hash and "east-token-123" not in east.intake_token_hash
        assert team_for_token(session, "east-token-123") is east
        assert team_for_token(session, "west-token-456") is session.get_one(Team, "west")
        assert team_for_token(session, "east-token-12") is None


def test_a_changed_file_key_replaces_the_slack_override(teams, now) -> None:
    with teams.begin() as session:
        east = session.get(Team, "east")
        east.limit_overrides = {"max_active_claims": 9, "hot_score": 70}
    changed = TEAM_TOML.replace("max_active_claims = 5", "max_active_claims = 3")
    with teams.begin() as session:
        changes = apply_config(session, parse_config(changed), now)
    assert changes == ["team east: updated limits"]
    with teams() as session:
        limits = effective_limits(session.get(Team, "east"))
        assert (limits.max_active_claims, limits.hot_score) == (3, 70)


def test_members_leave_and_return_with_the_gap_counted_as_away(teams, now) -> None:
    without_bob = TEAM_TOML.replace('{ id = "U0BOB" },', "")
    with teams.begin() as session:
        session.add(
            Member(
                team_id="east",
                slack_user_id="U0SLACKADD",
                role="rep",
                weight=1.0,
                territories=[],
                skills=[],
                source="slack",
                joined_at=now,
            )
        )
    with teams.begin() as session:
        assert apply_config(session, parse_config(without_bob), now + timedelta(days=1)) == ["team east: removed U0BOB"]
    with teams.begin() as session:
        apply_config(session, parse_config(TEAM_TOML), now + timedelta(days=3))
    with teams() as session:
        bob = session.scalar(select(Member).where(Member.slack_user_id == "U0BOB"))
        assert bob.active and bob.left_at is None
        gap = session.scalar(select(AwayPeriod).where(AwayPeriod.member_id == bob.id))
        assert (gap.starts_at, gap.ends_at) == (now + timedelta(days=1), now + timedelta(days=3))
        kept = session.scalar(select(Member).where(Member.slack_user_id == "U0SLACKADD"))
        assert kept.active, "a member added in Slack survives a config apply"


def test_show_never_prints_the_token_and_marks_overrides(teams) -> None:
    with teams.begin() as session:
        session.get(Team, "east").limit_overrides = {"hot_score": 70}
    with teams() as session:
        shown = show_config(session, "east")
    assert "east-token-123" not in shown and 'intake_token = "(set)"' in shown
    assert "hot_score = 70  # set in Slack" in shown
    assert "[teams.west]" not in shown
    assert parse_config(shown.replace('"(set)"', '"x"').replace("  # set in Slack with /dibs limits set", ""))


def test_the_documented_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parent.parent / "docs" / "teams.example.toml"
    env = {"DIBS_EAST_TOKEN": "secret", "DIBS_EAST_WEBHOOK_SECRET": "s" * 32, "DIBS_EAST_HUBSPOT_TOKEN": "pat-na1-x"}
    config = parse_config(example.read_text(), env=env)
    recommended = Limits(fair_start_seconds=300, max_share_ratio=1.02, fair_share_period="month")  # docs/fairness.md
    assert config.teams["east"].limits.model_dump() == recommended.model_dump(), "the defaults, and the three marked"
