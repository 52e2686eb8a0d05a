"""The outbox worker against the Slack stand-in (DESIGN §8): retries, backoff, failures, races.

Most tests drive `Deliverer.tick()` by hand with a clock they move, so backoff takes no real
time; channel pacing (real seconds) is switched off where it is not what the test is about.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot import cards, outbox
from bot.intake import LeadIn, take_lead
from handlers.delivery import Deliverer
from handlers.metrics import Metrics
from handlers.server import BackgroundLoop
from infra.db import session_factory
from models import Lead, LeadCard, OutboxMessage, Team
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import eventually


class FakeClock:
    """The worker's clock: still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def deliverer(
    slack: SlackStandIn,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    *,
    paced: bool = False,
    timeout: float = 10,
) -> Deliverer:
    # slack_sdk annotates timeout as int; urllib takes float seconds
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=timeout)  # type: ignore[arg-type]
    interval = 1.0 if paced else 0.0
    return Deliverer(client, sessions, Metrics(sessions), clock, channel_interval=interval)


def post(
    sessions: sessionmaker[Session], clock: FakeClock | Callable[[], datetime], text: str, channel: str = "C0EAST"
) -> int:
    with sessions.begin() as session:
        row = outbox.post(session, clock(), channel, text)
        session.flush()
        return row.id


