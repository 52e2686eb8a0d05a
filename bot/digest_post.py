"""Posting the weekly digest (DESIGN §9): once per team and week, through the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, outbox
from bot.digest import DIGEST_JOB, compute_digest, digest_run_key, due_digest_week, take_digest_run
from bot.teams import get_team
from models import JobRun, Team


def digest_posted(session: Session, team_id: str, year: int, week: int) -> bool:
    return (
        session.scalar(
            select(JobRun.id).where(JobRun.job == DIGEST_JOB, JobRun.key == digest_run_key(team_id, year, week))
        )
        is not None
    )


def queue_digest(session: Session, team: Team, year: int, week: int, now: datetime) -> bool:
    """Take the (team, week) run row and queue the digest and its chart; False if already taken.

    Both are rendered when they are sent (the chart then names each rep as Slack does that day),
    and both commit with the run row, or neither does.
    """
    if digest_posted(session, team.id, year, week) or not take_digest_run(session, team.id, year, week, now):
        return False
    digest = compute_digest(session, team.id, year, week, now)
    for kind in (outbox.Kind.DIGEST, outbox.Kind.DIGEST_CHART):
        outbox.enqueue(session, kind, now, team_id=team.id, channel=team.channel, year=year, week=week)
    audit.record(
        session,
        at=now,
        actor=audit.BOT_ACTOR,
        action="digest.queued",
        team_id=team.id,
        week=digest.label,
        partial=digest.partial,
    )
    return True


def queue_due_digests(sessions: sessionmaker[Session], now: datetime) -> int:
    """Scheduler job: every team whose digest time has passed gets last week's digest, once."""
    queued = 0
    with sessions() as session:
        due = [
            (team.id, due_week)
            for team in session.scalars(select(Team))
            if (due_week := due_digest_week(team, now)) and not digest_posted(session, team.id, *due_week)
        ]
    for team_id, (year, week) in due:
        with sessions.begin() as session:
            queued += queue_digest(session, get_team(session, team_id), year, week, now)
    return queued
