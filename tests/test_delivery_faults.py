"""Fault injection for delivery (issue 10): Slack down 150 s, a worker killed with kill -9 while
Slack holds its post, a call that times out after Slack accepted it, two workers with a slow
Slack. Each asserts nothing lost and nothing doubled.

Time is a clock the test moves (the worker's and the stand-in's, which stamps message ts and
decides the outage window), so 150 s of outage and its backoff take a few real seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import cards, outbox
from bot.digest_post import DigestState, digest_state, queue_digest
from bot.intake import LeadIn, take_lead
from handlers.views import CLAIM_ACTION
from infra.db import session_factory
from models import LeadCard, OutboxMessage, OutboxStatus, Team
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import eventually
from tests.outbox_helpers import FakeClock, deliverer, row, statuses

ROOT = Path(__file__).resolve().parents[1]
REF = re.compile(r"\bL-\d+\b")


@dataclass
class Work:
    """What was queued, to be found in Slack exactly once each."""

    refs: list[str]  # lead cards announced in C0EAST
    answers: list[str]  # private answers to clicks, by response_url
    notices: list[str]  # DMs to Carol


def bot_joins(slack: SlackStandIn, channel: str = "C0EAST") -> None:
    """As `dibs serve` does at start: the bot is in its team's channel, so it can read it."""
    WebClient(token="xoxb-test", base_url=slack.api_url).conversations_join(channel=channel)


def queue_work(
    sessions: sessionmaker[Session], slack: SlackStandIn, now: datetime, leads: int, answers: int, notices: int
) -> Work:
    """Leads (their cards, and card updates for the first five), click answers and DMs, queued
    as the app queues them."""
    work = Work([], [], [])
    with sessions.begin() as session:
        east = session.get_one(Team, "east")
        for n in range(leads):
            lead = take_lead(session, east, LeadIn(name=f"Lead {n}", external_id=f"x{n}"), now, "test").lead
            work.refs.append(lead.ref)
            if n < 5:
                cards.refresh(session, lead, now)
        for n in range(answers):
            user = ("U0ALICE", "U0BOB")[n % 2]
            text = f"answer {n}"
            url = slack.new_response_url("C0EAST", user)
            outbox.enqueue(session, outbox.Kind.RESPOND, now, response_url=url, user=user, text=text, blocks=None)
            work.answers.append(text)
        for n in range(notices):
            outbox.post(session, now, "U0CAROL", f"notice {n}")
            work.notices.append(f"notice {n}")
    return work


def assert_each_once(slack: SlackStandIn, work: Work) -> None:
    posts = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    cards_posted = Counter(ref for c in posts if c.args["channel"] == "C0EAST" for ref in REF.findall(c.args["text"]))
    assert cards_posted == Counter(work.refs), "every card posted, none twice"
    answered = Counter(c.args["text"] for c in slack.calls_to("response_url") if c.ok)
    assert answered == Counter(work.answers), "every answer given, none twice"
    told = Counter(c.args["text"] for c in posts if c.args["channel"] == "U0CAROL")
    assert told == Counter(work.notices), "every DM sent, none twice"


