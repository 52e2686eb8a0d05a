"""Whether the CRM hears what happens: webhook and HubSpot rows waiting or failed, per team and
receiver, in /metrics and `dibs doctor`; and whether the secrets the config names are set."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.crm_config import env_name, secret_of
from handlers.doctor import Finding
from infra.db import DATABASE_UNAVAILABLE
from models import OutboxKind, OutboxMessage, OutboxStatus, Team

CRM_KINDS = (OutboxKind.WEBHOOK, OutboxKind.HUBSPOT_OWNER)
STUCK_AFTER = timedelta(minutes=10)  # a CRM event waiting this long: the receiver is down or refusing


def _receiver(row: OutboxMessage) -> str:
    """The webhook's host and path (never its query, which may hold a token), or `hubspot`."""
    if row.kind == OutboxKind.HUBSPOT_OWNER:
        return "hubspot"
    url = urlsplit(str(row.payload.get("url", "")))
    return f"{url.netloc}{url.path}"


def crm_backlog(session: Session) -> dict[tuple[str, str, str], tuple[int, datetime | None, str | None]]:
    """(team, receiver, status) → (rows, oldest created_at, last error) of pending and failed CRM rows."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind.in_(CRM_KINDS), OutboxMessage.status != OutboxStatus.SENT)
        .order_by(OutboxMessage.id)
    )
    found: dict[tuple[str, str, str], tuple[int, datetime | None, str | None]] = {}
    for row in rows:
        key = (row.team_id or "", _receiver(row), str(row.status))
        count, oldest, _ = found.get(key, (0, row.created_at, None))
        found[key] = (count + 1, oldest, row.last_error)
    return found


class CrmCollector(Collector):
    """`dibs_crm_events{team,receiver,status}` and the age of the oldest waiting one, read at scrape."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self._sessions = sessions
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self._sessions() as session:
                backlog = crm_backlog(session)
        except DATABASE_UNAVAILABLE:
            return
        events = GaugeMetricFamily(
            "dibs_crm_events",
            "CRM events (webhooks, HubSpot) not delivered, by team, receiver and status (pending, failed)",
            labels=["team", "receiver", "status"],
        )
        waiting = GaugeMetricFamily(
            "dibs_crm_oldest_pending_seconds",
            "Age of the oldest CRM event a receiver has not taken yet",
            labels=["team", "receiver"],
        )
        now = self._clock()
        for (team, receiver, status), (count, oldest, _) in sorted(backlog.items()):
            events.add_metric([team, receiver, status], count)
            if status == OutboxStatus.PENDING and oldest is not None:
                waiting.add_metric([team, receiver], max((now - oldest).total_seconds(), 0.0))
        yield events
        yield waiting


def check_crm(sessions: sessionmaker[Session], now: datetime) -> Iterator[Finding]:
    """Secrets the config names are set; no CRM event failed or has waited ten minutes."""
    with sessions() as session:
        teams = [(team.id, team.crm) for team in session.scalars(select(Team).order_by(Team.id))]
        backlog = crm_backlog(session)
    for slug, crm in teams:
        for key in ("webhook_secret", "hubspot_token"):
            ref = (crm or {}).get(key)
            if ref and secret_of(ref) is None:
                yield Finding(False, f"team {slug} crm.{key}: environment variable {env_name(ref)} is not set: set it")
    wired = any(crm and (crm.get("webhooks") or crm.get("hubspot_token")) for _, crm in teams)
    problems = False
    for (team, receiver, status), (count, oldest, error) in sorted(backlog.items()):
        if status == OutboxStatus.FAILED:
            problems = True
            yield Finding(
                False,
                f"team {team}: {count} CRM event(s) to {receiver} failed (last: {error}): fix the receiver; "
                "later events went on, these need replaying from the audit log",
            )
        elif oldest is not None and now - oldest >= STUCK_AFTER:
            problems = True
            minutes = int((now - oldest).total_seconds() // 60)
            yield Finding(
                False,
                f"team {team}: {count} CRM event(s) to {receiver} waiting for {minutes} min (last: {error}): "
                "check the receiver is up and takes the signature; they are retried until a day old",
            )
    if wired and not problems:
        yield Finding(True, "CRM events delivered (none failed or waiting long)")
