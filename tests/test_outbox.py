"""The outbox worker against the Slack stand-in (DESIGN §8): retries, backoff, failures, races.

Most tests drive `Deliverer.tick()` by hand with a clock they move, so backoff takes no real
time; channel pacing (real seconds) is switched off where it is not what the test is about.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
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
from tests.outbox_helpers import FakeClock, deliverer, post, row


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


def test_transient_errors_are_retried_with_capped_backoff_until_the_row_is_a_day_old(
    slack: SlackStandIn, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Slack down for over a day: the row keeps being tried (backoff capped at 30 s), then fails
    loudly (log, /metrics) once it is `MAX_AGE` old. Before: failed for good after 6 tries (~62 s)."""
    clock = FakeClock()
    metrics = Metrics(sessions)
    worker = Deliverer(WebClient(token="xoxb-test", base_url=slack.api_url), sessions, metrics, clock, 0.0)
    slack.fail_next("chat.postMessage", 500, times=1000)
    row_id = post(sessions, clock, "never")
    created = clock()

    delays = []
    for _ in range(8):
        assert worker.tick()
        waiting = row(sessions, row_id)
        assert waiting.status == "pending"
        delays.append((waiting.available_at - clock()).total_seconds())
        clock.now = waiting.available_at
    assert delays == [2, 4, 8, 16, 30, 30, 30, 30]

    clock.now = created + outbox.MAX_AGE - timedelta(seconds=1)
    assert worker.tick()
    assert row(sessions, row_id).status == "pending", "a day old less a second: still tried"
    assert 'dibs_outbox_messages{status="failed"} 0.0' in metrics.render().decode()
    clock.advance(outbox.BACKOFF_MAX_SECONDS)
    with caplog.at_level(logging.ERROR, logger="handlers.delivery"):
        assert worker.tick()

    failed = row(sessions, row_id)
    assert (failed.status, failed.attempts) == ("failed", 10)
    assert failed.last_error == "gave up after 24 h and 10 attempts; last: chat_postMessage: HTTP 500 fatal_error"
    assert f"outbox row {row_id} (post) failed: gave up after 24 h" in caplog.text
    assert 'dibs_outbox_messages{status="failed"} 1.0' in metrics.render().decode()
    assert 'dibs_outbox_failed_messages{kind="post"} 1.0' in metrics.render().decode()
    clock.advance(3600)
    assert not worker.tick()
    assert len(slack.calls_to("chat.postMessage")) == 10


def test_a_hung_call_times_out_and_is_retried_not_lost(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock, timeout=0.5)
    slack.hang_next("chat.postMessage", 5.0)
    row_id = post(sessions, clock, "slow Slack")

    started = time.monotonic()
    assert worker.tick()
    assert time.monotonic() - started < 4.0, "the worker gave up at its 0.5 s timeout, long before the 5 s hang ended"
    waiting = row(sessions, row_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "timed out" in (waiting.last_error or "").lower()
    clock.advance(2)
    assert worker.tick()

    assert row(sessions, row_id).status == "sent"
    [hung, answered] = slack.calls_to("chat.postMessage")
    assert hung.delayed == 5.0 and answered.ok


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