def test_slack_down_150_seconds_loses_nothing_and_sends_each_message_once(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    """Before: after 6 attempts (~62 s) every row was failed, so the cards and answers were lost."""
    clock = FakeClock()
    slack.set_clock(clock.epoch)
    bot_joins(slack)
    work = queue_work(teams, slack, clock(), leads=25, answers=10, notices=5)
    worker = deliverer(slack, teams, clock)
    slack.outage(150)
    began = clock()

    while "pending" in statuses(teams).values() and clock() - began < timedelta(minutes=10):
        worker.tick()
        clock.advance(1)

    assert set(statuses(teams).values()) == {"sent"}
    assert_each_once(slack, work)
    with teams() as session:
        last = session.scalar(select(func.max(OutboxMessage.sent_at)))
    assert last is not None
    back = began + timedelta(seconds=150)
    assert last - back <= timedelta(seconds=outbox.BACKOFF_MAX_SECONDS + 5), "out within ~30 s of Slack's return"
    refused = [c for c in slack.calls if not c.ok]
    assert refused and all(c.status == 500 for c in refused), "it was down, and tried"


def test_kill_9_mid_post_leaves_exactly_one_live_card_per_lead(
    slack: SlackStandIn, teams: sessionmaker[Session], database_url: str
) -> None:
    """A worker process is killed while Slack holds the answer to its card message; another worker
    finds that message by its metadata and adopts it. Answers the dead worker had sent were
    settled as they went, so they are not sent again."""
    bot_joins(slack)
    work = queue_work(teams, slack, datetime.now(UTC), leads=6, answers=4, notices=0)
    slack.hang_next("chat.postMessage", 60)
    env = os.environ | {"DATABASE_URL": database_url, "SLACK_API_URL": slack.api_url}
    dying = subprocess.Popen([sys.executable, "-m", "tests.outbox_worker"], env=env, cwd=ROOT)
    try:
        [held] = slack.wait_for("chat.postMessage", timeout=60)
        assert eventually(lambda: kinds_sent(teams) >= {"respond"}, timeout=10), "settled while the cards hang"
    finally:
        dying.send_signal(signal.SIGKILL)
        dying.wait(10)
    with teams() as session:
        announcements = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "announce_lead")).all()
        assert {(r.status, r.leased_by is not None, r.unsure_since is not None) for r in announcements} == {
            ("pending", True, True)
        }

    def after_the_lease() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=outbox.LEASE_SECONDS)

    assert deliverer(slack, teams, after_the_lease).tick()

    assert set(statuses(teams).values()) == {"sent"}
    assert slack.calls_to("chat.postMessage") == [held], "found, not posted again"
    assert slack.calls_to("conversations.history"), "looked for it"
    assert_each_once(slack, work)
    with teams() as session:
        card_ts = set(session.scalars(select(LeadCard.ts)))
        announced = select(OutboxMessage).where(OutboxMessage.kind == "announce_lead")
        [adopted] = {(r.result or {}).get("ts") for r in session.scalars(announced)}
    assert card_ts == {adopted}, "every card points at the one message"
    assert str(held.args["blocks"]).count(CLAIM_ACTION) == len(work.refs), "one live Claim button per lead"
    assert all(c.args["ts"] == adopted for c in slack.calls_to("chat.update")), "no second copy to stub"


def kinds_sent(sessions: sessionmaker[Session]) -> set[str]:
    """Kinds of row all of whose rows are sent."""
    with sessions() as session:
        rows = session.execute(select(OutboxMessage.kind, OutboxMessage.status)).all()
    return {kind for kind, _ in rows} - {kind for kind, status in rows if status != OutboxStatus.SENT}


def queue_one(kind: str, sessions: sessionmaker[Session], slack: SlackStandIn, now: datetime) -> int:
    """One row whose message Slack can be asked about: a card, a DM, a reply in a thread, a digest."""
    with sessions.begin() as session:
        east = session.get_one(Team, "east")
        if kind == "card":
            take_lead(session, east, LeadIn(name="Jane Doe"), now, "test")
        elif kind == "dm":
            outbox.post(session, now, "U0ALICE", "a DM")
        elif kind == "thread":
            parent = WebClient(token="xoxb-test", base_url=slack.api_url).chat_postMessage(channel="C0EAST", text="p")
            outbox.post(session, now, "C0EAST", "a reply", thread_ts=parent["ts"])
        else:
            assert queue_digest(session, east, 2026, 47, now) == DigestState.QUEUED
        session.flush()
        posts = select(OutboxMessage.id).where(OutboxMessage.kind.in_(("announce_lead", "post", "digest")))
        return session.scalars(posts).one()


