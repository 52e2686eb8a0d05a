"""Process settings from the environment and `.env` (DESIGN §2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.errors import SettingsError
from infra.db import normalize_database_url
from infra.logs import REDACT
from infra.secret_files import secrets_from_files

# Settings that may hold a secret; each can also be read from the file `NAME_FILE` names.
SECRET_SETTINGS = ("database_url", "slack_bot_token", "slack_signing_secret", "slack_app_token")
ENV_FILE = ".env"


class Settings(BaseSettings):
    """Every environment variable Dibs reads; names match DESIGN §2."""

    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", case_sensitive=False)

    database_url: str = "sqlite:///dibs.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    hubspot_api_url: str = "https://api.hubapi.com"  # the owner sync's HubSpot (a stand-in in tests)
    dibs_config: Path | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port
    log_format: Literal["json", "text"] = "text"  # json for a log pipeline, one object per line

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("dibs_config")
    @classmethod
    def _config_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _never_logged(self) -> Settings:
        """The secrets read are taken out of every log line from now on."""
        for secret in (self.slack_bot_token, self.slack_signing_secret, self.slack_app_token):
            REDACT.register(secret.get_secret_value() if secret else None)
        REDACT.register(make_url(self.database_url).password)
        return self

    @property
    def socket_mode(self) -> bool:
        """Slack traffic comes over Socket Mode when an app token is set."""
        return self.slack_app_token is not None

    def require_bot_token(self) -> None:
        """Anything that sends to Slack needs the bot token."""
        if self.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is required to talk to Slack: set it to the xoxb- token")

    def require_slack(self) -> None:
        """Check what `dibs serve` needs beyond the defaults."""
        self.require_bot_token()
        if not self.socket_mode and self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is required in HTTP mode: copy it from the app's Basic "
                "Information page (or set SLACK_APP_TOKEN for Socket Mode)"
            )


def load_settings(**overrides: Any) -> Settings:
    """Read settings (a secret from its `NAME_FILE` where that is set), turning the first
    validation problem into one readable line."""
    try:
        dotenv = dotenv_values(ENV_FILE) if Path(ENV_FILE).is_file() else {}
        from_files = secrets_from_files(SECRET_SETTINGS, [os.environ, dotenv])
        return Settings(**(from_files | overrides))
    except UnicodeDecodeError as exc:
        raise SettingsError(f".env: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
