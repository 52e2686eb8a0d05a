"""The outbox (DESIGN §8): Slack messages written with the change that causes them.

A worker leases due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers,
threads or replicas, never take the same row), sends them outside any transaction, renews its
leases while they are in flight, and settles each row as soon as Slack answered. A worker that
dies leaves its rows due again when their short lease runs out. A row whose send may have reached
Slack without an answer (a timeout, a dead worker) is marked `unsure_since`, so whoever sends it
next looks for it in Slack first. Transient failures are retried with capped backoff until the
row is `MAX_AGE` old. Delivery itself lives in handlers/delivery.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from models import OutboxKind as Kind  # callers write outbox.Kind.NOTICE
from models import OutboxMessage, OutboxStatus

LEASE_SECONDS = 30.0  # a taken row is due again after this unless its worker renews the lease
RENEW_SECONDS = 5.0  # how often a worker renews the leases of rows it is still sending
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 30.0  # DESIGN §8: a message goes out within about this long of Slack coming back
MAX_AGE = timedelta(hours=24)  # a row failing for this long (transient errors) is given up, loudly


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
    LEAD_ESCALATED = "lead_escalated"  # lead, misses, holders [user ids]; to each manager and the card's thread
    NO_ELIGIBLE_REP = "no_eligible_rep"  # lead, skipped {user id: refusal record}, went_to, in_thread
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


def notify_thread(
    session: Session, now: datetime, channel: str, thread_ts: str, notice: Notice, /, **facts: Any
) -> OutboxMessage:
    """The same as `notify`, as a reply in the thread of the message `thread_ts` (a lead's card)."""
    return enqueue(session, Kind.NOTICE, now, channel=channel, notice=notice, facts=facts, thread_ts=thread_ts)


@dataclass(frozen=True)
class Leased:
    """A row taken for sending, and whether an earlier send of it may have reached Slack (since when)."""

    row: OutboxMessage
    unsure_since: datetime | None


def lease_due(
    session: Session,
    now: datetime,
    worker: str,
    *,
    limit: int = 100,
    lease_seconds: float = LEASE_SECONDS,
    skip: Collection[int] = (),
) -> list[Leased]:
    """Take due rows for `worker`, oldest first, skipping rows another worker holds (and `skip`).

    Taking pushes `available_at` a lease ahead, so once the caller commits no other worker sees
    these rows while they are sent outside any transaction. It also marks them unsure from now:
    settling a row clears that, so a worker that dies mid-send leaves its rows due again when
    the lease runs out, marked as possibly sent.
    """
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now)
    if skip:
        query = query.where(OutboxMessage.id.not_in(skip))
    query = query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    taken = []
    for row in session.scalars(query):
        taken.append(Leased(row, row.unsure_since))
        row.available_at = now + timedelta(seconds=lease_seconds)
        row.leased_by = worker
        row.unsure_since = row.unsure_since or now
    return taken


def lease_new(row: OutboxMessage, now: datetime, worker: str, lease_seconds: float = LEASE_SECONDS) -> None:
    """Take a row as it is queued, for `worker` to send right after the transaction commits:
    the same lease `lease_due` gives, without a transaction of its own."""
    row.available_at = now + timedelta(seconds=lease_seconds)
    row.leased_by = worker
    row.unsure_since = now


def renew(
    session: Session, row_ids: Collection[int], worker: str, now: datetime, lease_seconds: float = LEASE_SECONDS
) -> None:
    """Push the leases `worker` still holds on these rows a lease ahead (rows in flight)."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(row_ids),
            OutboxMessage.leased_by == worker,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(available_at=now + timedelta(seconds=lease_seconds))
    )


def held(session: Session, row_id: int, worker: str) -> OutboxMessage | None:
    """The row, locked for settling, if `worker` still holds its lease; None if it lost it
    (the lease ran out and another worker took the row) or the row is settled already."""
    row = session.get(OutboxMessage, row_id, with_for_update=True, populate_existing=True)
    if row is None or row.status != OutboxStatus.PENDING or row.leased_by != worker:
        return None
    return row


def mark_sent(row: OutboxMessage, now: datetime, result: dict[str, Any] | None = None) -> None:
    row.status, row.sent_at, row.result = OutboxStatus.SENT, now, result
    row.attempts += 1
    row.leased_by = row.unsure_since = None


def postpone(row: OutboxMessage, now: datetime, seconds: float, unsure_since: datetime | None) -> None:
    """Try again later without using up an attempt (rate limits, a card not posted yet); nothing
    reached Slack this time, so the row is as unsure as it was before it was taken."""
    row.available_at = now + timedelta(seconds=seconds)
    row.leased_by, row.unsure_since = None, unsure_since


def backoff_seconds(attempts: int) -> float:
    """2 s doubling, capped at 30 s (DESIGN §8)."""
    return min(BACKOFF_BASE_SECONDS * 2 ** min(attempts - 1, 16), BACKOFF_MAX_SECONDS)


def mark_failed_attempt(
    row: OutboxMessage, now: datetime, error: str, unsure_since: datetime | None, *, permanent: bool = False
) -> None:
    """Back off and try again; a permanent error, or a row `MAX_AGE` old, fails for good.

    `unsure_since`: since when a send may have reached Slack (None: Slack surely has not got it).
    """
    row.attempts += 1
    row.last_error = error[:2000]
    row.leased_by, row.unsure_since = None, unsure_since
    if permanent:
        row.status = OutboxStatus.FAILED
    elif now - row.created_at >= MAX_AGE:
        row.status = OutboxStatus.FAILED
        hours = MAX_AGE.total_seconds() / 3600
        row.last_error = f"gave up after {hours:g} h and {row.attempts} attempts; last: {error}"[:2000]
    else:
        row.available_at = now + timedelta(seconds=backoff_seconds(row.attempts))


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
        row.status, row.last_error, row.leased_by = OutboxStatus.FAILED, error[:2000], None
    return dependents