@pytest.mark.parametrize("kind", ["card", "dm", "thread", "digest"])
def test_a_timeout_after_slack_accepted_posts_once(
    slack: SlackStandIn, teams: sessionmaker[Session], kind: str
) -> None:
    """Slack takes the post but its answer comes after our timeout: the row is retried as
    unsure, and the retry finds the message (history, the DM's history, the thread's replies)
    instead of posting it again. Before: posted twice."""
    clock = FakeClock()
    slack.set_clock(clock.epoch)
    bot_joins(slack)
    row_id = queue_one(kind, teams, slack, clock())
    calls_before = len(slack.calls_to("chat.postMessage"))
    slack.hang_next("chat.postMessage", 1.5)
    worker = deliverer(slack, teams, clock, timeout=0.5)

    worker.tick()
    unsure = row(teams, row_id)
    assert (unsure.status, unsure.unsure_since) == ("pending", clock())
    assert "TimeoutError" in (unsure.last_error or "")
    clock.advance(outbox.BACKOFF_BASE_SECONDS)
    worker.tick()

    [posted] = slack.calls_to("chat.postMessage")[calls_before:]
    done = row(teams, row_id)
    assert done.status == "sent" and (done.result or {}).get("adopted") is True
    assert (done.result or {})["ts"] == slack_ts_of(slack, posted.args["channel"], posted.args["text"], teams)
    if kind == "card":
        with teams() as session:
            assert session.scalars(select(LeadCard.ts)).one() == (done.result or {})["ts"]
    if kind == "digest":
        with teams() as session:
            assert digest_state(session, "east", 2026, 47) == DigestState.POSTED


def slack_ts_of(slack: SlackStandIn, channel: str, text: str, sessions: sessionmaker[Session]) -> str:
    """The ts of the one message with this text in the conversation (as the bot's token sees it)."""
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    if channel.startswith("U"):
        channel = client.conversations_open(users=channel)["channel"]["id"]
    found = [m["ts"] for m in client.conversations_history(channel=channel)["messages"] if m["text"] == text]
    if not found:  # a reply: look in the threads
        parents = client.conversations_history(channel=channel)["messages"]
        found = [
            m["ts"]
            for p in parents
            for m in client.conversations_replies(channel=channel, ts=p["ts"])["messages"]
            if m["text"] == text and m["ts"] != p["ts"]
        ]
    [ts] = found
    return str(ts)


def test_two_workers_with_a_slow_slack_send_each_answer_once(slack: SlackStandIn, pg_engine: Engine) -> None:
    """Slack answering every call slowly, a lane of rows taking longer than a lease: the leases are
    renewed, so the other worker never takes (and sends again) rows still being sent. Scaled from
    Slack at 8 s a call against a 30 s lease to 0.4 s against 1.2 s."""
    sessions = session_factory(pg_engine)

    def now() -> datetime:
        return datetime.now(UTC)

    users = ["U0ALICE", "U0BOB", "U0CAROL"]
    with sessions.begin() as session:
        for n in range(24):
            user = users[n % 3]
            url = slack.new_response_url("C0EAST", user)
            outbox.enqueue(session, outbox.Kind.RESPOND, now(), response_url=url, user=user, text=f"answer {n}")
    slack.set_latency(0.4)
    workers = [deliverer(slack, sessions, now, lease_seconds=1.2, renew_seconds=0.2, threads=2) for _ in range(2)]
    errors: list[BaseException] = []

    def run(worker: Callable[[], bool]) -> None:
        try:
            deadline = time.monotonic() + 30
            while "pending" in statuses(sessions).values() and time.monotonic() < deadline:
                worker()
                time.sleep(0.05)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w.pump,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(40)
    for worker in workers:
        worker.close()

    assert errors == []
    assert set(statuses(sessions).values()) == {"sent"}
    answered = Counter(c.args["text"] for c in slack.calls_to("response_url"))
    assert answered == Counter({f"answer {n}": 1 for n in range(24)})
    with sessions() as session:
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.status != OutboxStatus.SENT)) is None
