"""A stand-in for the Slack Web API on loopback, for the test suite and `dibs demo`.

The real `slack_sdk.WebClient` talks to it over HTTP (`WebClient(base_url=standin.api_url)`). It
records every call, answers with Slack's shapes, can be scripted to fail (429 + Retry-After, 5xx,
`ok: false` errors, hangs), can pace `chat.postMessage` per channel like Slack, and checks each call
against Slack's Web API reference and Block Kit limits, collecting what is wrong in `problems`.

Faults for the reliability tests: `outage` answers every call 5xx for a window of the stand-in's
clock, `set_latency` makes every answer slow, `hang_next` holds one answer back after the call
took effect (a client timeout after Slack accepted). Message `ts` are the stand-in's clock, as
Slack's are its own: `set_clock` lets a test with a fast clock agree with it.

It is as strict as Slack about the workspace (sandbox/workspace.py): unknown channels and people,
channel membership, the scopes manifest.yml grants, trigger_ids and response_urls (which it serves
itself) are refused with Slack's errors. A test populates it with `add_channel`, `add_user`...
Standalone on purpose: it imports nothing from the app.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import re
import threading
import time
import tomllib
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from sandbox.block_kit import VIEW_METHODS, block_kit_problems, layout_problems
from sandbox.scopes import for_conversation, manifest_bot_scopes, spec_scopes
from sandbox.workspace import BOT_ID, BOT_USER_ID, Conversation, Message, Person, Refused, Workspace, conversation_info

REFERENCE_ENV = "DIBS_SLACK_REFERENCE"
SPEC_FILE = "slack_web_openapi_v2.json"

# Methods newer than the 2020 spec, with the argument names Slack documents for them today.
NEWER_METHODS: dict[str, frozenset[str]] = {
    "files.getUploadURLExternal": frozenset({"filename", "length", "alt_txt", "snippet_type"}),
    "files.completeUploadExternal": frozenset(
        {"files", "channel_id", "channels", "initial_comment", "thread_ts", "blocks"}
    ),
    "apps.connections.open": frozenset(),  # Socket Mode (sandbox/socket_mode.py)
}
# The scope Slack's reference page gives each of them (bot tokens).
NEWER_METHOD_SCOPES: dict[str, frozenset[str]] = {
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
}
# Arguments slack_sdk 3.47 can send that Slack documents today but the 2020 spec lacks.
NEWER_ARGUMENTS: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"metadata", "markdown_text"}),  # message metadata, markdown
    "chat.postEphemeral": frozenset({"markdown_text"}),
    "chat.update": frozenset({"metadata", "markdown_text", "reply_broadcast", "file_ids"}),
    "views.open": frozenset({"interactivity_pointer"}),  # opening a modal from a workflow step
    "views.push": frozenset({"interactivity_pointer"}),
    "conversations.history": frozenset({"include_all_metadata"}),  # message metadata
    "conversations.replies": frozenset({"include_all_metadata"}),
}
# Methods that take the app-level token (xapp-, scope connections:write) instead of the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# slack_sdk adds team_id to every call when the client is built with one (org-wide apps).
EVERY_METHOD_ARGUMENTS = frozenset({"team_id"})

# The workspace the stand-in pretends to be.
WORKSPACE = {
    "url": "https://dibs-test.slack.com/",
    "team": "Dibs Test",
    "user": "dibs",
    "team_id": "T0DIBSTEST",
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
}
APP_ID = "A0DIBSAPP"
UPLOAD_PATH = "/upload/v1/"
RESPONSE_PATH = "/response/"
MAX_ALT_TEXT = 1000  # files.getUploadURLExternal alt_txt
MAX_STATUS_TEXT = 100  # users.profile.set status_text

# Slack's per-method limits, calls a minute per workspace (api.slack.com/apis/rate-limits), each at
# its tier's floor: tier 2 "20+", tier 3 "50+", tier 4 "100+"; the files methods at tier 2 (stricter
# than their documented tier, in doubt). conversations.history and .replies are tier 3 for an app a
# workspace builds for itself, as Dibs is installed (from manifest.yml, one workspace); an app
# distributed outside the Slack Marketplace gets 1 a minute and 15 messages a call since 2025.
# chat.postMessage is paced per channel instead (`limit_channel_rate`).
RATE_WINDOW_SECONDS = 60.0
METHOD_LIMITS_PER_MINUTE: Mapping[str, int] = {
    "chat.update": 50,
    "chat.delete": 50,
    "chat.postEphemeral": 100,
    "chat.getPermalink": 100,
    "conversations.history": 50,
    "conversations.replies": 50,
    "conversations.info": 50,
    "conversations.join": 50,
    "conversations.open": 50,
    "users.info": 100,
    "users.profile.get": 100,
    "users.lookupByEmail": 50,
    "views.open": 100,
    "views.publish": 100,
    "views.update": 100,
    "files.getUploadURLExternal": 20,
    "files.completeUploadExternal": 20,
}
# What a response_url post may carry (Slack's "responding to interactions").
RESPONSE_FIELDS = frozenset(
    {"text", "blocks", "attachments", "response_type", "replace_original", "delete_original", "thread_ts", "mrkdwn"}
)


def find_reference_dir() -> Path | None:
    """The Slack reference folder: `$DIBS_SLACK_REFERENCE`, else `shared/slack` beside the repo."""
    configured = os.environ.get(REFERENCE_ENV)
    beside_repo = Path(__file__).resolve().parents[2] / "shared" / "slack"
    folder = Path(configured) if configured else beside_repo
    return folder if (folder / SPEC_FILE).is_file() else None


def method_scopes(reference_dir: Path) -> dict[str, frozenset[str]]:
    """Each Web API method's scopes (any one suffices; empty: none), from the spec and NEWER_METHOD_SCOPES."""
    return spec_scopes(reference_dir / SPEC_FILE) | NEWER_METHOD_SCOPES


