"""`dibs doctor`: one line per problem with its fix, exit status 1 on any, against the strict stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import app
from bot import outbox
from handlers.doctor import manifest_scopes
from models import OutboxStatus, Team
from sandbox.slack_web import SlackStandIn
from tests.fixtures_slack import PRIVATE_CHANNEL, populate


def run_doctor(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str, slack: SlackStandIn
) -> tuple[int, list[str]]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-doctor")
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    code = app.main(["doctor"])
    return code, capsys.readouterr().out.splitlines()


def problems(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_a_healthy_deployment_passes_every_check(
    teams: sessionmaker[Session],
    database_url: str,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run_doctor(monkeypatch, capsys, database_url, slack)
    assert (code, problems(lines)) == (0, []), lines
    assert "ok   team east channel C0EAST (#sales-east): public, Dibs joins it at start" in lines
    assert lines[-1] == "all checks passed"
    assert not [call for call in slack.calls if call.method.startswith(("chat.", "conversations.join"))], (
        "the doctor only looks"
    )


def test_an_uninvited_private_channel_is_found_with_its_fix(
    teams: sessionmaker[Session],
    database_url: str,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with teams.begin() as session:
        session.get_one(Team, "east").mediation_channel = PRIVATE_CHANNEL
    code, lines = run_doctor(monkeypatch, capsys, database_url, slack)
    assert code == 1
    assert problems(lines) == [
        f"FAIL team east mediation_channel {PRIVATE_CHANNEL} not found: check `mediation_channel` in the team "
        "config; if it is a private channel, type /invite @Dibs in it"
    ]


def test_an_invited_private_channel_passes(
    teams: sessionmaker[Session],
    database_url: str,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack.add_channel("C0INVITED", "east-disputes-private", private=True, bot_member=True)
    with teams.begin() as session:
        session.get_one(Team, "east").mediation_channel = "C0INVITED"
    code, lines = run_doctor(monkeypatch, capsys, database_url, slack)
    assert (code, problems(lines)) == (0, [])
    assert "ok   team east mediation_channel C0INVITED (#east-disputes-private): Dibs is a member" in lines


def test_a_token_missing_a_scope_is_named(
    teams: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with SlackStandIn(scopes=manifest_scopes() - {"files:write", "channels:join"}) as slack:
        populate(slack)
        code, lines = run_doctor(monkeypatch, capsys, database_url, slack)
    assert code == 1
    assert problems(lines) == [
        "FAIL token lacks scope(s) channels:join, files:write: add them under OAuth & Permissions "
        "(or update the app from manifest.yml) and reinstall the app"
    ]


def test_a_refused_token_and_an_old_schema_are_reported(
    tmp_path: Path, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    slack.fail_next("auth.test", error="invalid_auth")
    code, lines = run_doctor(monkeypatch, capsys, f"sqlite:///{tmp_path / 'never-migrated.db'}", slack)
    assert code == 1
    assert len(problems(lines)) == 2
    assert problems(lines)[0].startswith("FAIL database schema at nothing, newest is ")
    assert problems(lines)[0].endswith(": run `dibs migrate`")
    assert problems(lines)[1] == (
        "FAIL Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token from the app's "
        "OAuth & Permissions page"
    )


def test_failed_deliveries_are_reported(
    teams: sessionmaker[Session],
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with teams.begin() as session:
        row = outbox.post(session, datetime(2026, 11, 23, tzinfo=UTC), "C0EAST", "hello")
        row.status, row.last_error = OutboxStatus.FAILED, "chat_postMessage: HTTP 200 invalid_blocks"
    code, lines = run_doctor(monkeypatch, capsys, database_url, slack)
    assert code == 1
    assert problems(lines) == [
        "FAIL 1 message(s) failed to reach Slack (last: chat_postMessage: HTTP 200 invalid_blocks): fix the "
        "cause named there; the log and /metrics (dibs_outbox_failed_messages) show each"
    ]
