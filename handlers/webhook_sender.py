"""Outgoing CRM webhooks: a lead event, signed like Slack signs its requests, POSTed to a
team's URL; in order per lead and URL (a later event waits until the earlier one is delivered).

Signature: `X-Dibs-Signature: v1=` + hex HMAC-SHA256 of `v1:{timestamp}:{body}` with the team's
secret, `X-Dibs-Request-Timestamp: {timestamp}` (Unix seconds). A 2xx answer delivers the event;
429 waits as long as `Retry-After` says; 400, 410, 413, 415 and 422 mean the receiver judged this
event and refused it for good, so it fails at once (visible in /metrics and `dibs doctor`) and the
lead's next event goes on; anything else (5xx, 401/403/404 of a receiver being set up, network
errors) is retried with backoff until the row is a day old (bot/outbox.py MAX_AGE).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.crm_config import env_name, secret_of
from handlers.slack_calls import Outcome
from models import OutboxMessage, OutboxStatus, Team

SIGNATURE_HEADER = "X-Dibs-Signature"
TIMESTAMP_HEADER = "X-Dibs-Request-Timestamp"
TIMEOUT_SECONDS = 10.0
WAIT_FOR_EARLIER_SECONDS = 2.0  # a later event for a lead looks again this soon
REFUSED_FOR_GOOD = frozenset({400, 410, 413, 415, 422})


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 of `v1:{timestamp}:{body}`."""
    base = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def event_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def earlier_pending(session: Session, row: OutboxMessage, key: Callable[[OutboxMessage], object]) -> bool:
    """Whether an earlier row of the same kind for the same lead (and `key`) is not delivered yet."""
    earlier = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == row.kind,
            OutboxMessage.lead_id == row.lead_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.id < row.id,
        )
    )
    return any(key(other) == key(row) for other in earlier)


class WebhookSender:
    """Sends a webhook row; `sessions()` opens a read-only session."""

    def __init__(self, sessions: Callable[[], Any], clock: Callable[[], datetime]):
        self._sessions = sessions
        self._clock = clock

    def send(self, row: OutboxMessage) -> Outcome:
        url = str(row.payload["url"])
        with self._sessions() as session:
            if earlier_pending(session, row, lambda other: other.payload.get("url")):
                return Outcome("postpone", WAIT_FOR_EARLIER_SECONDS)
            team = session.get(Team, row.team_id)
            crm = team.crm if team is not None else {}
        if url not in (crm.get("webhooks") or []):
            return Outcome("sent", result={"skipped": "the URL is no longer in the team's config"})
        ref = crm.get("webhook_secret")
        secret = secret_of(ref)
        if secret is None:
            return Outcome("retry", error=f"webhook secret: environment variable {env_name(ref or '')} is not set")
        return self._post(url, secret, event_body(row.payload["event"]))

    def _post(self, url: str, secret: str, body: bytes) -> Outcome:
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Dibs-Webhooks/1",
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
        }
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return Outcome("sent", result={"status": response.status})
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read(300).decode("utf-8", "replace")
            if status == 429:
                return Outcome("postpone", _retry_after(err.headers.get("Retry-After")))
            kind = "failed" if status in REFUSED_FOR_GOOD else "retry"
            return Outcome(kind, error=f"webhook {url}: HTTP {status} {text}"[:500])
        except (OSError, ValueError) as exc:  # refused, unreachable, timed out
            return Outcome("retry", error=f"webhook {url}: {type(exc).__name__}: {exc}"[:500])


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 5), 1.0), 3600.0)
    except ValueError:
        return 5.0
