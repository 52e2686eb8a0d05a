"""Dibs gets into its teams' channels: public ones it joins at start, private ones need /invite."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import app
from bot.outbox import Kind
from models import OutboxMessage, OutboxStatus
from sandbox.clock import SteppingClock
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver, eventually, runtime_settings
from tests.fixtures_slack import PRIVATE_CHANNEL

PRIVATE_FIX = (
    f"Dibs is not in private channel {PRIVATE_CHANNEL} (`mediation_channel` of team east): "
    "type /invite @Dibs in that channel"
)


def test_at_start_the_bot_joins_every_teams_channel_and_mediation_channel(dibs: AppDriver) -> None:
    assert sorted(c.args["channel"] for c in dibs.slack.calls_to("conversations.join")) == [
        "C0EAST",
        "C0EASTMED",
        "C0WEST",
    ]
    assert all(dibs.slack.bot_is_member(channel) for channel in ("C0EAST", "C0EASTMED", "C0WEST"))


@pytest.fixture
def private_mediation(tmp_path: Path) -> Path:
    """TEAM_TOML with east's disputes in a private channel Dibs was never invited to."""
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML.replace('mediation_channel = "C0EASTMED"', f'mediation_channel = "{PRIVATE_CHANNEL}"'))
    return config


def test_an_uninvited_private_channel_is_logged_with_its_fix_and_start_goes_on(
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    clock: SteppingClock,
    private_mediation: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dibs"):
        runtime = app.build_runtime(runtime_settings(database_url, slack, private_mediation), clock=clock)
    runtime.engine.dispose()
    assert [r.getMessage() for r in caplog.records if r.name == "dibs"] == [PRIVATE_FIX]
    assert slack.bot_is_member("C0EAST") and slack.bot_is_member("C0WEST"), "the other channels were joined"
    assert not slack.bot_is_member(PRIVATE_CHANNEL)


def test_an_invited_private_channel_needs_no_fix(
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    clock: SteppingClock,
    private_mediation: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack.add_channel(PRIVATE_CHANNEL, "leadership", private=True, members=["U0MGR1"], bot_member=True)
    with caplog.at_level(logging.WARNING, logger="dibs"):
        app.build_runtime(runtime_settings(database_url, slack, private_mediation), clock=clock).engine.dispose()
    assert [r for r in caplog.records if r.name == "dibs"] == []


@pytest.fixture
def cli(database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    yield


def test_config_apply_joins_and_reports_a_private_channel_with_its_fix(
    cli: None,
    slack: SlackStandIn,
    private_mediation: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    assert app.main(["config", "apply", str(private_mediation)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == PRIVATE_FIX
    assert slack.bot_is_member("C0EAST")


def test_config_apply_without_a_token_says_channels_are_joined_at_start(
    cli: None, slack: SlackStandIn, private_mediation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert app.main(["config", "apply", str(private_mediation)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "SLACK_BOT_TOKEN is not set: Dibs joins the teams' channels when `dibs serve` starts"
    )
    assert slack.calls == []


def test_the_digest_chart_reaches_the_channel_the_bot_joined(dibs: AppDriver) -> None:
    assert dibs.reply_text("digest post 2026-W47", user="U0MGR1").startswith("Posting the digest for 2026-W47")
    [shared] = dibs.slack.wait_for("files.completeUploadExternal")
    assert (shared.ok, shared.args["channel_id"]) == (True, "C0EAST")
    assert next(iter(dibs.slack.uploads.values())).startswith(b"\x89PNG")


def test_a_chart_for_an_uninvited_private_channel_fails_visibly(
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    clock: SteppingClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML.replace('channel = "C0EAST"', f'channel = "{PRIVATE_CHANNEL}"'))
    with caplog.at_level(logging.WARNING):
        runtime = app.build_runtime(runtime_settings(database_url, slack, config), clock=clock)
        runtime.start()
        try:
            AppDriver(f"http://127.0.0.1:{runtime.http.port}", slack, clock, runtime).reply_text(
                "digest post 2026-W47", user="U0MGR1"
            )

            def settled() -> bool:
                with runtime.sessions() as session:
                    kinds = (Kind.DIGEST, Kind.DIGEST_CHART)
                    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(kinds))).all()
                    return len(rows) == 2 and all(row.status == OutboxStatus.FAILED for row in rows)

            assert eventually(settled, timeout=10)
        finally:
            runtime.stop()
    logged = [r.getMessage() for r in caplog.records]
    fix = f"Dibs is not in private channel {PRIVATE_CHANNEL} (`channel` of team east): type /invite @Dibs"
    assert any(line.startswith(fix) for line in logged), "the fix is in the log from the start"
    assert any("files_upload_v2" in line and "channel_not_found" in line for line in logged)
    assert not [c for c in slack.calls_to("files.completeUploadExternal") if c.ok]
