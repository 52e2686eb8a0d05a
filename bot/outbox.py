"""The outbox (DESIGN §8): Slack messages written with the change that causes them.

Rows are taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers
(threads or replicas) deliver each row once. Delivery itself lives in handlers/delivery.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models import OutboxKind as Kind  # callers write outbox.Kind.NOTICE
from models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 6
LEASE_SECONDS = 300  # a taken row is due again after this if its worker died mid-send
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 300.0


# A row of the key's kind needs the message of a row of the value's kind posted first
# (a card update needs the card's timestamp; a thread post, the case message's).
NEEDS_POSTED = {
    Kind.REFRESH_CARD: Kind.ANNOUNCE_LEAD,
    Kind.DISPUTE_REFRESH: Kind.DISPUTE_CASE,
    Kind.THREAD_POST: Kind.DISPUTE_CASE,
}


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
    LEAD_ESCALATED = "lead_escalated"  # lead, misses, holders [user ids]; to each manager
    PAUSED_FOR_MISSES = "paused_for_misses"  # misses (today); to the rep
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


def _message_key(needed: Kind, row: OutboxMessage) -> ColumnElement[bool]:
    """Rows about the same card (by lead) or the same case (by dispute) as `row`."""
    if needed == Kind.ANNOUNCE_LEAD:
        return OutboxMessage.lead_id == row.lead_id
    return OutboxMessage.dispute_id == row.dispute_id


def _same_message(needed: OutboxMessage, row: OutboxMessage) -> bool:
    """Whether `row` updates or replies to the message `needed` posts (the same card, the same case)."""
    if needed.kind == Kind.ANNOUNCE_LEAD:
        return row.payload.get("card_id") == needed.payload.get("card_id")
    return True


def needed_row(session: Session, row: OutboxMessage) -> OutboxMessage | None:
    """The row posting the message `row` updates or replies to: its card's announcement, its case."""
    needed = NEEDS_POSTED.get(Kind(row.kind))
    if needed is None:
        return None
    query = select(OutboxMessage).where(OutboxMessage.kind == needed, _message_key(needed, row))
    return next(
        (found for found in session.scalars(query.order_by(OutboxMessage.id)) if _same_message(found, row)), None
    )


def fail_dependents(session: Session, failed: OutboxMessage, error: str) -> list[OutboxMessage]:
    """Rows waiting for the message `failed` would have posted can never be sent: fail them now."""
    kinds = [kind for kind, needed in NEEDS_POSTED.items() if needed == failed.kind]
    waiting = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.kind.in_(kinds),
            _message_key(Kind(failed.kind), failed),
        )
    )
    dependents = [row for row in waiting if _same_message(failed, row)]
    for row in dependents:
        row.status, row.last_error = OutboxStatus.FAILED, error[:2000]
    return dependents
