"""End-to-end fixtures: the real app over HTTP, Slack's side played by the stand-in."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine

from app import Role, Runtime, build_runtime
from handlers.views import CLAIM_ACTION
from infra.settings import Settings
from sandbox.block_kit import COMMAND, VIEW_SUBMISSION, app_answer_problems
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
    answer_problems: list[str] = field(default_factory=list)  # in the app's own answers to Slack

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
        response = self.request("POST", "/slack/events", body, headers)
        if response.status == 200 and content_type == "application/x-www-form-urlencoded":
            self.answer_problems += self._answer_problems(dict(parse_qsl(body.decode())), response.body)
        return response

    def _answer_problems(self, form: dict[str, str], answer: bytes) -> list[str]:
        """Slack's rules applied to the app's answer to a slash command or a modal submission."""
        if "command" in form:
            return app_answer_problems(COMMAND, answer)
        payload = json.loads(form.get("payload") or "{}")
        if payload.get("type") != "view_submission":
            return []
        return app_answer_problems(VIEW_SUBMISSION, answer, self._as_submitted(payload["view"]))

    def _as_submitted(self, view: dict[str, Any]) -> dict[str, Any]:
        """The submitted view with the blocks of the modal the app last opened under its callback_id."""
        opened = [
            call.args["view"]
            for call in self.slack.calls
            if call.method in ("views.open", "views.push", "views.update")
            and call.ok
            and call.args["view"].get("callback_id") == view.get("callback_id")
        ]
        return {**view, "blocks": opened[-1].get("blocks", [])} if opened else view

    def command(self, text: str, user: str = "U0ALICE", channel: str = "C0EAST") -> Response:
        """`user` types `/dibs text` in `channel`, with a trigger_id and response_url Slack issued."""
        body = slash_command_body(
            text,
            user_id=user,
            channel_id=channel,
            trigger_id=self.slack.new_trigger_id(),
            response_url=self.slack.new_response_url(channel, user),
        )
        return self.slack_request(body)

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

    def answers_to(self, user: str, count: int = 1, timeout: float = 5.0) -> list[str]:
        """The private answers `user` got to clicks, by response_url, once `count` arrived."""
        deadline = time.monotonic() + timeout
        while len(answers := [c.args["text"] for c in self.slack.responses_to(user)]) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{user} got {answers} by response_url, expected {count} answer(s)")
            time.sleep(0.05)
        return answers

    def click(self, user: str, action_id: str, value: str, channel: str = "C0EAST") -> Response:
        """`user` clicks a button on a message in `channel`."""
        body = block_actions_body(
            user,
            action_id,
            value,
            channel_id=channel,
            trigger_id=self.slack.new_trigger_id(),
            response_url=self.slack.new_response_url(channel, user),
        )
        return self.slack_request(body)

    def click_claim(self, lead_ref: str, user: str, channel: str = "C0EAST") -> Response:
        return self.click(user, CLAIM_ACTION, lead_ref.removeprefix("L-"), channel)

    def submit_view(self, user: str, callback_id: str, values: dict[str, Any], private_metadata: str = "") -> Response:
        body = view_submission_body(user, callback_id, values, private_metadata, trigger_id=self.slack.new_trigger_id())
        return self.slack_request(body)

    def post_lead(self, fields: dict[str, Any] | bytes, token: str | None = EAST_TOKEN) -> Response:
        body = fields if isinstance(fields, bytes) else json.dumps(fields).encode()
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", "/api/leads", body, headers)


def runtime_settings(database_url: str, slack: SlackStandIn, config: Path, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        host="127.0.0.1",
        port=0,
        dibs_config=config,
        **extra,
    )


@contextmanager
def running_dibs(
    settings: Settings, slack: SlackStandIn, clock: SteppingClock, role: Role = Role.ALL
) -> Iterator[AppDriver]:
    """Dibs built from `settings` and started (HTTP, worker, scheduler, Socket Mode if set, as
    `role` has them); stopped after."""
    runtime = build_runtime(settings, clock=clock, role=role)
    runtime.start()
    try:
        yield AppDriver(f"http://127.0.0.1:{runtime.http.port}", slack, clock, runtime)
    finally:
        runtime.stop()


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
    with running_dibs(runtime_settings(database_url, slack, config), slack, clock) as driver:
        yield driver
    if driver.answer_problems:
        pytest.fail("Answers to Slack that Slack would object to:\n  " + "\n  ".join(driver.answer_problems))
