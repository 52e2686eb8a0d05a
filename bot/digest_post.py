"""Posting the weekly digest (DESIGN §9): once per team and week, through the outbox.

The (team, week) run row (models JobRun, unique) is taken when the digest is first queued and
names its outbox rows; the week counts as posted only when Slack accepted the digest
(`digest_accepted`, called by the worker as it settles the row). A digest that failed, refused
or given up after the outbox's age limit, can be queued again: by a manager or `dibs digest
send` at once, by the scheduler an hour after the last try.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, outbox
from bot.digest import DIGEST_JOB, compute_digest, digest_run_key, due_digest_week, take_digest_run
from bot.teams import get_team
from models import JobRun, OutboxMessage, OutboxStatus, Team

RETRY_AFTER = timedelta(hours=1)  # the scheduler queues a failed digest again after this
DIGEST_KINDS = (outbox.Kind.DIGEST, outbox.Kind.DIGEST_CHART)


class DigestState(StrEnum):
    """Where a (team, week) digest stands."""

    NOT_QUEUED = "not_queued"
    QUEUED = "queued"  # queued now by this call
    POSTING = "posting"  # queued earlier; Slack has not accepted it yet
    FAILED = "failed"  # Slack refused it, or the outbox gave up: it may be queued again
    POSTED = "posted"  # Slack accepted the digest


def _run(session: Session, team_id: str, year: int, week: int) -> JobRun | None:
    query = select(JobRun).where(JobRun.job == DIGEST_JOB, JobRun.key == digest_run_key(team_id, year, week))
    return session.scalar(query)


def _queued_rows(session: Session, run: JobRun) -> dict[str, OutboxMessage]:
    """The run's outbox rows by kind, as its last queueing named them."""
    ids = (run.result or {}).get("rows", {})
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids.values())))
    return {row.kind: row for row in rows}


def digest_state(session: Session, team_id: str, year: int, week: int) -> DigestState:
    run = _run(session, team_id, year, week)
    if run is None:
        return DigestState.NOT_QUEUED
    if run.finished_at is not None:
        return DigestState.POSTED
    rows = _queued_rows(session, run).values()
    return DigestState.POSTING if any(row.status == OutboxStatus.PENDING for row in rows) else DigestState.FAILED


def queue_digest(
    session: Session, team: Team, year: int, week: int, now: datetime, *, retry_after: timedelta = timedelta()
) -> DigestState:
    """Queue the (team, week) digest and its chart unless it is posted or on its way: QUEUED if
    this call queued it, else the state that kept it from queueing.

    A failed digest is queued again once its last try is `retry_after` old; its chart too,
    unless that was shared. Replicas race on the run row: its insert (unique) the first time,
    a conditional update of its `started_at` after, so only one of them queues. Both rows are
    rendered when they are sent (the chart then names each rep as Slack does that day), and both
    commit with the run row, or neither does.
    """
    run = _run(session, team.id, year, week)
    if run is None:
        if not take_digest_run(session, team.id, year, week, now):
            return DigestState.POSTING  # another replica took it this very moment
        run = _run(session, team.id, year, week)
        assert run is not None
        kinds = list(DIGEST_KINDS)
    else:
        state = digest_state(session, team.id, year, week)
        if state != DigestState.FAILED or now - run.started_at < retry_after:
            return state
        if not _retake(session, run, now):
            return DigestState.POSTING
        shared = {kind for kind, row in _queued_rows(session, run).items() if row.status == OutboxStatus.SENT}
        kinds = [kind for kind in DIGEST_KINDS if kind not in shared]
    rows = {
        kind: outbox.enqueue(session, kind, now, team_id=team.id, channel=team.channel, year=year, week=week)
        for kind in kinds
    }
    session.flush()
    named = (run.result or {}).get("rows", {}) | {kind.value: row.id for kind, row in rows.items()}
    run.result = {"rows": named}
    digest = compute_digest(session, team.id, year, week, now)
    audit.record(
        session,
        at=now,
        actor=audit.BOT_ACTOR,
        action="digest.queued",
        team_id=team.id,
        week=digest.label,
        partial=digest.partial,
    )
    return DigestState.QUEUED


def _retake(session: Session, run: JobRun, now: datetime) -> bool:
    """Take a failed run again; False if another replica re-took it since we read it."""
    taken = session.execute(
        update(JobRun)
        .where(JobRun.id == run.id, JobRun.started_at == run.started_at, JobRun.finished_at.is_(None))
        .values(started_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(run)
    return True


def digest_accepted(session: Session, row: OutboxMessage, now: datetime) -> None:
    """Slack accepted this DIGEST row: its week counts as posted (the worker calls this as it
    settles the row, in the same transaction)."""
    run = _run(session, row.team_id or "", row.payload["year"], row.payload["week"])
    if run is not None and run.finished_at is None:
        run.finished_at = now


def queue_due_digests(sessions: sessionmaker[Session], now: datetime) -> int:
    """Scheduler job: every team whose digest time has passed gets last week's digest, once;
    one that failed is queued again an hour after its last try."""
    queued = 0
    with sessions() as session:
        due = [
            (team.id, due_week)
            for team in session.scalars(select(Team))
            if (due_week := due_digest_week(team, now)) and _due(session, team.id, *due_week, now)
        ]
    for team_id, (year, week) in due:
        with sessions.begin() as session:
            state = queue_digest(session, get_team(session, team_id), year, week, now, retry_after=RETRY_AFTER)
            queued += state == DigestState.QUEUED
    return queued


def _due(session: Session, team_id: str, year: int, week: int, now: datetime) -> bool:
    """Whether the scheduler should queue this digest (read-only, so a quiet tick writes nothing)."""
    state = digest_state(session, team_id, year, week)
    if state == DigestState.NOT_QUEUED:
        return True
    run = _run(session, team_id, year, week)
    return state == DigestState.FAILED and run is not None and now - run.started_at >= RETRY_AFTER
