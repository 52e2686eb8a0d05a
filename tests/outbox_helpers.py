"""Helpers for the outbox tests: a clock the test moves, a worker on the stand-in, rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from handlers.delivery import Deliverer
from handlers.metrics import Metrics
from models import OutboxMessage
from sandbox.slack_web import SlackStandIn


class FakeClock:
    """The worker's clock: still until the test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def epoch(self) -> float:
        """The same moment as seconds since the epoch (the stand-in's clock: message ts, outages)."""
        return self.now.timestamp()


def deliverer(
    slack: SlackStandIn,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    paced: bool = False,
    timeout: float = 10,
    **options: Any,
) -> Deliverer:
    # slack_sdk annotates timeout as int; urllib takes float seconds
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=timeout)  # type: ignore[arg-type]
    interval = 1.0 if paced else 0.0
    return Deliverer(client, sessions, Metrics(sessions), clock, channel_interval=interval, **options)


def post(
    sessions: sessionmaker[Session], clock: Callable[[], datetime], text: str, channel: str = "C0EAST", **extra: Any
) -> int:
    with sessions.begin() as session:
        row = outbox.post(session, clock(), channel, text, **extra)
        session.flush()
        return row.id


def row(sessions: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with sessions() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        session.expunge(found)
        return found


def statuses(sessions: sessionmaker[Session]) -> dict[int, str]:
    """Every outbox row's status by id."""
    with sessions() as session:
        return {row_id: status for row_id, status in session.execute(select(OutboxMessage.id, OutboxMessage.status))}
