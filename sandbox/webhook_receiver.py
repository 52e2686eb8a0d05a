"""A CRM's webhook endpoint on loopback, for tests and the demo: it takes a Dibs lead event only
if it is signed the way docs/crm.md tells receivers to check, and can be made to be down.

Refused (and recorded as a problem): another method than POST, a content type other than JSON,
a missing or non-numeric timestamp, a timestamp more than five minutes from the receiver's clock,
a missing or wrong `X-Dibs-Signature` (compared in constant time), a body that is not a JSON
object. While `down`, every request is answered 503 and nothing is recorded as received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from sandbox.loopback import LoopbackServer

MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Received:
    """An event taken: its parsed body and the raw bytes that were signed."""

    event: dict[str, Any]
    body: bytes


class WebhookReceiver(LoopbackServer):
    """Start it, give Dibs `url` and `secret`; `received` lists the accepted events in order."""

    thread_name = "webhook receiver"

    def __init__(self, secret: str, clock: Callable[[], float] = time.time):
        super().__init__()
        self.secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.problems: list[str] = []
        self.down = False
        self.refuse_with: int | None = None  # answer this status to every request (as a CRM that rejects it)
        self.refused_while_down = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/dibs"

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [taken.event for taken in self.received]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def check(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        """(status, reason) for a request; 200 only for a correctly signed, fresh JSON event."""
        if method != "POST":
            return 405, "only POST"
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return 415, "Content-Type must be application/json"
        stamp = headers.get("x-dibs-request-timestamp", "")
        if not stamp.isdigit():
            return 401, "missing or malformed X-Dibs-Request-Timestamp"
        if abs(self._clock() - int(stamp)) > MAX_SKEW_SECONDS:
            return 401, "timestamp more than 5 minutes from now (a replay?)"
        given = headers.get("x-dibs-signature", "")
        base = f"v1:{stamp}:".encode() + body
        wanted = "v1=" + hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), wanted.encode()):
            return 401, "X-Dibs-Signature does not match the body"
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, "body is not JSON"
        if not isinstance(event, dict):
            return 400, "body is not a JSON object"
        with self._lock:
            self.received.append(Received(event, body))
        return 200, "ok"


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if receiver.down:
                receiver.refused_while_down += 1
                status, reason = 503, "down"
            elif receiver.refuse_with is not None:
                status, reason = receiver.refuse_with, "refused by the test"
            else:
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, reason = receiver.check(self.command, headers, body)
                if status != 200:
                    with receiver._lock:
                        receiver.problems.append(f"{self.command} {self.path}: {status} {reason}")
            answer = json.dumps({"ok": status == 200, "reason": reason}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_GET = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
