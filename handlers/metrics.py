"""Prometheus metrics: counters kept in-process, and gauges and business totals read from the
database at scrape time (so every replica reports the same truth, whichever did the work)."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from bot import scheduler
from bot.outbox import MAX_AGE
from handlers.crm_health import CrmCollector
from infra.db import DATABASE_UNAVAILABLE
from models import AuditEvent, Dispute, DisputeStatus, Lead, OutboxMessage, OutboxStatus

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


# How a lead got its owner (ownership's choice kinds), as the claims metric names it.
CLAIM_HOW = {"first_claim": "click", "draw": "draw", "auto": "auto", "manager": "manager", "dispute": "dispute"}
LATE_AFTER = timedelta(minutes=2)  # a timer still due this long after its time counts as late
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800)


Labelled = ColumnElement[Any] | InstrumentedAttribute[Any]
TALLY_TAIL_IDS = 10_000  # ids under the newest counted that a transaction still open may yet commit
SOURCES_PER_TEAM = 20  # `source` labels kept per team (the first seen); others count as "other"


class IdTally:
    """Running totals of a table's rows by labels, each row id counted once, so that a counter
    read from the database (the cluster's count, in every process) does not read all history at
    every scrape. The first scrape counts by group up to the newest id less TALLY_TAIL_IDS; every
    scrape then reads row by row only the ids above that floor, which follows the newest id."""

    def __init__(self, key: InstrumentedAttribute[int], labels: Sequence[Labelled], *where: ColumnElement[bool]):
        self._key, self._labels, self._where = key, list(labels), where
        self._totals: collections.Counter[tuple[Any, ...]] = collections.Counter()
        self._floor: int | None = None  # every id up to here is in the totals
        self._counted: set[int] = set()  # ids above the floor already counted
        self._lock = threading.Lock()

    def totals(self, session: Session) -> dict[tuple[Any, ...], int]:
        """The totals by labels, as of now."""
        with self._lock:
            newest = session.scalar(select(func.max(self._key))) or 0  # the table's, whatever it counts
            if self._floor is None:
                self._floor = max(newest - TALLY_TAIL_IDS, 0)
                grouped = select(*self._labels, func.count()).where(*self._where, self._key <= self._floor)
                for *labels, count in session.execute(grouped.group_by(*self._labels)):
                    self._totals[tuple(labels)] += count
            recent = select(self._key, *self._labels).where(*self._where, self._key > self._floor)
            for row_id, *labels in session.execute(recent):
                if row_id not in self._counted:
                    self._counted.add(row_id)
                    self._totals[tuple(labels)] += 1
            self._floor = max(self._floor, newest - TALLY_TAIL_IDS)
            self._counted = {row_id for row_id in self._counted if row_id > self._floor}
            return dict(self._totals)


class BusinessCollector(Collector):
    """Is the business flowing: leads in, claims by how, disputes open, timers late, outbox due."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]):
        self._sessions = sessions
        self._clock = clock
        self._leads = IdTally(Lead.id, [Lead.team_id, Lead.source])
        self._owned = IdTally(
            AuditEvent.id,
            [AuditEvent.team_id, AuditEvent.details["way"].as_string()],
            AuditEvent.action == "lead.owned",
        )
        self._sources: dict[str, set[str]] = collections.defaultdict(set)  # the labels each team's sources got

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        now = self._clock()
        try:
            with self._sessions() as session:
                families = list(self._families(session, now))
        except DATABASE_UNAVAILABLE:
            return  # dibs_database_up says so
        yield from families

    def _families(self, session: Session, now: datetime) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        leads = CounterMetricFamily(
            "dibs_leads",
            f"Leads received, by team and source (a team's first {SOURCES_PER_TEAM} sources; others: other)",
            labels=["team", "source"],
        )
        by_source: collections.Counter[tuple[str, str]] = collections.Counter()
        for (team, source), n in sorted(self._leads.totals(session).items(), key=lambda item: -item[1]):
            by_source[team, self._source_label(team, source or "none")] += n
        for labels, n in by_source.items():
            leads.add_metric(list(labels), n)
        yield leads
        claims = CounterMetricFamily(
            "dibs_claims",
            "Leads given an owner, by team and how (click, draw, auto, manager, dispute, route)",
            labels=["team", "how"],
        )
        by_how: collections.Counter[tuple[str, str]] = collections.Counter()
        for (team, kind), n in self._owned.totals(session).items():
            by_how[team or "none", CLAIM_HOW.get(kind, kind or "unknown")] += n
        for labels, n in by_how.items():
            claims.add_metric(list(labels), n)
        yield claims
        open_disputes = GaugeMetricFamily(
            "dibs_disputes_open", "Disputes waiting for a decision, by team", labels=["team"]
        )
        oldest = GaugeMetricFamily(
            "dibs_dispute_oldest_open_seconds", "Age of the team's oldest open dispute", labels=["team"]
        )
        for team, n, opened in session.execute(
            select(Dispute.team_id, func.count(), func.min(Dispute.opened_at))
            .where(Dispute.status == DisputeStatus.OPEN)
            .group_by(Dispute.team_id)
        ):
            open_disputes.add_metric([team], n)
            oldest.add_metric([team], max((now - opened).total_seconds(), 0.0))
        yield open_disputes
        yield oldest
        due = (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.available_at <= now)
        depth, first_due = session.execute(select(func.count(), func.min(OutboxMessage.available_at)).where(due)).one()
        yield GaugeMetricFamily("dibs_outbox_due_messages", "Outbox messages due to be sent now", value=depth)
        yield GaugeMetricFamily(
            "dibs_outbox_oldest_due_seconds",
            "How long the oldest due outbox message has waited past its time (0: none)",
            value=max((now - first_due).total_seconds(), 0.0) if first_due else 0.0,
        )
        late = GaugeMetricFamily(
            "dibs_scheduled_jobs_late",
            f"Timers still due {LATE_AFTER.total_seconds():g} s after their time, by job (no scheduler running?)",
            labels=["job"],
        )
        for name, due_query, _act in scheduler.JOBS:
            late.add_metric(
                [name], session.scalar(select(func.count()).select_from(due_query(now - LATE_AFTER).subquery())) or 0
            )
        yield late

    def _source_label(self, team: str, source: str) -> str:
        """A CRM names sources freely: each team keeps the first SOURCES_PER_TEAM it sent (most
        leads first at start), so the series stay bounded."""
        seen = self._sources[team]
        if source in seen:
            return source
        if len(seen) < SOURCES_PER_TEAM:
            seen.add(source)
            return source
        return "other"


class Metrics:
    """The app's metrics registry (one per app, so tests can run several side by side)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.registry = CollectorRegistry()
        self.registry.register(OutboxCollector(sessions, clock))
        self.registry.register(CrmCollector(sessions, clock))
        self.registry.register(BusinessCollector(sessions, clock))
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

        self.refusals = Counter(
            "dibs_refusals",
            "Requests refused by a rule, by rule (limits, permissions, ...)",
            ["rule"],
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "dibs_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error (no_answer: no HTTP answer)",
            ["method", "error"],
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "dibs_delivery_latency_seconds",
            "From the commit that queued a message to Slack's answer accepting it, by kind",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs_run = Counter(
            "dibs_scheduled_jobs_run",
            "Timers handled by this process's scheduler, by job",
            ["job"],
            registry=self.registry,
        )

    def run_scheduler(self, sessions: sessionmaker[Session], now: datetime) -> bool:
        """One scheduler tick, counted by job; True if it handled anything."""
        counts: collections.Counter[str] = collections.Counter()
        handled = scheduler.run_due(sessions, now, counts)
        for job, n in counts.items():
            if n:
                self.jobs_run.labels(job).inc(n)
        return handled > 0

    def render(self) -> bytes:
        return generate_latest(self.registry)
