"""Start-up failures (issue 10): each is one line on stderr, no traceback; a Slack outage at
start is waited out and said as such, not reported as a refused token."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from slack_sdk import WebClient

import app
from bot.errors import SettingsError
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a .env, and no Dibs settings from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DIBS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_config_file_that_is_not_utf8(clean_env: Path, database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    config = clean_env / "teams.toml"
    config.write_bytes('[teams.east]\nname = "Ventes Équipe"\n'.encode("latin-1"))
    assert app.main(["config", "apply", str(config)]) == 2
    assert one_line(capsys) == f"dibs: {config}: not UTF-8 (byte 28); save it as UTF-8"


def test_a_dotenv_that_is_not_utf8(clean_env: Path, capsys) -> None:
    (clean_env / ".env").write_bytes("DATABASE_URL=sqlite:///caf\xe9.db\n".encode("latin-1"))
    assert app.main(["migrate"]) == 2
    assert one_line(capsys) == "dibs: .env: not UTF-8 (byte 26); save it as UTF-8"


def test_a_sqlite_file_in_a_missing_folder(clean_env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env}/no/such/folder/dibs.db")
    assert app.main(["migrate"]) == 2
    assert one_line(capsys) == "dibs: cannot use the database (unable to open database file); check DATABASE_URL"


def test_a_postgresql_that_refuses_connections(clean_env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/dibs")
    assert app.main(["import", "leads.csv", "--team", "east"]) == 2
    assert one_line(capsys).startswith("dibs: cannot use the database (connection failed: connection to server at")


def test_the_real_command_prints_one_line_for_a_missing_database(clean_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{clean_env}/missing/dibs.db"
    dibs = Path(sys.executable).with_name("dibs")
    done = subprocess.run([dibs, "migrate"], cwd=clean_env, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (
        2,
        "dibs: cannot use the database (unable to open database file); check DATABASE_URL\n",
    )


def serve_env(monkeypatch: pytest.MonkeyPatch, database_url: str, slack: SlackStandIn, host: str, port: int) -> None:
    for name, value in {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "HOST": host,
        "PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)


def test_a_port_in_use(clean_env: Path, database_url: str, slack: SlackStandIn, monkeypatch, capsys) -> None:
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        serve_env(monkeypatch, database_url, slack, "127.0.0.1", port)
        assert app.main(["serve"]) == 2
    assert one_line(capsys) == (
        f"dibs: cannot listen on 127.0.0.1:{port} (Address already in use): set HOST and PORT to a free local address"
    )


def test_a_host_that_does_not_resolve(clean_env: Path, database_url: str, slack: SlackStandIn, monkeypatch, capsys):
    serve_env(monkeypatch, database_url, slack, "no-such-host.invalid", 0)
    assert app.main(["serve"]) == 2
    assert one_line(capsys) == (
        "dibs: cannot listen on no-such-host.invalid:0 (Name or service not known): "
        "set HOST and PORT to a free local address"
    )


def test_a_slack_outage_at_start_is_waited_out(slack: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    slack.fail_next("auth.test", status=500, times=2)
    slept: list[float] = []
    caplog.set_level(logging.WARNING)
    identity = app.wait_for_slack(WebClient(token="xoxb-test", base_url=slack.api_url), sleep=slept.append)
    assert identity.bot_user_id and slept == [1.0, 2.0]
    assert [r.getMessage() for r in caplog.records if r.name == "dibs"] == [
        "Slack unreachable (HTTP 500), retrying in 1 s",
        "Slack unreachable (HTTP 500), retrying in 2 s",
    ]


def test_no_connection_to_slack_at_start_is_waited_out(caplog: pytest.LogCaptureFixture) -> None:
    with closing(socket.socket()) as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing listens there
    slept: list[float] = []

    def give_up_after_three(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            raise KeyboardInterrupt

    caplog.set_level(logging.WARNING)
    with pytest.raises(KeyboardInterrupt):
        app.wait_for_slack(WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{port}/api/"), give_up_after_three)
    assert slept == [1.0, 2.0, 4.0]
    ours = [r.getMessage() for r in caplog.records if r.name == "dibs"]
    assert len(ours) == 3 and all(m.startswith("Slack unreachable (http://127.0.0.1:") for m in ours), ours


def test_a_refused_token_still_stops_start_up(slack: SlackStandIn) -> None:
    slack.fail_next("auth.test", error="invalid_auth")
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN was refused by Slack \\(invalid_auth\\)"):
        app.wait_for_slack(WebClient(token="xoxb-test", base_url=slack.api_url), sleep=lambda _: None)
