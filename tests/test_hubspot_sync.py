"""HubSpot owner sync: a lead's owner (and a split's note) written to its HubSpot contact with the
official client, Slack users matched to HubSpot owners by email, 429s honoured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, mediation
from bot.intake import LeadIn, take_lead
from handlers.crm_health import check_crm
from models import Dispute, Team
from sandbox.hubspot_api import HubSpotStandIn
from sandbox.slack_web import SlackStandIn
from tests.crm_helpers import apply_crm, crm_toml, rows_of
from tests.outbox_helpers import FakeClock, deliverer
from tests.test_claims import member, set_limits

TOKEN_VAR, TOKEN = "DIBS_TEST_HUBSPOT_TOKEN", "pat-na1-0000-test"
CONTACT = "3234574"


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(TOKEN) as started:
        started.add_contact(CONTACT, firstname="Jane", lastname="Doe")
        yield started
    assert started.problems == [], "calls HubSpot would refuse"


@pytest.fixture
def east(
    sessions: sessionmaker[Session], slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    monkeypatch.setenv(TOKEN_VAR, TOKEN)
    apply_crm(sessions, FakeClock()(), crm_toml(hubspot_token=f"env:{TOKEN_VAR}"), {TOKEN_VAR: TOKEN})
    for user, name in (("U0ALICE", "alice"), ("U0BOB", "bob"), ("U0CAROL", "carol")):
        slack.add_user(user, display_name=name.title(), email=f"{name}@east.example")
    return sessions


def lead_of_contact(sessions: sessionmaker[Session], clock: FakeClock) -> int:
    with sessions.begin() as session:
        data = LeadIn(name="Jane Doe", external_id=CONTACT)
        return take_lead(session, session.get_one(Team, "east"), data, clock(), "test").lead.id


def claim(sessions: sessionmaker[Session], clock: FakeClock, uid: str, lead: int) -> None:
    with sessions.begin() as session:
        claiming.claim_lead(session, member(session, uid), lead, clock())


def sync(sessions: sessionmaker[Session], slack: SlackStandIn, clock: FakeClock, hub: HubSpotStandIn) -> None:
    worker = deliverer(slack, sessions, clock, hubspot_url=hub.url)
    try:
        for _ in range(20):
            worker.tick()
            if all(row.status != "pending" for row in rows_of(sessions, "hubspot_owner")):
                return
            clock.advance(5)
    finally:
        worker.close()
    raise AssertionError("hubspot rows still pending")


def test_a_claim_sets_the_contacts_owner_once(
    east: sessionmaker[Session], slack: SlackStandIn, hub: HubSpotStandIn
) -> None:
    clock = FakeClock()
    alice = hub.add_owner("alice@east.example", "Alice")
    claim(east, clock, "U0ALICE", lead_of_contact(east, clock))
    sync(east, slack, clock, hub)
    patches = hub.calls_to("PATCH", f"/crm/v3/objects/contacts/{CONTACT}")
    assert [call.body for call in patches] == [{"properties": {"hubspot_owner_id": alice}}]
    assert [call.query for call in hub.calls_to("GET", "/crm/v3/owners")] == [
        {"email": ["alice@east.example"], "limit": ["1"]}
    ]
    assert hub.contacts[CONTACT]["hubspot_owner_id"] == alice and hub.notes == []


def test_a_split_sets_the_largest_share_as_owner_and_notes_the_partners(
    east: sessionmaker[Session], slack: SlackStandIn, hub: HubSpotStandIn
) -> None:
    clock = FakeClock()
    alice, _ = hub.add_owner("alice@east.example"), hub.add_owner("bob@east.example")
    set_limits(east, contest_window_minutes=10)
    lead = lead_of_contact(east, clock)
    claim(east, clock, "U0ALICE", lead)
    claim(east, clock, "U0BOB", lead)
    with east.begin() as session:
        dispute = session.scalars(select(Dispute).where(Dispute.lead_id == lead)).one()
        mediation.resolve(
            session,
            member(session, "U0MGR1"),
            dispute.id,
            clock(),
            outcome="split",
            shares=[("U0BOB", 30), ("U0ALICE", 70)],
            reason="joint call",
        )
    sync(east, slack, clock, hub)
    assert hub.contacts[CONTACT]["hubspot_owner_id"] == alice
    [note] = hub.notes
    assert note["properties"]["hs_note_body"] == (
        f"Dibs split the credit for L-{lead}: alice@east.example 70%, bob@east.example 30%. Reason: joint call"
    )
    assert note["associations"][0]["to"] == {"id": CONTACT}


def test_a_429_is_waited_out_as_hubspot_asks(
    east: sessionmaker[Session], slack: SlackStandIn, hub: HubSpotStandIn
) -> None:
    clock = FakeClock()
    alice = hub.add_owner("alice@east.example")
    claim(east, clock, "U0ALICE", lead_of_contact(east, clock))
    hub.rate_limit_next(1)
    worker = deliverer(slack, east, clock, hubspot_url=hub.url)
    worker.tick()
    [row] = rows_of(east, "hubspot_owner")
    assert row.status == "pending" and row.attempts == 0  # postponed, not a failed attempt
    assert (row.available_at - clock()).total_seconds() == 10  # X-HubSpot-RateLimit-Interval-Milliseconds
    clock.advance(9)
    worker.tick()
    assert hub.contacts[CONTACT].get("hubspot_owner_id") is None
    clock.advance(1)
    worker.tick()
    worker.close()
    assert hub.contacts[CONTACT]["hubspot_owner_id"] == alice


def test_a_rep_hubspot_does_not_know_fails_visibly(
    east: sessionmaker[Session], slack: SlackStandIn, hub: HubSpotStandIn
) -> None:
    clock = FakeClock()
    claim(east, clock, "U0CAROL", lead_of_contact(east, clock))
    sync(east, slack, clock, hub)
    assert [row.status for row in rows_of(east, "hubspot_owner")] == ["failed"]
    [finding] = check_crm(east, clock())
    assert not finding.ok and "HubSpot has no owner with email carol@east.example" in finding.text
