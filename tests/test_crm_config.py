"""`[teams.<slug>.crm]` in the team config: problems named by key path, secrets only by name."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_config
from bot.errors import ConfigError
from bot.teams import apply_config, show_config
from tests.conftest import TEAM_TOML


def problems(crm: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(TEAM_TOML + "\n[teams.east.crm]\n" + crm, env or {})
    return raised.value.problems


def test_a_wired_crm_is_read() -> None:
    config = parse_config(
        TEAM_TOML
        + '\n[teams.east.crm]\nwebhooks = ["https://crm.example/hooks/dibs"]\nwebhook_secret = "env:HOOK"\n'
        + 'hubspot_token = "env:HS"\nintake = "hubspot"\n',
        {"HOOK": "x" * 32, "HS": "pat-na1-123"},
    )
    crm = config.teams["east"].crm
    assert (crm.webhooks, crm.webhook_secret, crm.hubspot_token, crm.intake) == (
        ["https://crm.example/hooks/dibs"],
        "env:HOOK",
        "env:HS",
        "hubspot",
    )


def test_mistakes_are_named_by_key_path() -> None:
    assert problems('webhooks = ["https://crm.example/h"]\n') == [
        "teams.east.crm.webhook_secret: needed to sign the webhooks (env:NAME of a long random secret)"
    ]
    assert problems('webhooks = ["https://crm.example/h"]\nwebhook_secret = "env:HOOK"\n') == [
        "teams.east.crm.webhook_secret: environment variable HOOK is not set"
    ]
    literal = problems('webhooks = ["https://crm.example/h"]\nwebhook_secret = "hunter2"\n', {"HOOK": "x"})
    assert literal == [
        "teams.east.crm.webhook_secret: must name an environment variable as env:NAME (secrets stay out of files)"
    ]  # and never repeats the secret
    assert problems('webhooks = ["ftp://crm.example/h"]\nwebhook_secret = "env:H"\n', {"H": "x"}) == [
        "teams.east.crm.webhooks[0]: 'ftp://crm.example/h' is not an http(s) URL"
    ]
    assert problems('intake = "pipedrive"\n')[0].startswith("teams.east.crm.intake: Input should be 'generic'")


def test_config_show_gives_the_crm_table_back_naming_secrets_only_by_variable(
    sessions: sessionmaker[Session], now: datetime
) -> None:
    env = {"HOOK": "hook-secret-value", "HS": "pat-na1-secret"}
    crm = (
        'intake = "hubspot"\nwebhooks = ["https://crm.example/h"]\nwebhook_secret = "env:HOOK"\n'
        'hubspot_token = "env:HS"\nfields = { territory = "properties.region", name = ["a", "b"] }\n'
    )
    with sessions.begin() as session:
        apply_config(session, parse_config(TEAM_TOML + "\n[teams.east.crm]\n" + crm, env), now, env)
    with sessions() as session:
        shown = show_config(session, "east")
    assert shown.endswith("\n[teams.east.crm]\n" + crm.rstrip("\n"))
    assert "hook-secret-value" not in shown and "pat-na1-secret" not in shown
    assert parse_config(shown, env).teams["east"].crm.webhooks == ["https://crm.example/h"]
