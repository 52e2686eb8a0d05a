"""The outbox (DESIGN §8): Slack messages written with the change that causes them.

Rows are taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers
(threads or replicas) deliver each row once. Delivery itself lives in handlers/delivery.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 6
LEASE_SECONDS = 300  # a taken row is due again after this if its worker died mid-send
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0


class Kind(StrEnum):
    ANNOUNCE_LEAD = "announce_lead"  # a lead card; waiting ones for a channel go out together
    REFRESH_CARD = "refresh_card"  # re-render the message holding a lead's card
    POST = "post"  # a message to a channel, a thread (payload thread_ts) or a user (DM)
    RESPOND = "respond"  # a private answer by an interaction's response_url (payload); a DM once it expired
    PUBLISH_HOME = "publish_home"  # App Home for one user
    DISPUTE_CASE = "dispute_case"  # the case in the mediation channel; its ts starts the thread
    DISPUTE_REFRESH = "dispute_refresh"  # re-render the case message (parties, outcome)
    THREAD_POST = "thread_post"  # a message in a dispute's thread
    DIGEST = "digest"  # the weekly fairness digest, rendered when sent
    UPLOAD = "upload"  # a file (the digest chart) shared to a channel


def enqueue(
    session: Session,
    kind: Kind,
    now: datetime,
    *,
    team_id: str | None = None,
    channel: str | None = None,
    lead_id: int | None = None,
    dispute_id: int | None = None,
    **payload: Any,
) -> OutboxMessage:
    """Add a message to the caller's transaction; it is sent only if that commits."""
    row = OutboxMessage(
        kind=kind,
        team_id=team_id,
        channel=channel,
        lead_id=lead_id,
        dispute_id=dispute_id,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
        available_at=now,
    )
    session.add(row)
    return row


def post(
    session: Session, now: datetime, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, **extra: Any
) -> OutboxMessage:
    """A message to a channel, thread (`thread_ts=`) or user id (a DM in the app's Messages tab)."""
    return enqueue(session, Kind.POST, now, channel=channel, text=text, blocks=blocks, **extra)


def lease_due(session: Session, now: datetime, limit: int = 100) -> list[OutboxMessage]:
    """Take due rows for sending, oldest first, skipping rows another worker holds.

    Taking pushes `available_at` a lease ahead, so once the caller commits no other worker
    sees these rows while they are sent outside any transaction; a worker that dies
    mid-send leaves them due again when the lease runs out.
    """
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.available_at = now + timedelta(seconds=LEASE_SECONDS)
    return rows


def mark_sent(row: OutboxMessage, now: datetime, result: dict[str, Any] | None = None) -> None:
    row.status, row.sent_at, row.result = OutboxStatus.SENT, now, result
    row.attempts += 1


def postpone(row: OutboxMessage, now: datetime, seconds: float) -> None:
    """Try again later without using up an attempt (rate limits, a card not posted yet)."""
    row.available_at = now + timedelta(seconds=seconds)


def mark_failed_attempt(row: OutboxMessage, now: datetime, error: str, *, permanent: bool = False) -> None:
    """Back off exponentially; after the last attempt (or a permanent error) the row is failed."""
    row.attempts += 1
    row.last_error = error[:2000]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
        return
    delay = min(BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1), BACKOFF_MAX_SECONDS)
    row.available_at = now + timedelta(seconds=delay)
