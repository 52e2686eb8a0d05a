"""How the outbox worker sends (DESIGN §8): rows settled one by one, short renewed leases, lanes
side by side, messages named by their rows and looked for before a second send, duplicate card
copies stubbed, and a click's answer taken as it is queued for the request pipeline."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import cards, outbox
from bot.intake import LeadIn, take_lead
from handlers.delivery import Deliverer
from handlers.metrics import Metrics
from handlers.senders import DUPLICATE_TEXT
from handlers.views import CLAIM_ACTION
from models import Lead, LeadCard, OutboxMessage, Team
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import eventually
from tests.outbox_helpers import FakeClock, deliverer, post, row, statuses

OPS = "C0OPS"  # a channel the bot is in, so it can read its history


def ops_channel(slack: SlackStandIn) -> str:
    slack.add_channel(OPS, "ops", bot_member=True, members=["U0ALICE"])
    return OPS


def respond(sessions: sessionmaker[Session], slack: SlackStandIn, now: datetime, user: str, text: str) -> int:
    """A click's private answer, queued as the request pipeline queues it."""
    with sessions.begin() as session:
        answer = outbox.enqueue(
            session,
            outbox.Kind.RESPOND,
            now,
            response_url=slack.new_response_url("C0EAST", user),
            user=user,
            text=text,
            blocks=None,
        )
        session.flush()
        return answer.id


