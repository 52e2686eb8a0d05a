"""A stand-in for the Slack Web API on loopback, for the test suite and `dibs demo`.

The real `slack_sdk.WebClient` talks to it over HTTP (`WebClient(base_url=standin.api_url)`). It
records every call, answers with Slack's shapes, can be scripted to fail (429 + Retry-After, 5xx,
`ok: false` errors, hangs), can pace `chat.postMessage` per channel like Slack, and checks each call
against Slack's Web API reference and Block Kit limits, collecting what is wrong in `problems`.
Standalone on purpose: it imports nothing from the app.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from sandbox.block_kit import VIEW_METHODS, block_kit_problems, layout_problems

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
# Arguments slack_sdk 3.47 can send that Slack documents today but the 2020 spec lacks.
NEWER_ARGUMENTS: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset({"metadata", "markdown_text"}),  # message metadata, markdown
    "chat.postEphemeral": frozenset({"markdown_text"}),
    "chat.update": frozenset({"metadata", "markdown_text", "reply_broadcast", "file_ids"}),
    "views.open": frozenset({"interactivity_pointer"}),  # opening a modal from a workflow step
    "views.push": frozenset({"interactivity_pointer"}),
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
    "user_id": "U0DIBSBOT",
    "bot_id": "B0DIBSBOT",
}
APP_ID = "A0DIBSAPP"
UPLOAD_PATH = "/upload/v1/"


def find_reference_dir() -> Path | None:
    """The Slack reference folder: `$DIBS_SLACK_REFERENCE`, else `shared/slack` beside the repo."""
    configured = os.environ.get(REFERENCE_ENV)
    beside_repo = Path(__file__).resolve().parents[2] / "shared" / "slack"
    folder = Path(configured) if configured else beside_repo
    return folder if (folder / SPEC_FILE).is_file() else None


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
    """One Web API call as the stand-in received it, and how it was answered."""

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
    """Slack's Web API on 127.0.0.1, recording calls and checking them against the reference."""

    def __init__(self, reference_dir: Path | None = None) -> None:
        folder = reference_dir or find_reference_dir()
        spec = folder / SPEC_FILE if folder else None
        self._spec = _spec_arguments(spec) if spec and spec.is_file() else None
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serial = itertools.count(1)  # never reset, so ts and ids stay unique per process
        self._calls: list[RecordedCall] = []
        self._problems: list[str] = []
        self._failures: defaultdict[str, deque[_Answer]] = defaultdict(deque)
        self._hangs: defaultdict[str, deque[float]] = defaultdict(deque)
        self._post_interval: float | None = None
        self._last_post: dict[str, float] = {}
        self._upload_slots: dict[str, dict[str, Any]] = {}
        self._uploads: dict[str, bytes] = {}
        self._dm_channels: dict[str, str] = {}
        self._users: dict[str, dict[str, str]] = {}
        self._release = threading.Event()
        self.socket_mode_url: Callable[[], str] | None = None  # SocketModeStandIn.open_url, when attached
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": lambda args: {"ok": True, **WORKSPACE},
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": lambda args: {"ok": True, "message_ts": self._next_ts()},
            "conversations.open": self._open_conversation,
            "views.open": self._view,
            "views.push": self._view,
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
        """Whether method and argument names are checked against Slack's Web API spec."""
        return self._spec is not None

    # ----- what happened

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

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
        """Forget calls, problems, uploads, scripted failures and pacing; release hung calls."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            for state in (self._calls, self._problems, self._failures, self._hangs):
                state.clear()
            for mapping in (self._last_post, self._upload_slots, self._uploads, self._dm_channels, self._users):
                mapping.clear()
            self._post_interval = None

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Fail the next `times` calls of `method`.

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
            self._failures[method].extend([answer] * times)

    def add_user(self, user_id: str, *, display_name: str = "", real_name: str = "") -> None:
        """A person of the workspace with these profile names, as `users.info` describes them."""
        with self._lock:
            self._users[user_id] = {"display_name": display_name, "real_name": real_name}

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the answer to the next `times` calls of `method` back by `seconds`."""
        with self._lock:
            self._hangs[method].extend([seconds] * times)

    def limit_channel_rate(self, per_second: float | None = 1.0) -> None:
        """Answer 429 to chat.postMessage coming faster than `per_second` to one channel."""
        with self._lock:
            self._post_interval = None if per_second is None else 1.0 / per_second
            self._last_post.clear()

    # ----- HTTP

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        try:
            if url.path.startswith(UPLOAD_PATH):
                answer = self._receive_upload(url.path.removeprefix(UPLOAD_PATH), body)
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
            now = time.monotonic()
            self._calls.append(RecordedCall(method, args, now, answer.status, answer.error, answer.delay))
            self._lock.notify_all()
            release = self._release
        if answer.delay:
            release.wait(answer.delay)
        return answer

    def _answer(self, method: str, authorization: str, args: dict[str, Any]) -> _Answer:
        """Decide Slack's answer and note problems; called under the lock."""
        self._problems += self._reference_problems(method, args) + block_kit_problems(method, args)
        delay = self._hangs[method].popleft() if self._hangs[method] else 0.0
        if not self._is_known(method):
            answer = _error("unknown_method")
        elif not authorization.startswith("Bearer "):
            self._problems.append(f"{method}: no token sent")
            answer = _error("not_authed")
        elif refusal := _token_refusal(method, authorization.removeprefix("Bearer ")):
            self._problems.append(f"{method}: {refusal[1]}")
            answer = _error(refusal[0])
        elif self._failures[method]:
            answer = self._failures[method].popleft()
        elif refusals := layout_problems(method, args):
            # Slack answers invalid_blocks for messages and invalid_arguments for views.
            error = "invalid_arguments" if method in VIEW_METHODS else "invalid_blocks"
            answer = _error(error, errors=refusals, response_metadata={"messages": refusals})
        elif self._too_fast(method, args):
            answer = _rate_limited(1)
        else:
            answer = _Answer(200, self._answers.get(method, lambda args: {"ok": True})(args))
        return replace(answer, delay=delay)

    def _is_known(self, method: str) -> bool:
        return self._spec is None or method in self._spec or method in NEWER_METHODS

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

    # ----- answers (called under the lock)

    def _next_ts(self) -> str:
        serial = next(self._serial)
        return f"{1_700_000_000 + serial // 10_000}.{serial % 10_000 * 100:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._serial):08d}"

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        echoed = {key: args[key] for key in ("blocks", "thread_ts", "metadata") if key in args}
        return {
            "type": "message",
            "text": args.get("text", ""),
            "ts": ts,
            "user": WORKSPACE["user_id"],
            "bot_id": WORKSPACE["bot_id"],
            "app_id": APP_ID,
            **echoed,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        message = self._message(args, ts)
        return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": message}

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = str(args.get("ts"))
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, ts),
        }

    def _open_conversation(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or args.get("channel"))
        channel_id = self._dm_channels.setdefault(users, self._next_id("D"))
        return {"ok": True, "channel": {"id": channel_id}}

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args.get("view"), dict) else {}
        view_id = str(args.get("view_id") or self._next_id("V"))
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
                "hash": f"{self._next_ts()}.dibs",
                "root_view_id": view_id,
                "app_id": APP_ID,
                "bot_id": WORKSPACE["bot_id"],
            },
        }

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = str(args.get("user"))
        name = user_id.lower()
        profile = self._users.get(user_id, {"display_name": name, "real_name": f"User {user_id}"})
        real_name = profile["real_name"]
        return {
            "ok": True,
            "user": {
                "id": user_id,
                "team_id": WORKSPACE["team_id"],
                "name": name,
                "real_name": real_name,
                "tz": "America/New_York",
                "tz_label": "Eastern Standard Time",
                "tz_offset": -18000,
                "is_bot": False,
                "deleted": False,
                "profile": dict(profile),
            },
        }

    def _open_socket_connection(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.socket_mode_url is None:
            self._problems.append("apps.connections.open: no Socket Mode stand-in attached (socket_mode_url)")
            return {"ok": False, "error": "internal_error"}
        return {"ok": True, "url": self.socket_mode_url()}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = self._next_id("F")
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