def row(sessions: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with sessions() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_429_is_honoured_and_the_message_sent_once(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    """The real worker loop, real clock, production pacing."""
    slack.fail_next("chat.postMessage", 429, retry_after=1)
    worker = deliverer(slack, sessions, lambda: datetime.now(UTC), paced=True)
    row_id = post(sessions, lambda: datetime.now(UTC), "hello after a rate limit")
    loop = BackgroundLoop("outbox", worker.tick, interval=0.05)
    loop.start()
    try:
        limited, sent = slack.wait_for("chat.postMessage", count=2)
        assert eventually(lambda: row(sessions, row_id).status == "sent")
    finally:
        loop.stop()

    assert limited.rate_limited and sent.ok
    assert sent.at - limited.at >= 0.95, "waited out Retry-After: 1"
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage") if c.ok] == ["hello after a rate limit"]
    assert row(sessions, row_id).attempts == 1, "a rate limit does not use up an attempt"


def test_server_errors_back_off_then_send(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    slack.fail_next("chat.postMessage", 500, times=3)
    row_id = post(sessions, clock, "eventually")

    for delay in (2, 4, 8):  # BACKOFF_BASE_SECONDS doubling
        assert worker.tick()
        assert row(sessions, row_id).status == "pending"
        clock.advance(delay - 0.5)
        assert not worker.tick(), "not retried before its backoff is over"
        clock.advance(0.5)
    assert worker.tick()

    calls = slack.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [500, 500, 500, 200]
    done = row(sessions, row_id)
    assert (done.status, done.attempts) == ("sent", 4)


def test_a_permanent_error_fails_at_once(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    row_id = post(sessions, clock, "to nowhere", channel="C0GONE")

    assert worker.tick()
    failed = row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "channel_not_found" in (failed.last_error or "")
    clock.advance(3600)
    assert not worker.tick()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_slack_down_for_good_fails_after_the_last_attempt_and_shows_in_metrics(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    metrics = Metrics(sessions)
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    worker = Deliverer(client, sessions, metrics, clock, channel_interval=0.0)
    slack.fail_next("chat.postMessage", 500, times=outbox.MAX_ATTEMPTS + 5)
    row_id = post(sessions, clock, "never")

    for _ in range(outbox.MAX_ATTEMPTS):
        assert 'dibs_outbox_messages{status="failed"} 0.0' in metrics.render().decode()
        assert worker.tick()
        clock.advance(outbox.BACKOFF_MAX_SECONDS)
    assert not worker.tick()

    failed = row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert "HTTP 500" in (failed.last_error or "")
    assert len(slack.calls_to("chat.postMessage")) == outbox.MAX_ATTEMPTS
    assert 'dibs_outbox_messages{status="failed"} 1.0' in metrics.render().decode()


def test_a_hung_call_times_out_and_is_retried_not_lost(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock, timeout=0.5)
    slack.hang_next("chat.postMessage", 3.0)
    row_id = post(sessions, clock, "slow Slack")

    started = time.monotonic()
    assert worker.tick()
    assert time.monotonic() - started < 2.5, "the worker gave up at its timeout"
    waiting = row(sessions, row_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "timed out" in (waiting.last_error or "").lower()
    clock.advance(2)
    assert worker.tick()

    assert row(sessions, row_id).status == "sent"
    [hung, answered] = slack.calls_to("chat.postMessage")
    assert hung.delayed == 3.0 and answered.ok


def test_a_card_refresh_waits_for_the_card_to_be_posted(slack: SlackStandIn, teams: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    with teams.begin() as session:
        team = session.get(Team, "east")
        assert team is not None
        lead = take_lead(session, team, LeadIn(name="Jane Doe"), clock(), "test").lead
        cards.refresh(session, lead, clock())
        lead_id = lead.id
    refresh_row = (outbox.Kind.REFRESH_CARD, lead_id)
    slack.fail_next("chat.postMessage", 500)  # the announcement's first try fails

    assert worker.tick()
    with teams() as session:
        refresh = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == refresh_row[0], OutboxMessage.lead_id == lead_id)
        ).one()
        assert (refresh.status, refresh.attempts, refresh.last_error) == ("pending", 0, None)
    assert slack.calls_to("chat.update") == []

    clock.advance(2)
    assert worker.tick()
    posted = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    [update] = slack.calls_to("chat.update")
    with teams() as session:
        card = session.scalars(select(LeadCard).where(LeadCard.lead_id == lead_id)).one()
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert len(posted) == 1 and card.ts is not None
    assert (update.args["channel"], update.args["ts"]) == ("C0EAST", card.ts)
    assert update.ok and statuses == {"sent"}


def test_nothing_is_sent_for_a_rolled_back_transaction(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    with sessions() as session:
        outbox.post(session, clock(), "C0EAST", "ghost")
        session.flush()
        session.rollback()

    assert not worker.tick()
    post(sessions, clock, "real")
    assert worker.tick()
    assert [c.args["text"] for c in slack.calls_to("chat.postMessage")] == ["real"]


def test_two_workers_deliver_every_row_exactly_once(slack: SlackStandIn, pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    clock = FakeClock()
    for n in range(7):
        slack.add_channel(f"C0CHAN{n}", f"channel-{n}")
    with sessions.begin() as session:
        for n in range(200):
            outbox.post(session, clock(), f"C0CHAN{n % 7}", f"message {n}")
    workers = [deliverer(slack, sessions, clock) for _ in range(2)]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def drain(worker: Deliverer) -> None:
        try:
            start.wait()
            while worker.tick():
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    texts = Counter(c.args["text"] for c in slack.calls_to("chat.postMessage"))
    assert texts == Counter({f"message {n}": 1 for n in range(200)})
    with sessions() as session:
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert statuses == Counter({"sent": 200})


def test_card_updates_fail_with_a_refused_announcement_at_once(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with teams.begin() as session:
        lead = take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), clock(), "test").lead
        cards.refresh(session, lead, clock())
    assert worker.tick()
    with teams.begin() as session:
        cards.refresh(session, session.get_one(Lead, 1), clock())  # a change after the announcement failed
    assert worker.tick()
    with teams() as session:
        rows = [(row.kind, row.status, row.last_error) for row in session.scalars(select(OutboxMessage).order_by("id"))]
    refused = "chat_postMessage: HTTP 200 channel_not_found"
    assert rows == [
        ("announce_lead", "failed", refused),
        ("refresh_card", "failed", f"the card of L-1 was never posted ({refused})"),
        ("refresh_card", "failed", f"the card of L-1 was never posted ({refused})"),
    ]
    assert slack.calls_to("chat.update") == []
