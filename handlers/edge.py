"""The door of `/slack/events`: size, signature and replay are checked on the raw bytes,
before bolt reads or parses anything (a WSGI middleware around the Flask app).

- Size: Slack caps a view at 250 kB, and the largest request our own views can produce (the
  lead form, every input at its `max_length` in characters Slack escapes as surrogate pairs) is
  under 100 kB form-encoded, so 256 KiB refuses nothing Slack sends us. Content-Length is
  checked before reading, and no more than the cap is ever read.
- Signature: `slack_sdk`'s SignatureVerifier (constant-time compare); a missing, malformed or
  stale timestamp or signature is a 401. Bolt's own check still runs after ours.
- Replays: a signed form body (slash command, click, modal) is taken once. Its hash is kept in
  `seen_events` for the signature window, so a copy replayed within it, to any replica, changes
  nothing. Events API deliveries (JSON) are left to bolt: Slack retries them legitimately and
  they are de-duplicated by `event_id`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from handlers.intake_routes import MAX_BODY_BYTES as WEBHOOK_MAX_BODY
from handlers.outage import OUTAGE, slack_answer
from infra.db import database_unavailable
from models import REQUEST_DIGEST_PREFIX, SeenEvent

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
SLACK_MAX_BODY = 256 * 1024
LARGEST_BODY = max(SLACK_MAX_BODY, WEBHOOK_MAX_BODY)  # waitress refuses anything larger unread
REPLAY_WINDOW = timedelta(minutes=5)  # Slack's: an older signature is refused anyway
REPLAY_ANSWER = "Dibs already handled this exact request; nothing was done again."

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ReplayCache:
    """Request bodies seen in the last REPLAY_WINDOW, kept in the database for every replica."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._engine = engine
        self._now = now
        self._next_sweep = datetime.min.replace(tzinfo=UTC)

    def first_time(self, body: bytes) -> bool:
        """Record `body`; False when it was recorded before (a replay)."""
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
        now = self._now()
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(SeenEvent).values(event_id=REQUEST_DIGEST_PREFIX + digest, seen_at=now))
        except IntegrityError:
            return False
        if now >= self._next_sweep:
            self._forget(now)
            self._next_sweep = now + REPLAY_WINDOW
        return True

    def _forget(self, now: datetime) -> None:
        """Drop digests past the replay window (Slack event ids are the scheduler's to forget)."""
        with self._engine.begin() as connection:
            connection.execute(
                delete(SeenEvent).where(
                    SeenEvent.seen_at < now - 2 * REPLAY_WINDOW,  # ix_seen_events_seen_at
                    SeenEvent.event_id.startswith(REQUEST_DIGEST_PREFIX),
                )
            )


class SlackDoor:
    """WSGI middleware guarding `/slack/events`; every other path passes straight through."""

    def __init__(self, app: WsgiApp, verifier: SignatureVerifier | None, replays: ReplayCache | None):
        self._app = app
        self._verifier = verifier
        self._replays = replays

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SLACK_PATH or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        try:
            body = read_body(environ, SLACK_MAX_BODY)
        except ValueError:
            return _answer(start_response, 400, {"error": "Content-Length is not a number"})
        if body is None:
            return _answer(start_response, 413, {"error": f"request body larger than {SLACK_MAX_BODY // 1024} KiB"})
        if self._verifier is not None and not self._signed(environ, body):
            return _answer(start_response, 401, {"error": "invalid or missing Slack signature"})
        try:
            payload = parse_body(body.decode(), environ.get("CONTENT_TYPE"))
        except ValueError:
            return _answer(start_response, 400, {"error": "not a Slack request body"})
        if self._replays is not None and not body.startswith(b"{"):
            try:
                if not self._replays.first_time(body):
                    text = {"response_type": "ephemeral", "text": REPLAY_ANSWER} if "command" in payload else None
                    return _answer(start_response, 200, text)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                OUTAGE.failed(exc)
                return _answer(start_response, 200, slack_answer(payload))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self._app(environ, start_response)

    def _signed(self, environ: dict[str, Any], body: bytes) -> bool:
        assert self._verifier is not None
        try:
            return self._verifier.is_valid(
                body=body,
                timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                signature=environ.get("HTTP_X_SLACK_SIGNATURE"),
            )
        except ValueError:  # a timestamp that is no number, a body that is not UTF-8
            return False


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """At most `limit` bytes of the request body, or None when it is longer.

    Content-Length is believed only downwards: no more than it says (and never more than
    `limit` + 1) is read, so a missing or lying header cannot let a large body in.
    """
    stream = environ["wsgi.input"]
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared:
        length = int(declared)
        if length < 0:
            raise ValueError(declared)
        if length > limit:
            return None
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read(limit + 1)
    else:
        body = b""
    return None if len(body) > limit else body


def _answer(start_response: StartResponse, status: int, answer: dict[str, Any] | None) -> list[bytes]:
    body = b"" if answer is None else json.dumps(answer).encode()
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large"}[status]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", headers)
    return [body]
