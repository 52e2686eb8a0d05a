"""`seen_events` holds a day, not history: the replay cache forgets request digests past the
signature window (by real time, as Slack signs), and the scheduler forgets Slack event ids a day
old (by the app's clock, as they are recorded), so the table does not grow with every App Home
opened, while a retry within the day is still recognised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduler
from handlers.edge import ReplayCache
from handlers.pipeline import first_delivery
from models import SeenEvent

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _seen(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(SeenEvent.event_id)))


def _record(sessions: sessionmaker[Session], **ages: timedelta) -> None:
    with sessions.begin() as session:
        session.add_all(
            SeenEvent(event_id=event_id.replace("_", ":"), seen_at=NOW - age) for event_id, age in ages.items()
        )


def test_the_scheduler_forgets_event_ids_a_day_old(sessions: sessionmaker[Session]) -> None:
    _record(
        sessions,
        Ev0TWODAYS=timedelta(days=2),
        Ev0ANHOUR=timedelta(hours=1),
        body_digest=timedelta(days=2),  # a request digest: the replay cache's, by real time
    )

    scheduler.run_due(sessions, NOW)

    assert _seen(sessions) == {"Ev0ANHOUR", "body:digest"}
    with sessions.begin() as session:
        assert not first_delivery(session, "Ev0ANHOUR", NOW), "a retry within the day is still a retry"


def test_the_replay_cache_forgets_digests_past_the_window(engine: Engine, sessions: sessionmaker[Session]) -> None:
    _record(sessions, body_stale=timedelta(minutes=11), body_fresh=timedelta(minutes=1), Ev0OLD=timedelta(days=3))

    assert ReplayCache(engine, lambda: NOW).first_time(b"a signed request")

    assert {"body:fresh", "Ev0OLD"} <= _seen(sessions) and "body:stale" not in _seen(sessions)
