"""`dibs doctor`: checks a deployment the way Slack and the database will see it.

Each check yields findings; a problem names its fix in the same line. Nothing is changed:
the doctor migrates nothing, joins nothing and posts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from handlers.channels import team_channels
from infra.db import alembic_config
from models import OutboxMessage, OutboxStatus

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


@dataclass(frozen=True)
class Finding:
    """One line of the report: a passed check, or a problem with its fix."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.text}"


def manifest_scopes(path: Path = MANIFEST) -> set[str]:
    """The bot scopes `manifest.yml` asks for: what the code needs."""
    return set(yaml.safe_load(path.read_text(encoding="utf-8"))["oauth_config"]["scopes"]["bot"])


def check_database(engine: Engine) -> Iterator[Finding]:
    """The database answers and its schema is at the newest revision."""
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        yield Finding(False, f"database unreachable ({reason}): check DATABASE_URL and that the server runs")
        return
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        yield Finding(False, f"database schema at {current or 'nothing'}, newest is {head}: run `dibs migrate`")
    else:
        yield Finding(True, f"database reachable, schema at the newest revision ({head})")


def check_slack(client: WebClient, sessions: sessionmaker[Session] | None) -> Iterator[Finding]:
    """The token works, carries the manifest's scopes, and every team channel can be reached."""
    if client.token is None:
        yield Finding(False, "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) into it")
        return
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error")
        yield Finding(
            False,
            f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token from the "
            "app's OAuth & Permissions page",
        )
        return
    except OSError as exc:
        yield Finding(False, f"Slack unreachable at {client.base_url} ({exc}): check the network or SLACK_API_URL")
        return
    yield Finding(True, f"token works: bot @{identity.get('user')} in {identity.get('team')}")
    yield from _check_scopes(identity.headers)
    if sessions is not None:
        for channel, team_id, key in team_channels(sessions):
            yield from _check_channel(client, team_id, key, channel)


def _check_scopes(headers: dict[str, str]) -> Iterator[Finding]:
    granted_header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if granted_header is None:
        yield Finding(False, "Slack did not say which scopes the token has: check the token is a bot token")
        return
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = sorted(manifest_scopes() - granted)
    if missing:
        yield Finding(
            False,
            f"token lacks scope(s) {', '.join(missing)}: add them under OAuth & Permissions "
            "(or update the app from manifest.yml) and reinstall the app",
        )
    else:
        yield Finding(True, "token has every scope manifest.yml asks for")


def _check_channel(client: WebClient, team_id: str, key: str, channel_id: str) -> Iterator[Finding]:
    where = f"team {team_id} {key} {channel_id}"
    try:
        channel = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == "channel_not_found":
            yield Finding(
                False,
                f"{where} not found: check `{key}` in the team config; if it is a private channel, "
                "type /invite @Dibs in it",
            )
        else:
            yield Finding(False, f"{where}: Slack answered {error}: see `dibs doctor` scope findings above")
        return
    name = f"#{channel.get('name', channel_id)}"
    if channel.get("is_archived"):
        yield Finding(False, f"{where} ({name}) is archived: unarchive it or change `{key}` in the team config")
    elif channel.get("is_member"):
        yield Finding(True, f"{where} ({name}): Dibs is a member")
    elif channel.get("is_private"):
        yield Finding(False, f"{where} ({name}) is private and Dibs is not in it: type /invite @Dibs in {name}")
    else:
        yield Finding(True, f"{where} ({name}): public, Dibs joins it at start")


def check_deliveries(sessions: sessionmaker[Session]) -> Iterator[Finding]:
    """Messages Slack never took stay visible until someone looks."""
    with sessions() as session:
        failed = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        )
        last = session.scalar(
            select(OutboxMessage.last_error)
            .where(OutboxMessage.status == OutboxStatus.FAILED)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    if failed:
        yield Finding(
            False,
            f"{failed} message(s) failed to reach Slack (last: {last}): fix the cause named there; "
            "the log and /metrics (dibs_outbox_failed_messages) show each",
        )
    else:
        yield Finding(True, "no failed deliveries")
