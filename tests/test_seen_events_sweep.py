"""`seen_events` holds minutes, not history: the replay cache's sweep forgets request digests past
the signature window and Slack event ids past any retry of theirs (a day), so the table does not
grow with every App Home opened, and a retry inside that day is still recognised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from handlers.edge import ReplayCache
from handlers.pipeline import first_delivery
from models import SeenEvent

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_sweep_forgets_old_event_ids_and_digests_and_keeps_the_rest(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        session.add_all(
            [
                SeenEvent(event_id="Ev0TWODAYS", seen_at=NOW - timedelta(days=2)),
                SeenEvent(event_id="Ev0ANHOUR", seen_at=NOW - timedelta(hours=1)),
                SeenEvent(event_id="body:stale", seen_at=NOW - timedelta(minutes=11)),
                SeenEvent(event_id="body:fresh", seen_at=NOW - timedelta(minutes=1)),
            ]
        )

    assert ReplayCache(engine, lambda: NOW).first_time(b"a signed request")

    with sessions() as session:
        kept = set(session.scalars(select(SeenEvent.event_id)))
    assert "Ev0TWODAYS" not in kept and "body:stale" not in kept
    assert {"Ev0ANHOUR", "body:fresh"} <= kept and len(kept) == 3
    with sessions.begin() as session:
        assert not first_delivery(session, "Ev0ANHOUR", NOW), "a retry within the day is still a retry"
