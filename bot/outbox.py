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

from models import OutboxKind as Kind  # callers write outbox.Kind.NOTICE
from models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 6
LEASE_SECONDS = 300  # a taken row is due again after this if its worker died mid-send
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0


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


class Notice(StrEnum):
    """What the domain tells people; handlers/notices.py words each one from its facts."""

    DRAW_WON = "draw_won"  # lead, claimants
    DRAW_LOST = "draw_lost"  # lead, winner, claimants
    AUTO_ASSIGNED = "auto_assigned"  # lead, after_minutes
    ASSIGNED_TO_YOU = "assigned_to_you"  # lead, by
    REASSIGNED_AWAY = "reassigned_away"  # lead, by, to
    ROUTED_TO_ACCOUNT_OWNER = "routed_to_account_owner"  # lead, account_lead
    CONTACT_REMINDER = "contact_reminder"  # lead, deadline (ISO or None), timezone
    CLAIM_EXPIRED = "claim_expired"  # lead
    PARTY_STATEMENT = "party_statement"  # user, statement
    PARTY_WITHDREW = "party_withdrew"  # user, dispute
    DISPUTE_RESOLVED = "dispute_resolved"  # dispute, lead, outcome, by, shares [[user, percent]], reason
    DISPUTE_REMINDER = "dispute_reminder"  # dispute, lead, hours


def post(
    session: Session, now: datetime, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, **extra: Any
) -> OutboxMessage:
    """Text handlers/ already wrote, to a channel, thread (`thread_ts=`) or user id (a DM)."""
    return enqueue(session, Kind.POST, now, channel=channel, text=text, blocks=blocks, **extra)


def notify(session: Session, now: datetime, channel: str, notice: Notice, /, **facts: Any) -> OutboxMessage:
    """Tell a user (by DM) or a channel something; `facts` are JSON (ids, refs, numbers, raw user text)."""
    return enqueue(session, Kind.NOTICE, now, channel=channel, notice=notice, facts=facts)


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
