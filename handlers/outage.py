"""When the database cannot be reached: answers that say so, and one log line per outage.

A request that meets a database outage gets an answer instead of a 500: Slack an ephemeral
"try again" (HTTP 200, so Slack shows it), the webhook a JSON 503 with `Retry-After`. The
log gets one line when an outage starts and one when the database answers again, instead of
a traceback per request and per background tick.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy import Engine, event

from infra.db import why_unavailable

log = logging.getLogger("dibs.database")

DATABASE_DOWN_TEXT = "Dibs can't reach its database, try again in a minute."
RETRY_AFTER_SECONDS = 60


class OutageLog:
    """Says once that the database became unreachable, and once that it is back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException) -> None:
        """A database call failed for want of a database; logged if it starts an outage."""
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.error(
            "database unreachable (%s); answering 'try again in a minute' until it is back", why_unavailable(error)
        )

    def recovered(self) -> None:
        """The database answered; ends an outage if one was on."""
        if self._down_since is None:
            return
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            log.warning("database reachable again after %.0f s", time.monotonic() - since)

    def watch(self, engine: Engine) -> None:
        """Count every connection the pool hands out (after its ping) as the database answering."""
        event.listen(engine, "checkout", lambda *_: self.recovered())


OUTAGE = OutageLog()  # one process talks to one database


def slack_answer(body: dict[str, Any]) -> dict[str, Any] | None:
    """What Slack shows for `body` while the database is down (None: an empty 200).

    A slash command shows an ephemeral text; a modal shows the text on its first input.
    A click cannot carry text in its HTTP answer; it gets an empty 200, never a 500.
    """
    if "command" in body:
        return {"response_type": "ephemeral", "text": DATABASE_DOWN_TEXT}
    if body.get("type") == "view_submission":
        inputs = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        if inputs:
            return {"response_action": "errors", "errors": {next(iter(inputs)): DATABASE_DOWN_TEXT}}
    return None


def bolt_answer(error: BaseException, body: dict[str, Any]) -> BoltResponse:
    """The bolt error handler's answer to a listener that met a database outage."""
    OUTAGE.failed(error)
    answer = slack_answer(body)
    if answer is None:
        return BoltResponse(status=200, body="")
    return BoltResponse(status=200, body=json.dumps(answer), headers={"content-type": "application/json"})


def webhook_answer() -> tuple[dict[str, Any], int, dict[str, str]]:
    """The intake webhook's answer: a JSON 503 saying when to try again."""
    errors = {"database": f"unreachable; retry in {RETRY_AFTER_SECONDS} s"}
    return {"errors": errors}, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}