@functools.cache
def _spec_arguments(spec_path: Path) -> dict[str, frozenset[str]]:
    """Argument names (token aside) of every method in the Web API spec; read once per process."""
    arguments = {}
    for path, operations in json.loads(spec_path.read_text(encoding="utf-8"))["paths"].items():
        names = {p["name"] for op in operations.values() for p in op.get("parameters", [])}
        arguments[path.lstrip("/")] = frozenset(names - {"token"})
    return arguments


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the stand-in received it, and how it was answered.

    A post to a response_url is recorded too, as method "response_url": its args are the JSON
    posted plus the `channel` and `user` of the interaction the URL belongs to.
    """

    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200  # HTTP status of the answer
    error: str | None = None  # Slack's `error` when the answer was `ok: false`
    delayed: float = 0.0  # seconds held back by hang_next()

    @property
    def ok(self) -> bool:
        """Slack answered 200 with `ok: true`."""
        return self.status == 200 and self.error is None

    @property
    def rate_limited(self) -> bool:
        return self.status == 429


@dataclass(frozen=True)
class _Answer:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


def _error(error: str, status: int = 200, **extra: Any) -> _Answer:
    return _Answer(status, {"ok": False, "error": error, **extra})


def _rate_limited(retry_after: int) -> _Answer:
    return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


class SlackStandIn:
    """Slack's Web API on 127.0.0.1, recording calls and checking them against the reference.

    `scopes` are the bot scopes the token was granted (default: those manifest.yml asks for).
    """

    def __init__(self, reference_dir: Path | None = None, *, scopes: Iterable[str] | None = None) -> None:
        folder = reference_dir or find_reference_dir()
        spec = folder / SPEC_FILE if folder else None
        has_spec = spec is not None and spec.is_file()
        self._spec = _spec_arguments(spec) if has_spec and spec else None
        self._method_scopes = method_scopes(folder) if has_spec and folder else None
        self._granted = frozenset(manifest_bot_scopes() if scopes is None else scopes)
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serial = itertools.count(1)  # never reset, so ts and ids stay unique per process
        self._workspace = Workspace(self._serial)
        self._calls: list[RecordedCall] = []
        self._problems: list[str] = []
        self._failures: defaultdict[str, deque[tuple[str | None, _Answer]]] = defaultdict(deque)
        self._hangs: defaultdict[str, deque[float]] = defaultdict(deque)
        self._post_interval: float | None = None
        self._last_post: dict[str, float] = {}
        self._method_limits: Mapping[str, int] = METHOD_LIMITS_PER_MINUTE
        self._rate_window = RATE_WINDOW_SECONDS
        self._method_calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._clock: Callable[[], float] = time.time
        self._last_ts = 0  # microseconds of the workspace's newest message ts
        self._down_until: float | None = None
        self._down_status = 500
        self._latency = 0.0
        self._upload_slots: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, bytes] = {}
        self._release = threading.Event()
        self.socket_mode_url: Callable[[], str] | None = None  # SocketModeStandIn.open_url, when attached
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda args: {"ok": True, **WORKSPACE},
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.open": self._open_conversation,
            "conversations.join": self._join,
            "conversations.info": lambda args: {"ok": True, "channel": conversation_info(self._visible(args))},
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "views.open": self._open_view,
            "views.push": self._open_view,
            "views.update": self._view,
            "views.publish": self._view,
            "users.info": self._user_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._open_socket_connection,
        }

    # ----- lifecycle

    def start(self) -> Self:
        """Serve on a free loopback port in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="slack-standin",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Release hung calls and shut the server down."""
        if self._server is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackStandIn is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """What to pass as `WebClient(base_url=...)`."""
        return f"{self.base_url}/api/"

    @property
    def spec_available(self) -> bool:
        """Whether method and argument names (and scopes) are checked against Slack's Web API spec."""
        return self._spec is not None

    @property
    def scopes(self) -> frozenset[str]:
        """The bot scopes the token was granted."""
        return self._granted

    # ----- the workspace

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        private: bool = False,
        members: Iterable[str] = (),
        bot_member: bool = False,
        archived: bool = False,
    ) -> None:
        """A channel of people; the bot is in it only with `bot_member` (or once it joins)."""
        with self._lock:
            self._workspace.add_channel(
                channel_id, name, private=private, members=members, bot_member=bot_member, archived=archived
            )

    def add_user(
        self,
        user_id: str,
        *,
        display_name: str = "",
        real_name: str = "",
        email: str = "",
        is_bot: bool = False,
        deleted: bool = False,
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
        tz: str = "America/New_York",
    ) -> None:
        """A person in the workspace directory (what users.info answers)."""
        with self._lock:
            self._workspace.add_user(
                user_id,
                display_name=display_name,
                real_name=real_name,
                email=email,
                is_bot=is_bot,
                deleted=deleted,
                status_text=status_text,
                status_emoji=status_emoji,
                status_expiration=status_expiration,
                tz=tz,
            )

    def set_status(self, user_id: str, text: str = "", emoji: str = "", expiration: int = 0) -> dict[str, Any]:
        """A person sets (or, with no text and emoji, clears) their status, as `users.profile.set`
        does; the `user_change` event Slack then sends to apps subscribed to it (Events API shape:
        the full user object, `cache_ts`, `event_ts`). An emoji is `:name:`, text at most 100
        characters, the expiration Unix seconds (0: never), as Slack's profile docs require."""
        if len(text) > MAX_STATUS_TEXT:
            raise ValueError(f"Slack refuses a status text over {MAX_STATUS_TEXT} characters")
        if emoji and not re.fullmatch(r":[a-z0-9_+'-]+:", emoji):
            raise ValueError(f"{emoji!r} is not an emoji name like :palm_tree:")
        if expiration < 0:
            raise ValueError("a status expiration is Unix seconds, 0 for none")
        with self._lock:
            person = self._workspace.person(user_id)
            if not text and not emoji:
                expiration = 0  # clearing a status clears its expiration too
            person.status_text, person.status_emoji, person.status_expiration = text, emoji, expiration
            now = self._clock()
            return {
                "type": "user_change",
                "user": _user_json(person, with_email=False, now=now),
                "cache_ts": int(now),
                "event_ts": f"{now:.6f}",
            }

    def add_dm(self, user_a: str, user_b: str) -> str:
        """A DM between two people, which the bot can neither see nor join; its `D…` id."""
        with self._lock:
            return self._workspace.add_dm(user_a, user_b)

    def add_message(self, channel_id: str, user_id: str, text: str) -> str:
        """A message a person posted in `channel_id`; its ts."""
        with self._lock:
            return self._workspace.add_message(channel_id, user_id, text)

    def add_teams(self, team_toml: str, names: Mapping[str, str] | None = None) -> None:
        """The workspace of a Dibs team config: each team's channels as public channels the bot
        is not in, holding the team's people; each person a user named from `names` (a user id
        to a full name), else from the id (`U0ALICE` -> "Alice")."""
        names = names or {}
        for team in tomllib.loads(team_toml).get("teams", {}).values():
            people = [*team.get("managers", []), *(rep["id"] for rep in team.get("reps", []))]
            for user_id in people:
                name = names.get(user_id) or user_id[2:].capitalize()
                self.add_user(user_id, display_name=name, real_name=name)
            for key in ("channel", "mediation_channel"):
                if team.get(key):
                    suffix = "-disputes" if key == "mediation_channel" else ""
                    self.add_channel(team[key], f"{team['name'].lower().replace(' ', '-')}{suffix}", members=people)

    def bot_is_member(self, channel_id: str) -> bool:
        with self._lock:
            conversation = self._workspace.conversations.get(channel_id)
            return conversation is not None and conversation.bot_is_member

    def dm_with(self, user_id: str) -> str | None:
        """The bot's DM channel with a person, once a message opened it."""
        with self._lock:
            dms = [c.id for c in self._workspace.conversations.values() if c.kind == "im"]
            return next((d for d in dms if self._workspace.conversations[d].members == {user_id, BOT_USER_ID}), None)

    def new_trigger_id(self) -> str:
        """A trigger_id as Slack puts in an interaction: opens one view within 3 s."""
        with self._lock:
            return self._workspace.new_trigger_id()

    def expire_trigger_ids(self) -> None:
        """Age every trigger_id issued so far past its 3 s."""
        with self._lock:
            self._workspace.expire_trigger_ids()

    def new_response_url(self, channel_id: str, user_id: str) -> str:
        """A response_url for `user_id`'s interaction in `channel_id`, served by this stand-in."""
        with self._lock:
            return f"{self.base_url}{RESPONSE_PATH}{self._workspace.new_response_url(channel_id, user_id)}"

    def expire_response_urls(self) -> None:
        """Age every response_url issued so far past its 30 minutes."""
        with self._lock:
            self._workspace.expire_response_urls()

    # ----- what happened

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def responses_to(self, user_id: str) -> list[RecordedCall]:
        """Posts to response_urls of `user_id`'s interactions that Slack took, oldest first."""
        return [call for call in self.calls_to("response_url") if call.ok and call.args["user"] == user_id]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """Block until `count` calls of `method` arrived; AssertionError naming what did."""
        with self._lock:
            arrived = self._lock.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
            if not arrived:
                seen = [call.method for call in self._calls]
                raise AssertionError(f"expected {count} {method} call(s) within {timeout}s; calls were {seen}")
            return self.calls_to(method)

    @property
    def problems(self) -> list[str]:
        """Calls that Slack's reference or limits say are wrong, one line each."""
        with self._lock:
            return list(self._problems)

    def take_problems(self) -> list[str]:
        """Return the problems and forget them (for tests that expect some)."""
        with self._lock:
            taken, self._problems[:] = list(self._problems), []
            return taken

    @property
    def uploads(self) -> dict[str, bytes]:
        """Bytes POSTed to upload URLs, by file id."""
        with self._lock:
            return dict(self._uploads)

    # ----- scripting

    def reset(self) -> None:
        """Forget calls, problems, uploads, scripted failures and faults, pacing, the clock and the
        workspace; release hung calls."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            for state in (self._calls, self._problems, self._failures, self._hangs):
                state.clear()
            for mapping in (self._last_post, self._upload_slots, self._uploads, self._method_calls):
                mapping.clear()
            self._post_interval, self._method_limits = None, METHOD_LIMITS_PER_MINUTE
            self._rate_window = RATE_WINDOW_SECONDS
            self._clock, self._last_ts, self._down_until, self._latency = time.time, 0, None, 0.0
            self._workspace = Workspace(self._serial)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Fail the next `times` calls of `method` ("response_url" for posts to response_urls),
        with `channel` only those to that channel (calls go out side by side, in no set order).

        With `error`: HTTP 200 `{"ok": false, "error": error}`. Else status 429 answers
        `ratelimited` with `Retry-After: retry_after`, any other status `fatal_error`.
        """
        if error is not None:
            answer = _error(error)
        elif status == 429:
            answer = _rate_limited(retry_after)
        else:
            answer = _error("fatal_error", status)
        with self._lock:
            self._failures[method].extend([(channel, answer)] * times)

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the answer to the next `times` calls of `method` ("response_url" too) back by
        `seconds`; the call has taken effect, so a client that times out cannot tell."""
        with self._lock:
            self._hangs[method].extend([seconds] * times)

    def set_clock(self, clock: Callable[[], float] | None) -> None:
        """Seconds since the epoch for message `ts` and outage windows (None: the real time)."""
        with self._lock:
            self._clock = clock or time.time

    def outage(self, seconds: float, status: int = 500) -> None:
        """Answer every Web API call and response_url post HTTP `status` for the next `seconds`
        of the stand-in's clock (Slack down); the calls are recorded and change nothing."""
        with self._lock:
            self._down_until, self._down_status = self._clock() + seconds, status

    def set_latency(self, seconds: float) -> None:
        """Answer every call `seconds` late (after it took effect), like a slow Slack; 0 for none."""
        with self._lock:
            self._latency = seconds

    def limit_channel_rate(self, per_second: float | None = 1.0) -> None:
        """Answer 429 to chat.postMessage coming faster than `per_second` to one channel."""
        with self._lock:
            self._post_interval = None if per_second is None else 1.0 / per_second
            self._last_post.clear()

    def limit_method_rates(
        self,
        per_window: Mapping[str, int] | None = METHOD_LIMITS_PER_MINUTE,
        window_seconds: float = RATE_WINDOW_SECONDS,
    ) -> None:
        """Answer 429 to a method called more than its limit in the last `window_seconds` (Slack's
        limits by default, on from the start; None: no limits). A test may shrink the window with
        the limits, to see them bite in seconds rather than minutes."""
        with self._lock:
            self._method_limits, self._rate_window = per_window or {}, window_seconds
            self._method_calls.clear()

    # ----- HTTP

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        content_type = request.headers.get("Content-Type", "")
        try:
            if url.path.startswith(UPLOAD_PATH):
                answer = self._receive_upload(url.path.removeprefix(UPLOAD_PATH), body)
            elif url.path.startswith(RESPONSE_PATH):
                answer = self._respond(url.path.removeprefix(RESPONSE_PATH), content_type, body)
            elif url.path.startswith("/api/"):
                answer = self._api_call(url.path.removeprefix("/api/"), request, url.query, body)
            else:
                answer = _Answer(404, "Not Found")
        except Exception as exc:  # a stand-in bug must fail the test, not leave the client hanging
            with self._lock:
                self._problems.append(f"stand-in failed on {request.path}: {exc!r}")
            answer = _error("fatal_error", 500)
        _send(request, answer)

    def _api_call(self, method: str, request: BaseHTTPRequestHandler, query: str, body: bytes) -> _Answer:
        args, unreadable = _request_args(query, request.headers.get("Content-Type", ""), body)
        token = args.pop("token", None)
        authorization = request.headers.get("Authorization") or (f"Bearer {token}" if token else "")
        with self._lock:
            if unreadable:
                self._problems.append(f"{method}: {unreadable}")
            answer = self._answer(method, authorization, args)
            self._record(method, args, answer)
            release = self._release
        if answer.delay:
            release.wait(answer.delay)
        return answer

    def _record(self, method: str, args: dict[str, Any], answer: _Answer, error: str | None = None) -> None:
        """Keep a call and wake whoever waits for it; called under the lock."""
        now = time.monotonic()
        self._calls.append(RecordedCall(method, args, now, answer.status, error or answer.error, answer.delay))
        self._lock.notify_all()

    def _answer(self, method: str, authorization: str, args: dict[str, Any]) -> _Answer:
        """Decide Slack's answer and note problems; called under the lock."""
        self._problems += self._reference_problems(method, args) + block_kit_problems(method, args)
        delay = self._hangs[method].popleft() if self._hangs[method] else self._latency
        if self._is_down():
            return replace(_error("fatal_error", self._down_status), delay=delay)
        if not self._is_known(method):
            return replace(_error("unknown_method"), delay=delay)
        if not authorization.startswith("Bearer "):
            self._problems.append(f"{method}: no token sent")
            return replace(_error("not_authed"), delay=delay)
        if refusal := _token_refusal(method, authorization.removeprefix("Bearer ")):
            self._problems.append(f"{method}: {refusal[1]}")
            return replace(_error(refusal[0]), delay=delay)
        if failure := self._scripted_failure(method, args):
            answer = failure
        elif needed := self._missing_scopes(method, args):
            answer = _error("missing_scope", needed=",".join(sorted(needed)), provided=",".join(sorted(self._granted)))
        elif refusals := layout_problems(method, args):
            # Slack answers invalid_blocks for messages and invalid_arguments for views.
            error = "invalid_arguments" if method in VIEW_METHODS else "invalid_blocks"
            answer = _error(error, errors=refusals, response_metadata={"messages": refusals})
        elif self._too_fast(method, args):
            answer = _rate_limited(1)
        elif wait := self._over_method_limit(method):
            answer = _rate_limited(wait)
        else:
            answer = self._method_answer(method, args)
        # Slack names the token's scopes on every answer to an authenticated call.
        headers = answer.headers | {"X-OAuth-Scopes": ",".join(sorted(self._granted))}
        return replace(answer, delay=delay, headers=headers)

    def _scripted_failure(self, method: str, args: dict[str, Any]) -> _Answer | None:
        """The first failure scripted for this call (its method, and its channel if one was named)."""
        channel = args.get("channel") or args.get("channel_id")
        for scripted in self._failures[method]:
            if scripted[0] in (None, channel):
                self._failures[method].remove(scripted)
                return scripted[1]
        return None

    def _is_down(self) -> bool:
        return self._down_until is not None and self._clock() < self._down_until

    def _method_answer(self, method: str, args: dict[str, Any]) -> _Answer:
        try:
            return _Answer(200, self._answers.get(method, lambda args: {"ok": True})(args))
        except Refused as refused:
            return _error(refused.error)

    def _is_known(self, method: str) -> bool:
        return self._spec is None or method in self._spec or method in NEWER_METHODS

    def _missing_scopes(self, method: str, args: dict[str, Any]) -> frozenset[str]:
        """The scopes `method` needs on this conversation when none of them was granted."""
        if self._method_scopes is None:
            return frozenset()
        needed = for_conversation(self._method_scopes.get(method, frozenset()), self._conversation_kind(args))
        return frozenset() if not needed or needed & self._granted else needed

    def _conversation_kind(self, args: dict[str, Any]) -> str | None:
        users = str(args.get("users") or "")
        if users and not args.get("channel"):
            return "im" if len(users.split(",")) == 1 else "mpim"
        return self._workspace.kind_of(str(args.get("channel") or args.get("channel_id") or ""))

    def _reference_problems(self, method: str, args: dict[str, Any]) -> list[str]:
        if self._spec is None:
            return []
        allowed = self._spec.get(method, NEWER_METHODS.get(method))
        if allowed is None:
            return [f"{method}: no such Web API method"]
        allowed = allowed | NEWER_ARGUMENTS.get(method, frozenset()) | EVERY_METHOD_ARGUMENTS
        unknown = sorted(args.keys() - allowed)
        return [f"{method}: argument {name!r} is not in Slack's reference" for name in unknown]

    def _too_fast(self, method: str, args: dict[str, Any]) -> bool:
        """Per-channel pacing of chat.postMessage; remembers the accepted posts."""
        if method != "chat.postMessage" or self._post_interval is None:
            return False
        channel, now = str(args.get("channel")), time.monotonic()
        last = self._last_post.get(channel)
        if last is not None and now - last < self._post_interval:
            return True
        self._last_post[channel] = now
        return False

    def _over_method_limit(self, method: str) -> int:
        """Seconds until `method` may be called again (0: now, and the call is counted)."""
        limit = self._method_limits.get(method)
        if limit is None:
            return 0
        now, calls = time.monotonic(), self._method_calls[method]
        while calls and calls[0] <= now - self._rate_window:
            calls.popleft()
        if len(calls) >= limit:
            return max(1, math.ceil(calls[0] + self._rate_window - now))
        calls.append(now)
        return 0

    # ----- response_urls

    def _respond(self, key: str, content_type: str, body: bytes) -> _Answer:
        """A post to a response_url: 5 within 30 minutes, then Slack answers 404 `Expired url`."""
        payload, unreadable = _request_args("", content_type, body)
        with self._lock:
            if unreadable:
                self._problems.append(f"response_url: {unreadable}")
            unknown = sorted(payload.keys() - RESPONSE_FIELDS)
            self._problems += [f"response_url: field {name!r} is not one Slack documents" for name in unknown]
            self._problems += block_kit_problems("chat.postMessage", payload)
            url = self._workspace.response_urls.get(key)
            owner = {"channel": url.channel, "user": url.user} if url else {}
            answer, error = self._response_answer(key, payload)
            hung = self._hangs["response_url"]
            answer = replace(answer, delay=hung.popleft() if hung else self._latency)
            self._record("response_url", payload | owner, answer, error)
            release = self._release
        if answer.delay:
            release.wait(answer.delay)
        return answer

    def _response_answer(self, key: str, payload: dict[str, Any]) -> tuple[_Answer, str | None]:
        if self._is_down():
            return _Answer(self._down_status, "fatal_error"), "fatal_error"
        if failure := self._scripted_failure("response_url", {}):
            return failure, failure.error or "fatal_error"
        try:
            self._workspace.use_response_url(key)
        except Refused as refused:
            # Slack's own words, as a plain-text body (with a space, not an underscore).
            return _Answer(404, "Expired url" if refused.error == "expired_url" else refused.error), refused.error
        if layout_problems("chat.postMessage", payload):
            return _Answer(400, "invalid_blocks"), "invalid_blocks"
        if not payload.get("text") and not payload.get("blocks") and not payload.get("delete_original"):
            return _Answer(400, "no_text"), "no_text"
        return _Answer(200, {"ok": True}), None

    # ----- answers (called under the lock; Refused becomes Slack's `ok: false`)

    def _visible(self, args: dict[str, Any]) -> Conversation:
        return self._workspace.visible(str(args.get("channel") or ""))

    def _message(self, message: Message, *, with_metadata: bool = True) -> dict[str, Any]:
        shown: dict[str, Any] = {"type": "message", "text": message.text, "ts": message.ts, "user": message.user}
        if message.user == BOT_USER_ID:
            shown |= {"bot_id": BOT_ID, "app_id": APP_ID}
        if message.blocks is not None:
            shown["blocks"] = message.blocks
        if message.thread_ts is not None:
            shown["thread_ts"] = message.thread_ts
        if message.metadata is not None and with_metadata:
            shown["metadata"] = message.metadata
        return shown

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """Into a channel the bot is in (a public one it is not in needs chat:write.public), or to
        a user id: the bot's DM with that person, whose `D…` id the answer gives."""
        conversation = self._workspace.target(str(args.get("channel") or ""))
        if conversation.archived:
            raise Refused("is_archived")
        if not conversation.bot_is_member and "chat:write.public" not in self._granted:
            raise Refused("not_in_channel")
        ts = self._message_ts()
        message = Message(
            conversation.id,
            ts,
            BOT_USER_ID,
            str(args.get("text") or ""),
            args.get("blocks"),
            args.get("metadata"),
            args.get("thread_ts"),
        )
        self._workspace.messages[(conversation.id, ts)] = message
        return {"ok": True, "channel": conversation.id, "ts": ts, "message": self._message(message)}

    def _message_ts(self) -> str:
        """The stand-in's clock in microseconds, as Slack stamps a message; never the same twice."""
        self._last_ts = max(int(self._clock() * 1_000_000), self._last_ts + 1)
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """Only a message the bot posted, addressed by its conversation id (a `D…`, never a user id)."""
        conversation = self._visible(args)
        message = self._workspace.messages.get((conversation.id, str(args.get("ts"))))
        if message is None:
            raise Refused("message_not_found")
        if message.user != BOT_USER_ID:
            raise Refused("cant_update_message")
        message.text = str(args.get("text", message.text) or "")
        message.blocks = args.get("blocks", message.blocks)
        message.metadata = args.get("metadata", message.metadata)
        return {
            "ok": True,
            "channel": conversation.id,
            "ts": message.ts,
            "text": message.text,
            "message": self._message(message),
        }

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        """Both the bot and the user must be in the conversation."""
        conversation = self._workspace.joined(str(args.get("channel") or ""))
        if conversation.archived:
            raise Refused("is_archived")
        if str(args.get("user")) not in conversation.members:
            raise Refused("user_not_in_channel")
        return {"ok": True, "message_ts": self._workspace.next_ts()}

    def _open_conversation(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": self._visible(args).id}}
        users = [user for user in str(args.get("users") or "").split(",") if user]
        if not users:
            raise Refused("users_list_not_supplied")
        if len(users) > 1:
            return {"ok": True, "channel": {"id": self._workspace.group_dm(users).id}}
        self._workspace.person(users[0])
        return {"ok": True, "channel": {"id": self._workspace.bot_dm(users[0]).id}}

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        """Public channels only; a private channel needs `/invite @Dibs` by one of its members."""
        conversation = self._workspace.conversations.get(str(args.get("channel") or ""))
        if conversation is None:
            raise Refused("channel_not_found")
        if conversation.is_private:
            raise Refused("method_not_supported_for_channel_type")
        if conversation.archived:
            raise Refused("is_archived")
        answer: dict[str, Any] = {"ok": True}
        if conversation.bot_is_member:
            answer |= {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
        conversation.members.add(BOT_USER_ID)
        return answer | {"channel": conversation_info(conversation)}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages newest first, between `oldest` and `latest`, at most `limit`."""
        conversation = self._workspace.joined(str(args.get("channel") or ""))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or time.time() + 1e9)
        inclusive = _flag(args.get("inclusive"))
        limit = min(int(args.get("limit") or 100), 999)

        def within(ts: float) -> bool:
            return oldest <= ts <= latest if inclusive else oldest < ts < latest

        found = sorted(
            (
                m
                for (channel, _), m in self._workspace.messages.items()
                if channel == conversation.id and not m.is_reply and within(float(m.ts))
            ),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        with_metadata = _flag(args.get("include_all_metadata"))
        messages = [self._message(m, with_metadata=with_metadata) for m in found[:limit]]
        return {"ok": True, "messages": messages, "has_more": len(found) > limit, "pin_count": 0}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread oldest first: its parent `ts`, then the replies between `oldest` and `latest`."""
        conversation = self._workspace.joined(str(args.get("channel") or ""))
        parent = self._workspace.messages.get((conversation.id, str(args.get("ts"))))
        if parent is None:
            raise Refused("thread_not_found")
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or time.time() + 1e9)
        inclusive = _flag(args.get("inclusive"))
        thread = sorted(
            (
                m
                for (channel, _), m in self._workspace.messages.items()
                if channel == conversation.id and m.thread_ts == parent.ts and m.is_reply
                if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
            ),
            key=lambda m: float(m.ts),
        )
        limit = min(int(args.get("limit") or 1000), 1000)
        with_metadata = _flag(args.get("include_all_metadata"))
        messages = [self._message(m, with_metadata=with_metadata) for m in [parent, *thread][:limit]]
        return {"ok": True, "messages": messages, "has_more": len(thread) + 1 > limit}

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        self._workspace.use_trigger_id(str(args.get("trigger_id") or ""))
        return self._view(args)

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args.get("view"), dict) else {}
        view_id = str(args.get("view_id") or self._workspace.next_id("V"))
        return {
            "ok": True,
            "view": {
                "id": view_id,
                "team_id": WORKSPACE["team_id"],
                "type": "modal",
                "blocks": [],
                "private_metadata": "",
                "callback_id": "",
                **view,
                "state": {"values": {}},
                "hash": f"{self._workspace.next_ts()}.dibs",
                "root_view_id": view_id,
                "app_id": APP_ID,
                "bot_id": WORKSPACE["bot_id"],
            },
        }

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """From the directory; the email only with `users:read.email`."""
        person = self._workspace.person(str(args.get("user") or ""))
        granted = "users:read.email" in self._granted
        return {"ok": True, "user": _user_json(person, with_email=granted, now=self._clock())}

    def _open_socket_connection(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_mode_url is None:
            self._problems.append("apps.connections.open: no Socket Mode stand-in attached (socket_mode_url)")
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "url": self.socket_mode_url()}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if len(str(args.get("alt_txt") or "")) > MAX_ALT_TEXT:
            raise Refused("alt_txt_too_large")
        file_id = self._workspace.next_id("F")
        self._upload_slots[file_id] = args
        upload_url = f"{self.base_url}{UPLOAD_PATH}{file_id}"
        return {"ok": True, "upload_url": upload_url, "file_id": file_id}

    def _receive_upload(self, file_id: str, body: bytes) -> _Answer:
        with self._lock:
            slot = self._upload_slots.get(file_id)
            if slot is None:
                self._problems.append(f"upload to {file_id}, which no getUploadURLExternal gave")
                return _Answer(404, "Not Found")
            if str(slot.get("length")) != str(len(body)):
                declared = slot.get("length")
                self._problems.append(f"upload {file_id}: {len(body)} bytes, {declared} declared")
            self._uploads[file_id] = body
        return _Answer(200, f"OK - {len(body)}")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sharing into a channel needs the bot in it (chat:write.public does not cover files)."""
        shared_to = [str(args["channel_id"])] if args.get("channel_id") else []
        shared_to += [c for c in str(args.get("channels") or "").split(",") if c]
        for channel in shared_to:
            if self._workspace.joined(channel).archived:
                raise Refused("is_archived")
        files = [f for f in args.get("files") or [] if isinstance(f, dict)]
        for missing in [f.get("id") for f in files if f.get("id") not in self._uploads]:
            self._problems.append(f"files.completeUploadExternal: {missing} was never uploaded")
        return {"ok": True, "files": [self._file(f) for f in files]}

    def _file(self, completed: dict[str, Any]) -> dict[str, Any]:
        file_id = str(completed.get("id"))
        name = self._upload_slots.get(file_id, {}).get("filename", "")
        return {"id": file_id, "name": name, "title": completed.get("title") or name}


def _token_refusal(method: str, token: str) -> tuple[str, str] | None:
    """Slack's error and our reason when `token` is the wrong kind for `method`, else None."""
    wanted, kind = ("xapp-", "an app-level") if method in APP_TOKEN_METHODS else ("xoxb-", "a bot")
    if token.startswith(wanted):
        return None
    # A real token of another kind is refused for its type; anything else is not a token at all.
    error = "not_allowed_token_type" if token.startswith(("xoxb-", "xapp-", "xoxp-")) else "invalid_auth"
    return error, f"token is not {kind} token ({wanted})"


