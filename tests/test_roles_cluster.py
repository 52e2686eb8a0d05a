"""Two `web` and two `worker` processes on one PostgreSQL (issue 15): every message Slack gets is
sent once, every click answered once, each scheduled job (SLA reminder, escalation, digest) done
once, however the work falls between them.

The four runtimes share one stepping clock, so the schedulers of both workers find the same
timers due at the same moment; the database (SKIP LOCKED leases, row locks, the digest's unique
run row) is all that keeps them apart, exactly as between separate processes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app import Role
from bot import scheduler
from bot.config import parse_config
from bot.teams import apply_config
from infra.db import session_factory
from models import OWNING_CLAIM_STATUSES, Claim, OutboxMessage, OutboxStatus
from sandbox.clock import SteppingClock
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver, eventually, running_dibs, runtime_settings
from tests.test_escalation import claim, new_lead

ROLES = [Role.WEB, Role.WEB, Role.WORKER, Role.WORKER]
# The first missed contact SLA goes to the managers, so one miss per lead is one escalation.
CLUSTER_TOML = TEAM_TOML.replace("max_active_claims = 5", "max_active_claims = 5\nescalate_after_misses = 1")
LEAD_REF = re.compile(r"\bL-(\d+)\b")


@pytest.fixture
def cluster(
    pg_engine: Engine, pg_url: str, slack: SlackStandIn, clock: SteppingClock, tmp_path: Path
) -> Iterator[list[AppDriver]]:
    config = tmp_path / "teams.toml"
    config.write_text(CLUSTER_TOML)
    with ExitStack() as stack:
        yield [
            stack.enter_context(running_dibs(runtime_settings(pg_url, slack, config), slack, clock, role))
            for role in ROLES
        ]


def outbox_settled(engine: Engine) -> bool:
    with session_factory(engine)() as session:
        pending = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        return session.scalar(pending) == 0


def dm_texts(slack: SlackStandIn, containing: str) -> list[str]:
    return [
        c.args["text"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] != "C0EAST" and containing in c.args.get("text", "")
    ]


def channel_texts(slack: SlackStandIn, containing: str) -> list[str]:
    return [
        c.args["text"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == "C0EAST" and "thread_ts" not in c.args and containing in c.args.get("text", "")
    ]


def thread_texts(slack: SlackStandIn, containing: str) -> list[str]:
    return [
        c.args["text"]
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == "C0EAST" and "thread_ts" in c.args and containing in c.args.get("text", "")
    ]


def test_two_webs_and_two_workers_send_everything_once(
    cluster: list[AppDriver], pg_engine: Engine, slack: SlackStandIn, clock: SteppingClock
) -> None:
    webs = cluster[:2]
    refs = [webs[i % 2].post_lead({"name": f"Lead {i}", "external_id": f"c{i}"}).json()["id"] for i in range(4)]

    # Each lead is clicked by two reps at the same moment, one on each web.
    def click(job: tuple[AppDriver, str, str]) -> int:
        web, ref, user = job
        return web.click_claim(ref, user).status

    jobs = [(webs[side], ref, user) for ref in refs for side, user in enumerate(("U0ALICE", "U0BOB"))]
    with ThreadPoolExecutor(len(jobs)) as pool:
        assert set(pool.map(click, jobs)) == {200}
    assert eventually(lambda: outbox_settled(pg_engine), timeout=20)

    cards = Counter(
        int(lead_id)
        for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == "C0EAST"
        for lead_id in set(LEAD_REF.findall(json.dumps(c.args.get("blocks", ""))))
    )
    assert sorted(cards.values()) == [1, 1, 1, 1], f"each lead's card posted once: {cards}"
    answers = Counter(c.args["user"] for c in slack.calls_to("response_url") if c.ok)
    assert answers == {"U0ALICE": 4, "U0BOB": 4}, "every click answered, once"
    with session_factory(pg_engine)() as session:
        owners = session.scalar(select(func.count()).select_from(Claim).where(Claim.status.in_(OWNING_CLAIM_STATUSES)))
        assert owners == 4, "one owner per lead"

    clock.advance(minutes=61)  # past half the 120-minute contact SLA: the reminders
    assert eventually(lambda: len(dm_texts(slack, "Reminder: L-")) >= 4, timeout=20)
    # Settled before each step: a lease is clock time, and a row in flight across a jump of
    # minutes would be another worker's to take (a real clock never jumps so).
    assert eventually(lambda: outbox_settled(pg_engine), timeout=20)
    clock.advance(minutes=60)  # the SLA missed: each lead escalates to both managers
    assert eventually(lambda: len(dm_texts(slack, "missed its contact SLA")) >= 8, timeout=20)
    assert eventually(lambda: outbox_settled(pg_engine), timeout=20)
    clock.advance(days=11, hours=8)  # Friday 4 Dec, 18:00 in New York: W48's digest is due
    assert eventually(lambda: bool(channel_texts(slack, "Fairness digest for Sales East, 2026-W48")), timeout=20)
    assert eventually(lambda: outbox_settled(pg_engine), timeout=20)
    clock.advance(minutes=5)
    time.sleep(2.5)  # both workers' schedulers (1 s ticks) look at every timer again; a second copy would show
    assert eventually(lambda: outbox_settled(pg_engine), timeout=20)

    reminders = Counter(LEAD_REF.search(text)[0] for text in dm_texts(slack, "Reminder: L-"))  # type: ignore[index]
    assert reminders == {ref: 1 for ref in refs}, "one SLA reminder per lead"

    escalations = Counter(LEAD_REF.search(text)[0] for text in dm_texts(slack, "missed its contact SLA"))  # type: ignore[index]
    assert escalations == {ref: 2 for ref in refs}, "one escalation per lead, to each of the two managers"
    in_threads = Counter(LEAD_REF.search(text)[0] for text in thread_texts(slack, "missed its contact SLA"))  # type: ignore[index]
    assert in_threads == {ref: 1 for ref in refs}, "and one reply in each card's thread"
    assert len(channel_texts(slack, "Fairness digest for Sales East, 2026-W48")) == 1, "the digest posted once"
    uploads = slack.calls_to("files.completeUploadExternal")
    charts = [c for c in uploads if c.ok and c.args.get("channel_id") == "C0EAST"]
    assert len(charts) == 1, "its chart uploaded once"


def test_two_schedulers_ticking_at_the_same_moment_handle_each_timer_once(pg_engine: Engine) -> None:
    """The scheduler loops of two workers, held to the same instant: every timer found due by
    both, each handled by one (the lead's row lock, then a re-check of the timer under it)."""
    sessions = session_factory(pg_engine)
    start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with sessions.begin() as session:
        apply_config(session, parse_config(CLUSTER_TOML), start)
    leads = [new_lead(sessions, start) for _ in range(12)]
    for i, lead in enumerate(leads):
        assert "is yours" in claim(sessions, ("U0ALICE", "U0BOB", "U0CAROL")[i % 3], lead, start)

    def both_at(now: datetime) -> None:
        together = threading.Barrier(2)

        def tick(_: int) -> int:
            together.wait()
            return scheduler.run_due(sessions, now)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(tick, range(2)))

    both_at(start + timedelta(minutes=61))  # the reminders
    both_at(start + timedelta(minutes=121))  # the SLA missed: escalations
    with sessions() as session:
        notices = Counter(
            (row.payload.get("notice"), row.payload.get("facts", {}).get("lead"))
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "notice"))
        )
    for lead in leads:
        ref = f"L-{lead}"
        assert notices[("contact_reminder", ref)] == 1
        assert notices[("lead_escalated", ref)] == 2, "one escalation, to each of the two managers"
