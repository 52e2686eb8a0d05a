"""The outbox worker (DESIGN §8): leases due rows, sends them concurrently across channels and
users, and settles each row as soon as Slack answered.

Rows go into lanes, one per channel (per user for App Home, per click for its private answer,
per dispute for its case and thread, per message for updates of a posted card): a lane sends its
rows one after another, in order and at the channel's pace (one message a second), while a small
pool of threads works on different lanes at once.
A channel's waiting lead cards go out together (up to 10 cards a message). 429s are honoured
with `Retry-After`; other failures back off (bot/outbox.py) and are retried until the row is a
day old. Leases are renewed while rows are in flight; a row whose send may have reached Slack is
looked for before it is sent again (handlers/slack_calls.py).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.digest_post import digest_accepted
from handlers.hubspot_sync import HUBSPOT_API_URL
from handlers.metrics import Metrics
from handlers.outage import OUTAGE
from handlers.senders import Job, Senders, never_posted
from handlers.slack_calls import PACE_WAIT_SECONDS, MethodBudget, Outcome, SlackCalls
from handlers.views import CARDS_PER_MESSAGE
from infra.db import database_unavailable
from models import Dispute, LeadCard, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

DELIVERY_THREADS = 32  # lanes sent at once by one worker (threads mostly wait for Slack)
DATABASE_CONNECTIONS = 4  # of the pool the worker's threads use at once (requests need theirs)
LEASE_BATCH = 100  # rows taken by one lease
MAX_HELD = 400  # rows one worker holds at most (leased, not yet settled)
DISPUTE_KINDS = (outbox.Kind.DISPUTE_CASE, outbox.Kind.DISPUTE_REFRESH, outbox.Kind.THREAD_POST)


def lane_of(row: OutboxMessage) -> str:
    """Rows of one lane are sent one after another, in order; lanes run side by side. A click's
    answer has a lane of its own (its interaction's response_url): answers to different clicks
    are independent messages, so one rep's quick clicks are answered side by side too."""
    if row.kind in (outbox.Kind.RESPOND, outbox.Kind.LIMITS_PREVIEW):
        return str(row.payload["response_url"] or row.payload["user"])
    if row.kind == outbox.Kind.PUBLISH_HOME:
        return str(row.payload["user"])
    if row.kind in DISPUTE_KINDS:
        return f"dispute:{row.dispute_id}"
    if row.kind in (outbox.Kind.WEBHOOK, outbox.Kind.HUBSPOT_OWNER):  # in order per lead and receiver
        return f"{row.kind}:{row.lead_id}:{row.payload.get('url', '')}"
    if row.kind == outbox.Kind.REFRESH_CARD and row.payload.get("ts"):
        # chat.update is paced per method, not per channel (Slack's tier 3): updates of different
        # messages go side by side; one message's updates take turns (Senders._refresh).
        return f"message:{row.channel}:{row.payload['ts']}"
    return row.channel or ""  # posts keep the channel's pace; a card not yet posted follows its post


class BoundedSessions:
    """Sessions for the worker's threads, at most `limit` open at once, so a busy worker cannot
    take the connections the server's request threads need. Nothing opens one inside another."""

    def __init__(self, sessions: sessionmaker[Session], limit: int):
        self._sessions = sessions
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        with self._slots, self._sessions() as session:
            yield session

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self._slots, self._sessions.begin() as session:
            yield session


class Ticket:
    """Rows taken together; `wait` until each of them is settled."""

    def __init__(self, row_ids: Collection[int]):
        self._pending = set(row_ids)
        self._done = threading.Condition()
        self.kinds: dict[int, str] = {}  # row id -> the kind of outcome it was settled with

    def settled(self, row_id: int, kind: str) -> None:
        with self._done:
            self._pending.discard(row_id)
            self.kinds[row_id] = kind
            self._done.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        with self._done:
            return self._done.wait_for(lambda: not self._pending, timeout)


class Deliverer:
    """The outbox worker, able to send every kind of row, whoever runs it (`serve`, `digest send`,
    the demo); several (threads or replicas) may run, the outbox lease keeps them apart.

    `pump` (the serve loop) leases and returns at once; `tick` waits until what it took is
    settled; `lease_new` takes a row as it is queued and `send_leased` sends it at once, right
    after the transaction that queued it commits. `budget`: the per-method limits it keeps under
    (Slack's, `METHOD_LIMITS`).
    """

    def __init__(
        self,
        client: WebClient,
        sessions: sessionmaker[Session],
        metrics: Metrics,
        clock: Callable[[], datetime],
        channel_interval: float = 1.0,
        *,
        threads: int = DELIVERY_THREADS,
        lease_seconds: float = outbox.LEASE_SECONDS,
        renew_seconds: float = outbox.RENEW_SECONDS,
        database_connections: int = DATABASE_CONNECTIONS,
        worker: str | None = None,
        hubspot_url: str = HUBSPOT_API_URL,
        budget: MethodBudget | None = None,
    ):
        self._sessions = BoundedSessions(sessions, database_connections)
        self._clock = clock
        self._metrics = metrics
        self._calls = SlackCalls(client, metrics, channel_interval, budget)
        self._senders = Senders(self._calls, self._sessions, sessions, metrics, clock, hubspot_url)
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self.worker = worker or f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outbox")
        self._lock = threading.Lock()
        self._lanes: dict[str, deque[Job]] = {}  # lanes with a thread on them, and their waiting rows
        self._held: dict[int, Ticket] = {}  # rows leased and not yet settled
        self._seq = 0  # leases taken so far
        self._keeper: threading.Thread | None = None
        self._closed = threading.Event()

    # ---- taking rows -------------------------------------------------------------------

    def pump(self) -> bool:
        """Lease what is due and start sending it without waiting for Slack; True if rows were
        taken (the serve loop then runs again at once)."""
        room = min(LEASE_BATCH, MAX_HELD - len(self._held))
        return room > 0 and self._take(room) is not None

    def tick(self) -> bool:
        """Deliver what is due and wait until it is settled; True if anything was sent or failed,
        False if there was nothing to do or everything had to wait (rate limits, pacing)."""
        ticket = self._take(LEASE_BATCH)
        if ticket is None:
            return False
        ticket.wait()
        return any(kind != "postpone" for kind in ticket.kinds.values())

    def lease_new(self, row: OutboxMessage) -> None:
        """Take a row being queued in the caller's transaction, to send it once that commits
        (`send_leased`): a click's answer leaves without a lease transaction of its own. Should the
        process die first, the lease runs out and a worker sends it, looking for it first."""
        outbox.lease_new(row, self._clock(), self.worker, self._lease_seconds)

    def send_leased(self, rows: Collection[OutboxMessage]) -> Ticket | None:
        """Start sending rows taken with `lease_new` whose transaction committed; the ticket to
        wait on, or None if there were none (or the worker is closing: they are given back)."""
        return self._start([outbox.Leased(row, None) for row in rows])

    def drain(self, done: Callable[[], bool], timeout: float = 120.0) -> bool:
        """Deliver until `done()` (for commands that must send before they return)."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            if not self.tick():
                time.sleep(0.2)
        return True

    def close(self) -> None:
        """Stop taking rows; rows taken but not started are given back at once (due now, as
        unsure as before), rows being sent are finished."""
        self._closed.set()
        with self._lock:
            waiting = [job for lane in self._lanes.values() for job in lane]
            for lane in self._lanes.values():
                lane.clear()
        if waiting:
            self._settle(waiting, {job.row.id: Outcome("postpone") for job in waiting})
        self._pool.shutdown(wait=True)

    def _take(self, limit: int) -> Ticket | None:
        if self._closed.is_set():
            return None
        with self._lock:
            skip = list(self._held)  # rows still being sent here, should the clock jump past their lease
        with self._sessions.begin() as session:
            leased = outbox.lease_due(
                session, self._clock(), self.worker, limit=limit, lease_seconds=self._lease_seconds, skip=skip
            )
        return self._start(leased)

    def _start(self, leased: list[outbox.Leased]) -> Ticket | None:
        """Queue leased rows in their lanes; the ticket to wait on (None: no rows, or the worker
        closed meanwhile and gave them back)."""
        if not leased:
            return None
        ticket = Ticket([taken.row.id for taken in leased])
        with self._lock:
            closing = self._closed.is_set()
            if not closing:
                self._take_into_lanes(leased, ticket)
        if closing:
            jobs = [Job(taken.row, taken.unsure_since, 0) for taken in leased]
            self._settle(jobs, {job.row.id: Outcome("postpone") for job in jobs})
            return None
        return ticket

    def _take_into_lanes(self, leased: list[outbox.Leased], ticket: Ticket) -> None:
        """Queue the rows in their lanes, starting a thread on each new lane; under the lock."""
        self._seq += 1
        for taken in leased:
            self._held[taken.row.id] = ticket
            key = lane_of(taken.row)
            if key not in self._lanes:
                self._lanes[key] = deque()
                self._pool.submit(self._run_lane, key)
            self._lanes[key].append(Job(taken.row, taken.unsure_since, self._seq))
        if self._keeper is None:
            self._keeper = threading.Thread(target=self._keep_leases, name="outbox-leases", daemon=True)
            self._keeper.start()

    def _keep_leases(self) -> None:
        """Renew the leases of rows still held, until none is."""
        while not self._closed.wait(self._renew_seconds):
            with self._lock:
                held = list(self._held)
                if not held:
                    self._keeper = None
                    return
            try:
                with self._sessions.begin() as session:
                    outbox.renew(session, held, self.worker, self._clock(), self._lease_seconds)
            except Exception as exc:
                self._log_failure(exc, "renewing outbox leases")
        with self._lock:
            self._keeper = None

    # ---- lanes -------------------------------------------------------------------------

    def _run_lane(self, key: str) -> None:
        while True:
            with self._lock:
                lane = self._lanes[key]
                if not lane:
                    del self._lanes[key]
                    return
                head = lane[0].row
            if head.kind == outbox.Kind.ANNOUNCE_LEAD:  # cards arriving meanwhile join the message
                wait = self._calls.wait_for(head.channel or "")
                time.sleep(wait if wait <= PACE_WAIT_SECONDS else 0.0)
            with self._lock:
                batch = _next_batch(lane)
                seq_now = self._seq
            self._deliver(batch, seq_now)

    def _deliver(self, batch: list[Job], seq_now: int) -> None:
        first = batch[0].row
        try:
            if first.kind == outbox.Kind.ANNOUNCE_LEAD:
                outcomes = self._senders.announce(first.channel or "", batch)
            else:
                outcomes = {first.id: self._senders.send(batch[0], seq_now)}
        except Exception as exc:  # a bug rendering one message must not hold up the others
            log.exception("delivering outbox rows %s failed", [job.row.id for job in batch])
            outcomes = {job.row.id: Outcome("retry", error=f"{type(exc).__name__}: {exc}") for job in batch}
        self._settle(batch, outcomes)

    # ---- settling ----------------------------------------------------------------------

    def _settle(self, jobs: list[Job], outcomes: dict[int, Outcome]) -> None:
        """Record what each send did, in one transaction, for the rows this worker still holds
        (a row whose lease another worker took is theirs now: they look for the message first)."""
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                self._record_posted(session, jobs, outcomes, now)
                for job in jobs:
                    row = outbox.held(session, job.row.id, self.worker)
                    if row is None:  # failed with its message meanwhile, or its lease ran out: not ours
                        log.info("outbox row %s was settled or taken over meanwhile; leaving it", job.row.id)
                    else:
                        self._apply(session, row, job, outcomes[job.row.id], now)
        except Exception as exc:  # the rows stay leased and unsure: whoever takes them next looks first
            self._log_failure(exc, f"settling outbox rows {[job.row.id for job in jobs]}")
        with self._lock:
            tickets = [(job.row.id, self._held.pop(job.row.id, None)) for job in jobs]
        for row_id, ticket in tickets:
            if ticket is not None:
                ticket.settled(row_id, outcomes[row_id].kind)

    def _apply(self, session: Session, row: OutboxMessage, job: Job, outcome: Outcome, now: datetime) -> None:
        if outcome.kind == "sent":
            outbox.mark_sent(row, now, outcome.result)
            self._metrics.delivery_latency.labels(row.kind).observe(max((now - row.created_at).total_seconds(), 0.0))
            return
        if outcome.kind == "postpone":
            outbox.postpone(row, now, outcome.seconds, job.unsure_since)
            return
        unsure_since = job.unsure_since or (row.unsure_since if outcome.unsure else None)
        outbox.mark_failed_attempt(row, now, outcome.error, unsure_since, permanent=outcome.kind == "failed")
        if row.status == OutboxStatus.FAILED:
            log.error("outbox row %s (%s) failed: %s", row.id, row.kind, row.last_error)
            self._fail_dependents(session, row)

    @staticmethod
    def _fail_dependents(session: Session, failed: OutboxMessage) -> None:
        """Updates of and replies to a message that will never exist fail with it, at once."""
        if failed.kind not in outbox.NEEDS_POSTED.values():
            return
        for row in outbox.fail_dependents(session, failed, never_posted(session, failed)):
            log.error("outbox row %s (%s) failed: %s", row.id, row.kind, row.last_error)

    def _record_posted(self, session: Session, jobs: list[Job], outcomes: dict[int, Outcome], now: datetime) -> None:
        """What a posted message means beyond its row: a card's or case's message ts, a digest
        week posted. Recorded even if the lease was lost meanwhile: the first copy recorded is
        the live one, a later copy of the same card or case becomes a stub."""
        cards: dict[tuple[str, str], list[int]] = {}
        for job in jobs:
            outcome = outcomes[job.row.id]
            if outcome.kind != "sent" or not outcome.result or "ts" not in outcome.result:
                continue
            posted = (str(outcome.result["channel"]), str(outcome.result["ts"]))
            if job.row.kind == outbox.Kind.ANNOUNCE_LEAD:
                cards.setdefault(posted, []).append(job.row.payload["card_id"])
            elif job.row.kind == outbox.Kind.DISPUTE_CASE:
                _record_case(session, job.row, posted, now)
            elif job.row.kind == outbox.Kind.DIGEST:
                digest_accepted(session, job.row, now)
        for posted, card_ids in cards.items():
            _record_cards(session, card_ids, posted, now)

    def _log_failure(self, exc: Exception, doing: str) -> None:
        if database_unavailable(exc):
            OUTAGE.failed(exc)  # one line per outage
        else:
            log.exception("%s failed", doing)


def _next_batch(lane: deque[Job]) -> list[Job]:
    """The lane's next send: its first row, or with a card all the lane's waiting cards (up to 10)."""
    first = lane.popleft()
    if first.row.kind != outbox.Kind.ANNOUNCE_LEAD:
        return [first]
    batch = [first]
    for job in list(lane):
        if len(batch) == CARDS_PER_MESSAGE:
            break
        if job.row.kind == outbox.Kind.ANNOUNCE_LEAD:
            lane.remove(job)
            batch.append(job)
    return batch


def _record_cards(session: Session, card_ids: list[int], posted: tuple[str, str], now: datetime) -> None:
    """The posted message holds these cards, unless another copy of a card was recorded first:
    a copy holding none of its cards any more becomes a stub, one holding some is re-rendered."""
    channel, ts = posted
    cards = list(session.scalars(select(LeadCard).where(LeadCard.id.in_(card_ids)).order_by(LeadCard.id)))
    for card in cards:
        if card.ts is None:
            card.ts = ts
    kept = [card for card in cards if card.ts == ts]
    if len(kept) == len(cards):
        return
    if kept:
        card = kept[0]
        outbox.enqueue(
            session, outbox.Kind.REFRESH_CARD, now, channel=channel, lead_id=card.lead_id, card_id=card.id, ts=ts
        )
    else:
        outbox.enqueue(session, outbox.Kind.RETIRE_COPY, now, channel=channel, ts=ts)


def _record_case(session: Session, row: OutboxMessage, posted: tuple[str, str], now: datetime) -> None:
    dispute = session.get(Dispute, row.dispute_id)
    if dispute is None:
        return
    if dispute.thread_ts is None:
        dispute.thread_channel, dispute.thread_ts = posted
    elif (dispute.thread_channel, dispute.thread_ts) != posted:
        outbox.enqueue(session, outbox.Kind.RETIRE_COPY, now, channel=posted[0], ts=posted[1])