def _flag(value: Any) -> bool:
    """A boolean argument as sent in a form (`"true"`, `"1"`) or JSON."""
    return value is True or str(value).lower() in ("true", "1")


def _user_json(person: Person, *, with_email: bool, now: float) -> dict[str, Any]:
    """A user object as users.info answers it (a status past its expiration is cleared, as Slack
    clears it)."""
    local = datetime.now(ZoneInfo(person.tz))
    offset = local.utcoffset()
    expired = 0 < person.status_expiration <= now
    profile = {
        "display_name": person.display_name,
        "real_name": person.real_name,
        "status_text": "" if expired else person.status_text,
        "status_emoji": "" if expired else person.status_emoji,
        "status_expiration": 0 if expired else person.status_expiration,
    }
    if with_email and person.email:
        profile["email"] = person.email
    return {
        "id": person.id,
        "team_id": WORKSPACE["team_id"],
        "name": (person.display_name or person.real_name or person.id).lower().replace(" ", "."),
        "real_name": person.real_name,
        "deleted": person.deleted,
        "is_bot": person.is_bot,
        "tz": person.tz,
        "tz_label": local.tzname(),
        "tz_offset": int(offset.total_seconds()) if offset else 0,
        "profile": profile,
    }


def _request_args(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], str]:
    """Arguments from the query string and the form or JSON body; why the body was unreadable."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    unreadable = ""
    try:
        if content_type.startswith("application/json"):
            args.update(json.loads(body or b"{}"))
        elif content_type.startswith("application/x-www-form-urlencoded"):
            args.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif body:
            unreadable = f"body of unsupported Content-Type {content_type!r} ignored"
    except (ValueError, AttributeError) as exc:
        unreadable = f"unreadable {content_type} body: {exc}"
    return {name: _decode_json_text(value) for name, value in args.items()}, unreadable


def _decode_json_text(value: Any) -> Any:
    """JSON sent as a form field (blocks, view, files...) decoded; other values as sent."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _send(request: BaseHTTPRequestHandler, answer: _Answer) -> None:
    is_json = isinstance(answer.body, dict)
    data = (json.dumps(answer.body) if is_json else str(answer.body)).encode()
    try:
        request.send_response(answer.status)
        content_type = "application/json; charset=utf-8" if is_json else "text/plain"
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)
    except ConnectionError:
        pass  # the client gave up waiting (a hung call past its timeout)


def _handler_class(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            standin._handle(self)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
