"""The outbox-leases migration: digest runs of earlier releases keep their meaning."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.digest_post import DigestState, digest_state
from infra.db import alembic_config, migrate

BEFORE = "5b1e9c3d7a42"  # the revision before digest weeks counted as posted only once Slack took them
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

_outbox = sa.table(
    "outbox_messages",
    *(sa.column(name) for name in ("kind", "team_id", "channel", "status", "attempts", "created_at")),
    sa.column("available_at"),
    sa.column("sent_at"),
    sa.column("payload", sa.JSON),
)
_runs = sa.table("job_runs", sa.column("job"), sa.column("key"), sa.column("started_at"))


def old_digest(connection: sa.Connection, week: int, status: str | None) -> None:
    """A run taken when its digest was queued, as earlier releases did, and its rows (None: none left)."""
    connection.execute(sa.insert(_runs).values(job="digest", key=f"east/2026-W{week}", started_at=NOW))
    if status is None:
        return
    for kind in ("digest", "digest_chart"):
        connection.execute(
            sa.insert(_outbox).values(
                kind=kind,
                team_id="east",
                channel="C0EAST",
                status=status if kind == "digest" else "sent",
                attempts=1,
                created_at=NOW,
                available_at=NOW,
                sent_at=NOW if status == "sent" else None,
                payload={"year": 2026, "week": week},
            )
        )


def test_old_digest_runs_are_posted_only_if_their_digest_was_sent(engine: Engine, teams: sessionmaker[Session]) -> None:
    command.downgrade(alembic_config(engine), BEFORE)
    with engine.begin() as connection:
        old_digest(connection, 45, "sent")
        old_digest(connection, 46, "failed")
        old_digest(connection, 47, "pending")
        old_digest(connection, 44, None)  # its rows are gone: taken as posted, as before
    migrate(engine)
    with teams() as session:
        states = {week: digest_state(session, "east", 2026, week) for week in (44, 45, 46, 47)}
    assert states == {
        44: DigestState.POSTED,
        45: DigestState.POSTED,
        46: DigestState.FAILED,  # can be sent again
        47: DigestState.POSTING,
    }


def test_a_retire_copy_row_passes_the_kind_check_and_goes_on_downgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(_outbox).values(
                kind="retire_copy",
                channel="C0EAST",
                status="pending",
                attempts=0,
                created_at=NOW,
                available_at=NOW,
                payload={"ts": "1.000001"},
            )
        )
    command.downgrade(alembic_config(engine), BEFORE)
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(_outbox)) == 0
    migrate(engine)
