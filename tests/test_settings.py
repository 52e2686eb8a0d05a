"""Settings: defaults, URL forms people paste, and one clear line for each bad value."""

from __future__ import annotations

import pytest

from bot.errors import SettingsError
from infra.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in (
        "DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "DIBS_CONFIG",
        "HOST",
        "PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_design() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///dibs.db"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.socket_mode


@pytest.mark.parametrize(
    ("pasted", "used"),
    [
        ("postgres://u:p@db/dibs", "postgresql+psycopg://u:p@db/dibs"),
        ("postgresql://u@db:5433/dibs", "postgresql+psycopg://u@db:5433/dibs"),
        ("sqlite:////var/lib/dibs.db", "sqlite:////var/lib/dibs.db"),
    ],
)
def test_database_urls_as_people_paste_them(monkeypatch, pasted: str, used: str) -> None:
    monkeypatch.setenv("DATABASE_URL", pasted)
    assert load_settings().database_url == used


def test_dotenv_file_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nPORT=4000\n")
    settings = load_settings()
    assert settings.port == 4000
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-dotenv"
    assert "xoxb-from-dotenv" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PORT", "eighty", "PORT: Input should be a valid integer"),
        ("PORT", "70000", "PORT: Input should be less than or equal to 65535"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL: must look like postgresql://"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "SLACK_BOT_TOKEN: must be a bot token starting with xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-wrong", "SLACK_APP_TOKEN: must be an app-level token"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: must be an http(s) URL"),
        ("DIBS_CONFIG", "/nowhere/teams.toml", "DIBS_CONFIG: no such file: /nowhere/teams.toml"),
    ],
)
def test_a_bad_value_is_one_line_naming_it(monkeypatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_serve_needs_a_token_and_in_http_mode_a_signing_secret(monkeypatch) -> None:
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN is required to talk to Slack"):
        load_settings().require_slack()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(SettingsError, match=r"^SLACK_SIGNING_SECRET is required in HTTP mode"):
        load_settings().require_slack()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    load_settings().require_slack()
