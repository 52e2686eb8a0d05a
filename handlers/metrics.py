"""Prometheus metrics: counters kept in-process, and outbox gauges read from the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox import MAX_AGE
from handlers.crm_health import CrmCollector
from infra.db import DATABASE_UNAVAILABLE
from models import OutboxMessage, OutboxStatus

MAX_AGE_HOURS = MAX_AGE.total_seconds() / 3600


class OutboxCollector(Collector):
    """Outbox rows by status, failed rows by kind and the age of the oldest waiting row, read at
    scrape time so every replica reports the same truth.

    With the database unreachable the outbox gauges are left out and `dibs_database_up` is 0,
    so a scrape still answers.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self._sessions = sessions
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("dibs_database_up", "1 when the last scrape could read the database")
        try:
            with self._sessions() as session:
                query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                rows = session.execute(query).all()
                failed_by_kind = session.execute(
                    select(OutboxMessage.kind, func.count())
                    .where(OutboxMessage.status == OutboxStatus.FAILED)
                    .group_by(OutboxMessage.kind)
                    .order_by(OutboxMessage.kind)
                ).all()
                oldest = session.scalar(
                    select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
                )
        except DATABASE_UNAVAILABLE:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        gauge = GaugeMetricFamily("dibs_outbox_messages", "Outbox messages by status", labels=["status"])
        counts = {"pending": 0, "sent": 0, "failed": 0} | {status: n for status, n in rows}
        for status, n in sorted(counts.items()):
            gauge.add_metric([status], n)
        yield gauge
        failed = GaugeMetricFamily(
            "dibs_outbox_failed_messages",
            "Outbox messages that will never reach Slack, by kind (refused, or needing a refused message)",
            labels=["kind"],
        )
        for kind, n in failed_by_kind:
            failed.add_metric([kind], n)
        yield failed
        waiting = GaugeMetricFamily(
            "dibs_outbox_oldest_pending_seconds",
            f"Age of the oldest message not yet delivered (0: none); Slack is retried until {MAX_AGE_HOURS:g} h",
        )
        age = (self._clock() - oldest).total_seconds() if oldest is not None else 0.0
        waiting.add_metric([], max(age, 0.0))
        yield waiting


class Metrics:
    """The app's metrics registry (one per app, so tests can run several side by side)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.registry = CollectorRegistry()
        self.registry.register(OutboxCollector(sessions, clock))
        self.registry.register(CrmCollector(sessions, clock))
        self.slack_calls = Counter(
            "dibs_slack_calls",
            "Slack Web API calls by method and outcome",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.leads_received = Counter(
            "dibs_leads_received",
            "Leads taken in, by path and result",
            ["path", "result"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
