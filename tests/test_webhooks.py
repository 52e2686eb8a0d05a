"""Outgoing CRM webhooks (issue 14): every lead event, signed, in order per lead, through the
outbox; a receiver that is down gets everything afterwards; nothing a rep does waits for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import assignment, claiming, claims, mediation, scheduler
from bot.intake import LeadIn, take_lead
from handlers.crm_health import check_crm
from handlers.metrics import Metrics
from models import Dispute, Team
from sandbox.slack_web import SlackStandIn
from sandbox.webhook_receiver import WebhookReceiver
from tests.crm_helpers import SECRET, apply_crm, check_schema, crm_toml, rows_of, secret_env
from tests.outbox_helpers import FakeClock, deliverer
from tests.test_claims import member, set_limits

__all__ = ["secret_env"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET, clock=clock.epoch) as started:
        yield started
    assert started.problems == [], "requests the receiver refused"


@pytest.fixture
def east(
    sessions: sessionmaker[Session], clock: FakeClock, receiver: WebhookReceiver, secret_env: dict[str, str]
) -> sessionmaker[Session]:
    apply_crm(sessions, clock(), crm_toml(receiver.url), secret_env)
    return sessions


def new_lead(sessions: sessionmaker[Session], clock: FakeClock, name: str, **fields: object) -> int:
    with sessions.begin() as session:
        return take_lead(session, session.get_one(Team, "east"), LeadIn(name=name, **fields), clock(), "test").lead.id


def claim(sessions: sessionmaker[Session], clock: FakeClock, uid: str, lead: int) -> None:
    with sessions.begin() as session:
        result = claiming.claim_lead(session, member(session, uid), lead, clock())
        assert not result.refused


def contacted(sessions: sessionmaker[Session], clock: FakeClock, uid: str, lead: int) -> None:
    with sessions.begin() as session:
        claims.mark_contacted(session, member(session, uid), lead, clock())


def deliver_all(sessions: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, rounds: int = 40) -> None:
    """Tick the worker, moving the clock 30 s each time, until no webhook row waits."""
    worker = deliverer(slack, sessions, clock)
    try:
        for _ in range(rounds):
            worker.tick()
            if all(row.status != "pending" for row in rows_of(sessions, "webhook")):
                return
            clock.advance(30)
    finally:
        worker.close()
    raise AssertionError("webhook rows still pending")


def by_lead(receiver: WebhookReceiver) -> dict[int, list[str]]:
    seen: dict[int, list[str]] = {}
    for event in receiver.events():
        seen.setdefault(event["lead"]["id"], []).append(event["type"])
    return seen


def test_a_leads_life_reaches_the_crm_signed_in_order_and_as_the_schema_says(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    lead = new_lead(east, clock, "Jane Doe", external_id="hs-501", email="jane@acme.example", company="Acme")
    claim(east, clock, "U0ALICE", lead)
    contacted(east, clock, "U0ALICE", lead)
    with east.begin() as session:
        claims.close_lead(session, member(session, "U0ALICE"), lead, clock(), won=True, amount=Decimal("12500.00"))
    other = new_lead(east, clock, "John Roe")
    with east.begin() as session:
        assignment.manager_assign(session, member(session, "U0MGR1"), other, "U0BOB", clock(), reason="his account")
    with east.begin() as session:
        claims.release(session, member(session, "U0BOB"), other, clock(), "wrong region")

    deliver_all(east, slack, clock)

    assert by_lead(receiver) == {
        lead: ["lead.announced", "lead.claimed", "lead.contacted", "lead.won"],
        other: ["lead.announced", "lead.assigned", "lead.released"],  # released: open for claims again
    }
    for event in receiver.events():
        check_schema(event)
    first = {event["type"]: event for event in receiver.events() if event["lead"]["id"] == lead}
    assert first["lead.claimed"]["owner"] == "U0ALICE" and first["lead.claimed"]["how"] == "claim"
    assert first["lead.claimed"]["shares"] == [{"slack_user_id": "U0ALICE", "percent": 100}]
    assert first["lead.claimed"]["lead"]["external_id"] == "hs-501"
    assert first["lead.won"]["amount"] == "12500.00"
    assigned = next(event for event in receiver.events() if event["type"] == "lead.assigned")
    assert (assigned["how"], assigned["owner"], assigned["reason"]) == ("manager", "U0BOB", "his account")
    released = next(event for event in receiver.events() if event["type"] == "lead.released")
    assert (released["previous_owner"], released["reason"]) == ("U0BOB", "wrong region")


def test_a_receiver_down_for_ten_minutes_gets_every_event_afterwards_in_order_per_lead(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    receiver.down = True
    worker = deliverer(slack, east, clock)
    first, second = new_lead(east, clock, "Ann Lee"), new_lead(east, clock, "Bo Chan")
    claim(east, clock, "U0ALICE", first)  # a claim is never held up by the CRM
    worker.tick()
    claim(east, clock, "U0BOB", second)
    down_until = clock() + timedelta(minutes=10)
    while clock() < down_until:
        clock.advance(30)
        worker.tick()
        if clock() - (down_until - timedelta(minutes=10)) == timedelta(minutes=5):
            contacted(east, clock, "U0ALICE", first)
    worker.close()
    assert receiver.events() == [] and receiver.refused_while_down >= 10
    assert all(row.status == "pending" for row in rows_of(east, "webhook"))

    receiver.down = False
    contacted(east, clock, "U0BOB", second)  # due at once, while the earlier events wait out their backoff
    deliver_all(east, slack, clock)

    assert by_lead(receiver) == {
        first: ["lead.announced", "lead.claimed", "lead.contacted"],
        second: ["lead.announced", "lead.claimed", "lead.contacted"],
    }
    ids = [event["id"] for event in receiver.events()]
    assert len(ids) == len(set(ids)) == 6  # each once
    assert [row.status for row in rows_of(east, "webhook")] == ["sent"] * 6


def test_a_split_names_the_partners_and_their_percentages(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    set_limits(east, contest_window_minutes=10)
    lead = new_lead(east, clock, "Split Co")
    claim(east, clock, "U0ALICE", lead)
    with east.begin() as session:
        claiming.claim_lead(session, member(session, "U0BOB"), lead, clock())  # opens a dispute
        dispute = session.scalars(select(Dispute).where(Dispute.lead_id == lead)).one()
        mediation.resolve(
            session,
            member(session, "U0MGR1"),
            dispute.id,
            clock(),
            outcome="split",
            shares=[("U0ALICE", 60), ("U0BOB", 40)],
            reason="both worked it",
        )
    deliver_all(east, slack, clock)
    split = next(event for event in receiver.events() if event["type"] == "lead.split")
    check_schema(split)
    assert split["how"] == "dispute" and split["owner"] == "U0ALICE" and split["reason"] == "both worked it"
    assert split["shares"] == [{"slack_user_id": "U0ALICE", "percent": 60}, {"slack_user_id": "U0BOB", "percent": 40}]


def test_an_event_the_receiver_refuses_fails_visibly_and_the_leads_next_events_go_on(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    lead = new_lead(east, clock, "Refused Inc")
    receiver.refuse_with = 422
    deliver_all(east, slack, clock)
    receiver.refuse_with = None
    claim(east, clock, "U0ALICE", lead)
    deliver_all(east, slack, clock)

    assert [event["type"] for event in receiver.events()] == ["lead.claimed"]
    assert [row.status for row in rows_of(east, "webhook")] == ["failed", "sent"]
    scrape = Metrics(east, clock).render().decode()
    assert 'dibs_crm_events{receiver="127.0.0.1:' in scrape and 'status="failed",team="east"} 1.0' in scrape
    findings = list(check_crm(east, clock()))
    assert [finding.ok for finding in findings] == [False]
    assert "1 CRM event(s) to 127.0.0.1" in findings[0].text and "HTTP 422" in findings[0].text


def test_a_receiver_down_for_ten_minutes_shows_in_doctor_and_metrics(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    receiver.down = True
    new_lead(east, clock, "Waiting Ltd")
    worker = deliverer(slack, east, clock)
    worker.tick()
    assert [finding.ok for finding in check_crm(east, clock())] == [True]
    clock.advance(11 * 60)
    worker.tick()
    worker.close()
    findings = list(check_crm(east, clock()))
    assert [finding.ok for finding in findings] == [False]
    assert "waiting for 11 min" in findings[0].text and "HTTP 503" in findings[0].text
    scrape = Metrics(east, clock).render().decode()
    assert 'dibs_crm_oldest_pending_seconds{receiver="127.0.0.1:' in scrape and "} 660.0" in scrape


def test_the_bots_own_changes_reach_the_crm_auto_assign_and_expiry(
    east: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, receiver: WebhookReceiver
) -> None:
    set_limits(east, auto_assign_after_minutes=30, contact_sla_minutes=60)
    lead = new_lead(east, clock, "Nobody Claims Ltd")
    clock.advance(31 * 60)
    scheduler.run_due(east, clock())  # nobody claimed it: auto-assigned
    clock.advance(61 * 60)
    scheduler.run_due(east, clock())  # its holder never made contact: expired
    deliver_all(east, slack, clock)

    events = [event for event in receiver.events() if event["lead"]["id"] == lead]
    assert [event["type"] for event in events][:3] == ["lead.announced", "lead.assigned", "lead.expired"]
    for event in events:
        check_schema(event)
    assert events[1]["how"] == "auto" and events[1]["actor"] == events[1]["owner"]
    assert events[2]["previous_owner"] == events[1]["owner"]
