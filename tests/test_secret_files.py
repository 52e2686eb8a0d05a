"""Secrets from files (issue 15): `NAME_FILE` names a file holding the secret, as container
platforms mount them; setting both, or a file that is not there, is one line naming the fix."""

from __future__ import annotations

import pytest

from bot.errors import SettingsError
from infra.settings import SECRET_SETTINGS, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in SECRET_SETTINGS:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-from-a-file"),
        ("SLACK_SIGNING_SECRET", "signing-from-a-file"),
        ("SLACK_APP_TOKEN", "xapp-from-a-file"),
    ],
)
def test_each_slack_secret_is_read_from_its_file(monkeypatch, tmp_path, name: str, secret: str) -> None:
    path = tmp_path / "secret"
    path.write_text(secret + "\n")  # as `echo secret > file` and kubectl leave it
    monkeypatch.setenv(f"{name}_FILE", str(path))
    value = getattr(load_settings(), name.lower())
    assert value.get_secret_value() == secret


def test_the_database_url_with_its_password_is_read_from_a_file(monkeypatch, tmp_path) -> None:
    path = tmp_path / "database_url"
    path.write_text("postgres://dibs:s3cret@db/dibs")
    monkeypatch.setenv("DATABASE_URL_FILE", str(path))
    assert load_settings().database_url == "postgresql+psycopg://dibs:s3cret@db/dibs"


def test_a_file_named_in_dotenv_is_read_too(tmp_path) -> None:
    (tmp_path / "token").write_text("xoxb-via-dotenv-file")
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN_FILE={tmp_path / 'token'}\n")
    token = load_settings().slack_bot_token
    assert token is not None and token.get_secret_value() == "xoxb-via-dotenv-file"


def test_both_set_is_an_error_naming_both(monkeypatch, tmp_path) -> None:
    (tmp_path / "token").write_text("xoxb-file")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set"):
        load_settings()


def test_both_set_across_env_and_dotenv_is_an_error_too(monkeypatch, tmp_path) -> None:
    (tmp_path / "secret").write_text("from-file")
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=from-dotenv\n")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(tmp_path / "secret"))
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET and SLACK_SIGNING_SECRET_FILE are both set"):
        load_settings()


def test_a_missing_file_is_an_error_naming_the_path(monkeypatch, tmp_path) -> None:
    missing = tmp_path / "run" / "secrets" / "slack_bot_token"
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(missing))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == f"SLACK_BOT_TOKEN_FILE: no such file: {missing}"


def test_a_secret_from_a_file_is_checked_like_one_from_the_environment(monkeypatch, tmp_path) -> None:
    (tmp_path / "token").write_text("xoxp-a-user-token")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN: must be a bot token starting with xoxb-"):
        load_settings()