def test_rows_are_settled_one_by_one_as_slack_answers(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    """The first row is recorded as sent while the second is still in flight: a worker that
    dies then cannot send the first again. Before: every row of a tick was settled at its end."""
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    first, second = post(sessions, clock, "first"), post(sessions, clock, "second")
    slack.hang_next("chat.postMessage", 0.0)
    slack.hang_next("chat.postMessage", 2.0)
    ticking = threading.Thread(target=worker.tick)
    ticking.start()
    try:
        slack.wait_for("chat.postMessage", count=2)
        assert row(sessions, first).status == "sent"
        assert row(sessions, second).status == "pending"
    finally:
        ticking.join(10)
    assert statuses(sessions) == {first: "sent", second: "sent"}


def test_leases_are_short_and_renewed_while_a_row_is_in_flight(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    """A send slower than the lease keeps its row: the lease is renewed, so a second worker
    never takes it (and never sends it twice)."""
    assert outbox.LEASE_SECONDS <= 30 and outbox.RENEW_SECONDS * 3 <= outbox.LEASE_SECONDS

    def now() -> datetime:
        return datetime.now(UTC)

    worker = deliverer(slack, sessions, now, lease_seconds=0.6, renew_seconds=0.1)
    other = deliverer(slack, sessions, now, lease_seconds=0.6, renew_seconds=0.1)
    row_id = post(sessions, now, "slow")
    slack.hang_next("chat.postMessage", 2.0)
    ticking = threading.Thread(target=worker.tick)
    ticking.start()
    try:
        slack.wait_for("chat.postMessage")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert not other.tick(), "the row is held: its lease was renewed"
            held = row(sessions, row_id)
            assert held.status == "pending" and held.available_at > now() and held.leased_by == worker.worker
            time.sleep(0.1)
    finally:
        ticking.join(10)
    assert row(sessions, row_id).status == "sent"
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_dead_workers_rows_go_to_another_within_the_lease_and_are_looked_for_first(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    slack.set_clock(clock.epoch)
    row_id = post(sessions, clock, "taken by a worker that died", ops_channel(slack))
    with sessions.begin() as session:
        [taken] = outbox.lease_due(session, clock(), "dead-worker")
        assert taken.unsure_since is None
    worker = deliverer(slack, sessions, clock)

    assert not worker.tick(), "held by the dead worker's lease"
    clock.advance(outbox.LEASE_SECONDS)
    assert worker.tick()

    [looked] = slack.calls_to("conversations.history")
    assert looked.args["include_all_metadata"] in (True, "true", "1")
    assert float(looked.args["oldest"]) <= clock.epoch() - outbox.LEASE_SECONDS, "from before the dead send began"
    [posted] = slack.calls_to("chat.postMessage")
    assert posted.ok and posted.args["text"] == "taken by a worker that died"
    done = row(sessions, row_id)
    assert (done.status, done.leased_by, done.unsure_since) == ("sent", None, None)


def test_every_post_names_its_rows_in_metadata(slack: SlackStandIn, teams: sessionmaker[Session]) -> None:
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    with teams.begin() as session:
        east = session.get_one(Team, "east")
        for name in ("Ann", "Ben", "Cy"):
            take_lead(session, east, LeadIn(name=name), clock(), "test")
    note = post(teams, clock, "a note", "U0ALICE")
    assert worker.tick()

    with teams() as session:
        announced = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.kind == outbox.Kind.ANNOUNCE_LEAD).order_by("id")
        ).all()
    by_channel = {c.args["channel"]: c.args["metadata"] for c in slack.calls_to("chat.postMessage")}
    assert by_channel["C0EAST"] == {
        "event_type": "dibs_outbox",
        "event_payload": {"row": announced[0], "rows": ",".join(map(str, announced))},
    }
    assert by_channel["U0ALICE"] == {"event_type": "dibs_outbox", "event_payload": {"row": note}}


def test_lanes_send_side_by_side_and_keep_each_channels_order(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    """Four channels, three posts each, Slack answering in 0.5 s: the first post of every
    channel is in Slack before the first answer is back. Before: one post after another."""
    clock = FakeClock()
    channels = [f"C0LANE{n}" for n in range(4)]
    for channel in channels:
        slack.add_channel(channel, channel.lower(), bot_member=True)
    for n in range(3):
        for channel in channels:
            post(sessions, clock, f"{channel} #{n}", channel)
    slack.set_latency(0.5)

    assert deliverer(slack, sessions, clock).tick()

    calls = slack.calls_to("chat.postMessage")
    assert all(c.ok for c in calls) and len(calls) == 12
    firsts = [next(c for c in calls if c.args["channel"] == channel) for channel in channels]
    assert max(c.at for c in firsts) - min(c.at for c in firsts) < 0.4, "sent at once, not one by one"
    for channel in channels:
        assert [c.args["text"] for c in calls if c.args["channel"] == channel] == [f"{channel} #{n}" for n in range(3)]


def test_a_channel_keeps_slacks_pace_of_one_post_a_second(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    slack.limit_channel_rate(1.0)
    for n in range(3):
        post(sessions, clock, f"paced #{n}")
    worker = deliverer(slack, sessions, clock, paced=True)
    assert eventually(lambda: worker.tick() or set(statuses(sessions).values()) == {"sent"}, timeout=10)
    calls = slack.calls_to("chat.postMessage")
    assert [c.args["text"] for c in calls] == ["paced #0", "paced #1", "paced #2"], "no 429, in order"
    assert all(b.at - a.at >= 0.95 for a, b in itertools.pairwise(calls))


def test_the_next_post_to_a_channel_waits_an_interval_after_slacks_answer(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    """Slack counts a post when it arrives; a request held up on its way (a loaded machine, the
    network) must not bring the next one closer than a second. So the interval runs from Slack's
    answer: with answers 0.5 s slow, posts arrive 1.5 s apart, not 1 s. Before: 1.05 s after the
    previous one left, which a delayed request turned into two posts 0.4 s apart."""
    clock = FakeClock()
    for n in range(3):
        post(sessions, clock, f"paced #{n}")
    worker = deliverer(slack, sessions, clock, paced=True)
    slack.set_latency(0.5)

    assert eventually(lambda: worker.tick() or set(statuses(sessions).values()) == {"sent"}, timeout=10)

    calls = slack.calls_to("chat.postMessage")
    assert all(b.at - a.at >= 1.0 + 0.5 for a, b in itertools.pairwise(calls)), [c.at for c in calls]


def _queued_answer(sessions: sessionmaker[Session], slack: SlackStandIn, worker: Deliverer, now: datetime) -> int:
    """A click's private answer as the request pipeline queues it: taken by `worker` as it is queued."""
    with sessions.begin() as session:
        answer = outbox.enqueue(
            session,
            outbox.Kind.RESPOND,
            now,
            response_url=slack.new_response_url("C0EAST", "U0ALICE"),
            user="U0ALICE",
            text="L-1 is yours.",
            blocks=None,
        )
        worker.lease_new(answer)
        session.flush()
        return answer.id


def test_a_clicks_answer_is_the_workers_from_the_moment_it_is_queued(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    """No lease transaction after the click's: no other worker or loop round takes its answer,
    and it leaves as soon as it is handed over; the rest wait for the loop."""
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    answer = _queued_answer(sessions, slack, worker, clock())
    other = post(sessions, clock, "for the loop")
    with sessions.begin() as session:
        taken = outbox.lease_due(session, clock(), "another-replica")
    assert [t.row.id for t in taken] == [other], "the answer is not another worker's to take"

    with sessions() as session:
        ticket = worker.send_leased([session.get_one(OutboxMessage, answer)])
    assert ticket is not None and ticket.wait(5)
    assert [c.args["text"] for c in slack.responses_to("U0ALICE")] == ["L-1 is yours."]
    assert statuses(sessions)[answer] == "sent"
    assert slack.calls_to("chat.postMessage") == []


def test_an_answer_whose_web_died_before_sending_it_goes_out_when_its_lease_ends(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    died = deliverer(slack, sessions, clock)
    answer = _queued_answer(sessions, slack, died, clock())
    loop = deliverer(slack, sessions, clock)
    assert not loop.tick(), "still leased by the web that queued it"

    clock.advance(outbox.LEASE_SECONDS + 1)

    assert loop.tick()
    assert [c.args["text"] for c in slack.responses_to("U0ALICE")] == ["L-1 is yours."]
    assert statuses(sessions)[answer] == "sent"


def test_a_second_copy_of_a_card_becomes_a_stub(slack: SlackStandIn, teams: sessionmaker[Session]) -> None:
    """Two copies of a card (a worker that lost its lease posted too): the first recorded stays
    live, the other loses its Claim button."""
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    with teams.begin() as session:
        take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), clock(), "test")
        card = session.scalars(select(LeadCard)).one()
        card.ts = "1700000000.000001"  # another copy was recorded first
    assert worker.tick()
    [copy] = slack.calls_to("chat.postMessage")
    assert copy.ok and CLAIM_ACTION in str(copy.args["blocks"])
    with teams() as session:
        announced = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == outbox.Kind.ANNOUNCE_LEAD)).one()
        copy_ts = (announced.result or {})["ts"]
    assert worker.tick()

    [stubbed] = slack.calls_to("chat.update")
    assert (stubbed.args["channel"], stubbed.args["ts"]) == ("C0EAST", copy_ts)
    assert stubbed.args["text"] == DUPLICATE_TEXT and CLAIM_ACTION not in str(stubbed.args["blocks"])
    with teams() as session:
        assert session.scalars(select(LeadCard.ts)).one() == "1700000000.000001"
    assert set(statuses(teams).values()) == {"sent"}


def test_the_oldest_waiting_message_shows_in_metrics(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    clock = FakeClock()
    metrics = Metrics(sessions, clock)
    assert "dibs_outbox_oldest_pending_seconds 0.0" in metrics.render().decode()
    post(sessions, clock, "waiting")
    clock.advance(90)
    assert "dibs_outbox_oldest_pending_seconds 90.0" in metrics.render().decode()
    assert deliverer(slack, sessions, clock).tick()
    assert "dibs_outbox_oldest_pending_seconds 0.0" in metrics.render().decode()


def test_an_answer_whose_response_url_post_timed_out_is_sent_again(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    """A private answer leaves nothing in Slack to look for: when Slack may have taken it, it
    is sent again (at least once; the person may see it twice, never not at all)."""
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock, timeout=0.5)
    answer = respond(sessions, slack, clock(), "U0ALICE", "L-1 is yours.")
    slack.hang_next("response_url", 2.0)
    assert worker.tick()
    assert row(sessions, answer).status == "pending"
    clock.advance(2)
    assert worker.tick()
    assert row(sessions, answer).status == "sent"
    assert [c.args["text"] for c in slack.responses_to("U0ALICE")] == ["L-1 is yours."] * 2


def test_a_worker_closing_gives_back_the_rows_it_had_not_started(
    slack: SlackStandIn, sessions: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    worker = deliverer(slack, sessions, clock)
    first, second = post(sessions, clock, "in flight"), post(sessions, clock, "not started")
    slack.hang_next("chat.postMessage", 1.0)
    assert worker.pump()
    slack.wait_for("chat.postMessage")
    worker.close()
    assert statuses(sessions) == {first: "sent", second: "pending"}
    waiting = row(sessions, second)
    assert (waiting.leased_by, waiting.available_at, waiting.unsure_since) == (None, clock(), None)
    assert not worker.pump(), "closed"
    assert timedelta(0) <= clock() - waiting.created_at


def test_updates_of_a_channels_messages_go_side_by_side_one_message_at_a_time(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    """chat.update is limited per method (Slack's tier 3), not per channel: two card messages
    of one channel are updated at once while Slack takes 0.5 s to answer (before: one after the
    other in the channel's lane). Two refreshes of one message coming through different lanes
    (one queued before the card was posted) make one update, not two racing ones."""
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    lead_ids = []
    for name in ("Ann", "Ben"):  # posted one after the other: two messages
        with teams.begin() as session:
            east = session.get_one(Team, "east")
            lead_ids.append(take_lead(session, east, LeadIn(name=name), clock(), "test").lead.id)
        assert worker.tick()
    with teams.begin() as session:
        first_card = cards.current_card(session, lead_ids[0])
        assert first_card is not None and first_card.ts is not None
        outbox.enqueue(  # an older refresh, queued before the card had a message: the channel's lane
            session, outbox.Kind.REFRESH_CARD, clock(), channel="C0EAST", lead_id=lead_ids[0], card_id=first_card.id
        )
        for lead_id in lead_ids:
            cards.refresh(session, session.get_one(Lead, lead_id), clock())
    slack.set_latency(0.5)

    assert worker.tick()

    updates = slack.calls_to("chat.update")
    assert all(c.ok for c in updates)
    with teams() as session:
        messages = [str(ts) for ts in session.scalars(select(LeadCard.ts).order_by(LeadCard.id))]
    assert len(set(messages)) == 2
    assert sorted(c.args["ts"] for c in updates) == sorted(messages), "one update a message"
    assert abs(updates[0].at - updates[1].at) < 0.4, "two messages updated at once, not one by one"
    assert set(statuses(teams).values()) == {"sent"}
