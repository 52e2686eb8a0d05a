"""Slack's per-method rate limits (api.slack.com/apis/rate-limits): the stand-in refuses a method
called over its tier's limit as Slack does, and the outbox worker keeps under the limit of the
methods it calls in volume (card updates: chat.update, tier 3) instead of running into it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bot import cards
from bot.intake import LeadIn, take_lead
from handlers.slack_calls import METHOD_LIMITS, MethodBudget
from models import Lead, Team
from sandbox.slack_web import METHOD_LIMITS_PER_MINUTE, SlackStandIn
from tests.outbox_helpers import FakeClock, deliverer, statuses

WINDOW = 1.5  # seconds: the tests shrink Slack's minute, with the limits, to see them bite quickly


def test_the_stand_in_refuses_the_51st_card_update_of_a_minute(slack: SlackStandIn, slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(channel="C0EAST", text="Lead L-1")
    for n in range(METHOD_LIMITS_PER_MINUTE["chat.update"]):
        slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text=f"Lead L-1 ({n})")

    with pytest.raises(SlackApiError) as refused:
        slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="one too many")

    assert refused.value.response.status_code == 429
    assert refused.value.response["error"] == "ratelimited"
    assert 1 <= int(refused.value.response.headers["Retry-After"]) <= 60
    slack.limit_method_rates(None)
    assert slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="limits off")["ok"]


def test_a_method_is_limited_on_its_own_and_frees_up_as_the_window_moves(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    slack.limit_method_rates({"chat.update": 2}, window_seconds=WINDOW)
    posted = slack_client.chat_postMessage(channel="C0EAST", text="Lead L-1")
    slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="one")
    slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="two")
    with pytest.raises(SlackApiError):
        slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="three")
    assert slack_client.chat_postMessage(channel="C0EAST", text="another method")["ok"]

    time.sleep(WINDOW)

    assert slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="three, later")["ok"]


def test_the_worker_budgets_the_methods_it_calls_as_slack_limits_them() -> None:
    """The worker's limits are Slack's, by the WebClient's name of each method."""
    for method, limit in METHOD_LIMITS.items():
        assert METHOD_LIMITS_PER_MINUTE[method.replace("_", ".")] == limit


def _posted_leads(slack: SlackStandIn, teams: sessionmaker[Session], clock: FakeClock, count: int) -> list[int]:
    """`count` leads, each on a card message of its own (posted one tick after the other)."""
    worker = deliverer(slack, teams, clock)
    lead_ids = []
    for n in range(count):
        with teams.begin() as session:
            east = session.get_one(Team, "east")
            lead_ids.append(take_lead(session, east, LeadIn(name=f"Lead {n}"), clock(), "test").lead.id)
        assert worker.tick()
    return lead_ids


def _refresh(teams: sessionmaker[Session], clock: FakeClock, lead_ids: list[int]) -> None:
    with teams.begin() as session:
        for lead_id in lead_ids:
            cards.refresh(session, session.get_one(Lead, lead_id), clock())


def _drain(worker_tick: Callable[[], object], clock: FakeClock, teams: sessionmaker[Session], seconds: float) -> None:
    """Tick (moving the worker's clock with real time) until every row is sent or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while set(statuses(teams).values()) != {"sent"} and time.monotonic() < deadline:
        worker_tick()
        time.sleep(0.1)
        clock.advance(0.1)


def test_a_busy_channels_card_updates_stay_under_slacks_limit(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    """Eight card messages refreshed at once, chat.update allowed 3 a window: the worker sends 3,
    holds the rest for their turn, and Slack never answers 429; every card is updated.
    Before: the eight went side by side and five were refused."""
    clock = FakeClock()
    lead_ids = _posted_leads(slack, teams, clock, 8)
    slack.limit_method_rates({"chat.update": 3}, window_seconds=WINDOW)
    worker = deliverer(slack, teams, clock, budget=MethodBudget({"chat_update": 3}, window=WINDOW))
    _refresh(teams, clock, lead_ids)

    _drain(worker.tick, clock, teams, 5 * WINDOW)

    updates = slack.calls_to("chat.update")
    assert [c.status for c in updates if not c.ok] == [], "no update refused"
    assert len(updates) == 8 and set(statuses(teams).values()) == {"sent"}
    times = sorted(c.at for c in updates)
    assert all(later - earlier >= WINDOW * 0.9 for earlier, later in zip(times, times[3:], strict=False))


def test_a_429_holds_the_method_for_its_retry_after(slack: SlackStandIn, teams: sessionmaker[Session]) -> None:
    """Slack's limit is the workspace's, shared with other workers: after a 429 for chat.update no
    card update goes out until Retry-After has passed, not even another message's."""
    clock = FakeClock()
    first, second = _posted_leads(slack, teams, clock, 2)
    worker = deliverer(slack, teams, clock)
    slack.fail_next("chat.update", 429, retry_after=2)
    _refresh(teams, clock, [first])
    worker.tick()
    _refresh(teams, clock, [second])
    clock.advance(5)  # both rows are due by the worker's clock; Slack's 2 s have not passed

    worker.tick()

    assert len(slack.calls_to("chat.update")) == 1, "the second message waited for Retry-After"
    time.sleep(2)
    _drain(worker.tick, clock, teams, 5)
    assert [c.ok for c in slack.calls_to("chat.update")] == [False, True, True]


def test_a_refresh_waiting_for_slacks_limit_is_not_rendered_for_nothing(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    """While chat.update's budget is spent, a due card refresh is put off before its cards are
    read and rendered (each retry would render the whole message again only to wait)."""
    clock = FakeClock()
    [lead_id] = _posted_leads(slack, teams, clock, 1)
    budget = MethodBudget({"chat_update": 1}, window=60.0)
    assert budget.take("chat_update") == 0  # someone spent the minute's one update
    worker = deliverer(slack, teams, clock, budget=budget)
    _refresh(teams, clock, [lead_id])
    card_reads: list[str] = []

    def count_card_reads(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM lead_cards" in statement:
            card_reads.append(statement)

    engine = teams.kw["bind"]
    event.listen(engine, "before_cursor_execute", count_card_reads)
    try:
        worker.tick()
    finally:
        event.remove(engine, "before_cursor_execute", count_card_reads)

    assert slack.calls_to("chat.update") == [] and card_reads == []
    assert set(statuses(teams).values()) == {"sent", "pending"}
