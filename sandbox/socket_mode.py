"""A stand-in for Slack's Socket Mode side on loopback, for the test suite.

`apps.connections.open` on the Web API stand-in answers a `ws://127.0.0.1` URL of this server
(`SlackStandIn.socket_mode_url = standin.open_url`); the real `slack_sdk` Socket Mode client
connects to it over RFC 6455 (served by the `websockets` library). On connecting the app gets
Slack's `hello`; tests then push envelopes shaped as Slack sends them over Socket Mode (the same
payloads as over HTTP, as JSON objects rather than form bodies) and wait for the app's
acknowledgement. What Slack would object to is collected in `problems`: a URL it never issued,
an envelope acknowledged twice, late (after 3 s) or never, a payload in an ack that takes none.
"""

from __future__ import annotations

import http
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from sandbox.block_kit import block_kit_problems
from sandbox.signing import APP_ID, block_actions_body, event_body, slash_command_body, view_submission_body
from sandbox.slack_web import SlackStandIn

ACK_DEADLINE = 3.0  # seconds Slack waits for an envelope's acknowledgement
MAX_CONNECTIONS = 10  # open connections Slack allows one app at a time
# Slack pings the app now and then; often here, so that a closing slack_sdk client, whose read
# blocks up to 3 s, wakes at once instead of holding every test's teardown for 3 s.
PING_INTERVAL = 0.2
LINK_PATH = "/link/"
HOST = "applink-dibs-standin"  # what Slack's debug_info calls the server
RESPONSE_ACTIONS = frozenset({"errors", "update", "push", "clear"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ack:
    """The app's acknowledgement of one envelope."""

    envelope_id: str
    payload: dict[str, Any] | None  # a slash command's answer, a view_submission's response_action
    after: float  # seconds between sending the envelope and receiving this


@dataclass
class _Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    sent_at: float
    acks: list[Ack] = field(default_factory=list)
    reported_missing: bool = False


class SocketModeStandIn:
    """Slack's Socket Mode websocket server on 127.0.0.1: hello, envelopes, acks, disconnects."""

    def __init__(self, ack_deadline: float = ACK_DEADLINE) -> None:
        self.ack_deadline = ack_deadline
        self._lock = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tickets: set[str] = set()
        self._open: list[ServerConnection] = []  # oldest first; envelopes go to the newest
        self._hellos = 0
        self._envelopes: dict[str, _Envelope] = {}
        self._problems: list[str] = []
        self.web: SlackStandIn | None = None  # issues the trigger_ids and response_urls envelopes carry

    # ----- lifecycle

    def start(self) -> Self:
        """Serve on a free loopback port in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = serve(
                self._serve,
                "127.0.0.1",
                0,
                process_request=self._check_ticket,
                ping_interval=PING_INTERVAL,
                logger=log,
            )
            self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode-standin", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (1001 going away) and the server."""
        if self._server is None:
            return
        self._server.shutdown()
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

    def open_url(self) -> str:
        """A fresh websocket URL with its own ticket: what `apps.connections.open` answers."""
        if self._server is None:
            raise RuntimeError("SocketModeStandIn is not started")
        ticket = str(uuid.uuid4())
        with self._lock:
            self._tickets.add(ticket)
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}{LINK_PATH}?ticket={ticket}&app_id={APP_ID}"

    # ----- what happened

    @property
    def connections(self) -> int:
        """Websocket connections open now."""
        with self._lock:
            return len(self._open)

    def wait_connected(self, hellos: int = 1, timeout: float = 5.0) -> None:
        """Block until `hellos` connections were greeted since the last reset."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._hellos >= hellos and bool(self._open), timeout):
                raise AssertionError(f"expected {hellos} Socket Mode connection(s); {self._hellos} connected")

    @property
    def problems(self) -> list[str]:
        """What Slack would object to, one line each (envelopes overdue without an ack included)."""
        with self._lock:
            self._note_missing_acks()
            return list(self._problems)

    def take_problems(self) -> list[str]:
        """Return the problems and forget them (for tests that expect some)."""
        with self._lock:
            self._note_missing_acks()
            taken, self._problems[:] = list(self._problems), []
            return taken

    def reset(self) -> None:
        """Forget envelopes, problems and greetings; connections still open stay open."""
        with self._lock:
            self._envelopes.clear()
            self._problems.clear()
            self._hellos = 0

    # ----- what Slack sends

    def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> str:
        """Send one envelope on the newest connection; return its envelope_id."""
        envelope_id = str(uuid.uuid4())
        message: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            message |= {"retry_attempt": 0, "retry_reason": ""}
        with self._lock:
            connection = self._newest()
            self._envelopes[envelope_id] = _Envelope(
                envelope_id, kind, payload, accepts_response_payload, time.monotonic()
            )
        connection.send(json.dumps(message))
        return envelope_id

    def wait_ack(self, envelope_id: str) -> Ack:
        """The envelope's first acknowledgement; AssertionError (and a problem) if none came in time."""
        with self._lock:
            envelope = self._envelopes[envelope_id]
            # Wait a little past the deadline, so that a late ack is seen (and reported as late).
            waited = envelope.sent_at + 1.5 * self.ack_deadline - time.monotonic()
            if not self._lock.wait_for(lambda: envelope.acks, max(waited, 0.0)):
                self._note_missing_acks()
                raise AssertionError(f"the app never acknowledged {envelope.type} envelope {envelope_id}")
            return envelope.acks[0]

    def request(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool) -> Ack:
        """Send an envelope and wait for its acknowledgement."""
        envelope_id = self.send(kind, payload, accepts_response_payload=accepts_response_payload)
        return self.wait_ack(envelope_id)

    def _issuer(self) -> SlackStandIn:
        """The Web API stand-in that issues trigger_ids and response_urls (set by `web`)."""
        if self.web is None:
            raise RuntimeError("attach the Web API stand-in first: socket_mode.web = slack")
        return self.web

    def slash_command(self, text: str, user_id: str, channel_id: str, **fields: Any) -> Ack:
        """A slash command (`sandbox.signing.slash_command_body`'s fields) and its ack."""
        fields.setdefault("trigger_id", self._issuer().new_trigger_id())
        fields.setdefault("response_url", self._issuer().new_response_url(channel_id, user_id))
        form = slash_command_body(text, user_id, channel_id, **fields).decode()
        payload = dict(parse_qsl(form, keep_blank_values=True))
        return self.request("slash_commands", payload, accepts_response_payload=True)

    def block_actions(self, user_id: str, action_id: str, value: str, **fields: Any) -> Ack:
        """A button click (`sandbox.signing.block_actions_body`'s arguments) and its ack."""
        fields.setdefault("trigger_id", self._issuer().new_trigger_id())
        fields.setdefault("response_url", self._issuer().new_response_url(fields.get("channel_id") or "", user_id))
        payload = _interaction(block_actions_body(user_id, action_id, value, **fields))
        return self.request("interactive", payload, accepts_response_payload=False)

    def view_submission(
        self, user_id: str, callback_id: str, values: dict[str, dict[str, dict[str, Any]]], **fields: Any
    ) -> Ack:
        """A modal's submission (`sandbox.signing.view_submission_body`'s arguments) and its ack."""
        fields.setdefault("trigger_id", self._issuer().new_trigger_id())
        payload = _interaction(view_submission_body(user_id, callback_id, values, **fields))
        return self.request("interactive", payload, accepts_response_payload=True)

    def event(self, event: dict[str, Any], event_id: str, **fields: Any) -> Ack:
        """An Events API delivery (`sandbox.signing.event_body`'s arguments) and its ack."""
        payload = json.loads(event_body(event, event_id, **fields))
        return self.request("events_api", payload, accepts_response_payload=False)

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the app to reconnect, as Slack does before recycling a connection."""
        with self._lock:
            connection = self._newest()
        connection.send(json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}}))

    # ----- websocket side (server threads)

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse a handshake on a URL `open_url` never issued, or past Slack's connection limit."""
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._lock:
            if url.path != LINK_PATH or ticket not in self._tickets:
                self._problems.append(f"websocket handshake on {request.path}, a URL apps.connections.open never gave")
                return connection.respond(http.HTTPStatus.UNAUTHORIZED, "invalid ticket\n")
            if len(self._open) >= MAX_CONNECTIONS:
                self._problems.append(f"more than {MAX_CONNECTIONS} Socket Mode connections open at once")
                return connection.respond(http.HTTPStatus.TOO_MANY_REQUESTS, "too many connections\n")
        return None

    def _serve(self, connection: ServerConnection) -> None:
        with self._lock:
            self._open.append(connection)
            hello = {
                "type": "hello",
                "num_connections": len(self._open),
                "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        try:
            connection.send(json.dumps(hello))
            with self._lock:
                self._hellos += 1
                self._lock.notify_all()
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            pass  # slack_sdk's built-in client drops the socket without a close frame
        finally:
            with self._lock:
                self._open.remove(connection)
                self._lock.notify_all()

    def _receive(self, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
        except ValueError:
            ack = None
        with self._lock:
            if not isinstance(ack, dict) or not isinstance(ack.get("envelope_id"), str):
                self._problems.append(f"message from the app that is not an acknowledgement: {message!r:.200}")
                return
            envelope = self._envelopes.get(ack["envelope_id"])
            if envelope is None:
                self._problems.append(f"acknowledgement of unknown envelope {ack['envelope_id']}")
                return
            received = Ack(envelope.envelope_id, ack.get("payload"), time.monotonic() - envelope.sent_at)
            self._problems += _ack_problems(envelope, received, self.ack_deadline)
            envelope.acks.append(received)
            self._lock.notify_all()

    # ----- helpers (called under the lock)

    def _newest(self) -> ServerConnection:
        if not self._open:
            raise AssertionError("no Socket Mode connection is open: is the app running in Socket Mode?")
        return self._open[-1]

    def _note_missing_acks(self) -> None:
        now = time.monotonic()
        for envelope in self._envelopes.values():
            if not envelope.acks and not envelope.reported_missing and now - envelope.sent_at > self.ack_deadline:
                envelope.reported_missing = True
                self._problems.append(
                    f"{envelope.type} envelope {envelope.envelope_id} never acknowledged "
                    f"(Slack gives {self.ack_deadline:g} s, then shows the user an error)"
                )


def _interaction(body: bytes) -> dict[str, Any]:
    """The JSON payload of a form-encoded interactivity body (`payload=<json>`)."""
    return json.loads(parse_qs(body.decode())["payload"][0])


def _ack_problems(envelope: _Envelope, ack: Ack, deadline: float) -> list[str]:
    """What Slack would object to in one acknowledgement."""
    where = f"ack of {envelope.type} envelope {envelope.envelope_id}"
    found = []
    if envelope.acks:
        found.append(f"{where}: acknowledged twice")
    if ack.after > deadline:
        found.append(f"{where}: came after {ack.after:.1f} s (Slack gives {deadline:g} s)")
    if ack.payload is None:
        return found
    if not envelope.accepts_response_payload:
        return [*found, f"{where}: carries a payload, but this envelope accepts none (Slack drops it)"]
    if envelope.type == "slash_commands":
        found += [f"{where}: {p}" for p in block_kit_problems("chat.postEphemeral", ack.payload)]
    elif envelope.payload.get("type") == "view_submission":
        found += _response_action_problems(ack.payload, where)
    return found


def _response_action_problems(payload: dict[str, Any], where: str) -> list[str]:
    action = payload.get("response_action")
    if action not in RESPONSE_ACTIONS:
        return [f"{where}: response_action {action!r} is not one of {sorted(RESPONSE_ACTIONS)}"]
    if action == "errors":
        errors = payload.get("errors")
        if not isinstance(errors, dict) or not all(isinstance(v, str) for v in errors.values()):
            return [f"{where}: errors must map block_id to a message"]
        return []
    if action in ("update", "push"):
        return [f"{where}: {p}" for p in block_kit_problems("views.update", payload)]
    return []
