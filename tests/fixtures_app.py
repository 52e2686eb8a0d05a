"""End-to-end fixtures: the real app over HTTP, Slack's side played by the stand-in."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from app import Runtime, build_runtime
from bot.settings import Settings
from handlers.views import CLAIM_ACTION
from sandbox.clock import SteppingClock
from sandbox.signing import (
    block_actions_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML

SIGNING_SECRET = "test-signing-secret"
EAST_TOKEN = "east-token-123"


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll until `check` holds (the worker settles rows just after Slack answers)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@dataclass
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class AppDriver:
    """Talks to a running Dibs the way Slack and a CRM would."""

    base_url: str
    slack: SlackStandIn
    clock: SteppingClock
    runtime: Runtime

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return Response(resp.status, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read())

    def slack_request(
        self,
        body: bytes,
        *,
        signed: bool = True,
        timestamp: int | None = None,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> Response:
        headers = {"Content-Type": content_type}
        if signed:
            headers |= signed_headers(body, SIGNING_SECRET, timestamp, content_type=content_type)
        return self.request("POST", "/slack/events", body, headers)

    def command(
        self, text: str, user: str = "U0ALICE", channel: str = "C0EAST", trigger_id: str | None = None
    ) -> Response:
        # a fresh trigger_id unless given, as Slack sends: the same body twice is a replay
        return self.slack_request(slash_command_body(text, user_id=user, channel_id=channel, trigger_id=trigger_id))

    def reply_text(self, text: str, user: str = "U0ALICE", channel: str = "C0EAST") -> str:
        """The ephemeral answer to a slash command, as the user reads it."""
        response = self.command(text, user, channel)
        assert response.status == 200, response.text
        return response.json()["text"]

    def message_to(self, channel: str, containing: str, timeout: float = 5.0) -> str:
        """Wait for a chat.postMessage to `channel` (a user id for a DM) whose text has `containing`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.slack.calls_to("chat.postMessage"):
                if call.ok and call.args.get("channel") == channel and containing in call.args.get("text", ""):
                    return call.args["text"]
            time.sleep(0.05)
        seen = [(c.args.get("channel"), c.args.get("text", "")[:80]) for c in self.slack.calls_to("chat.postMessage")]
        raise AssertionError(f"no message to {channel} containing {containing!r}; messages were {seen}")

    def click_claim(self, lead_ref: str, user: str, channel: str = "C0EAST") -> Response:
        lead_id = lead_ref.removeprefix("L-")
        return self.slack_request(block_actions_body(user, CLAIM_ACTION, lead_id, channel_id=channel))

    def submit_view(self, user: str, callback_id: str, values: dict[str, Any], private_metadata: str = "") -> Response:
        return self.slack_request(view_submission_body(user, callback_id, values, private_metadata))

    def post_lead(self, fields: dict[str, Any] | bytes, token: str | None = EAST_TOKEN) -> Response:
        body = fields if isinstance(fields, bytes) else json.dumps(fields).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", "/api/leads", body, headers)


def runtime_settings(database_url: str, slack: SlackStandIn, config: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        host="127.0.0.1",
        port=0,
        dibs_config=config,
    )


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # a Monday, 10:00 in New York


@pytest.fixture
def dibs(
    engine: Engine, database_url: str, slack: SlackStandIn, clock: SteppingClock, tmp_path: Path
) -> Iterator[AppDriver]:
    """Dibs serving on a free port with the sample teams, its worker and scheduler running."""
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    runtime = build_runtime(runtime_settings(database_url, slack, config), clock=clock)
    runtime.start()
    try:
        yield AppDriver(f"http://127.0.0.1:{runtime.http.port}", slack, clock, runtime)
    finally:
        runtime.stop()
