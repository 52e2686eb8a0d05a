"""Helpers for the CRM tests: the sample teams with the east team's CRM wired, and the schema."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_config
from bot.teams import apply_config
from models import OutboxMessage
from tests.conftest import TEAM_TOML

SECRET_VAR = "DIBS_TEST_WEBHOOK_SECRET"
SECRET = "whsec-test-0123456789abcdef"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "webhook-event.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())


def crm_toml(*urls: str, **extra: str) -> str:
    """TEAM_TOML with `[teams.east.crm]`: the webhook URLs and their secret, and `extra` keys."""
    lines = ["", "[teams.east.crm]", f"webhooks = {json.dumps(list(urls))}"]
    if urls:
        lines.append(f'webhook_secret = "env:{SECRET_VAR}"')
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return TEAM_TOML + "\n".join(lines) + "\n"


def apply_crm(sessions: sessionmaker[Session], now: datetime, toml: str, env: dict[str, str]) -> None:
    with sessions.begin() as session:
        apply_config(session, parse_config(toml, env), now, env)


def check_schema(event: dict[str, Any]) -> None:
    """The event is what docs/webhook-event.schema.json promises (formats included)."""
    jsonschema.validate(event, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert datetime.fromisoformat(event["occurred_at"]).utcoffset() is not None  # date-time needs an offset


def rows_of(sessions: sessionmaker[Session], kind: str) -> list[OutboxMessage]:
    with sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv(SECRET_VAR, SECRET)
    return {SECRET_VAR: SECRET}
