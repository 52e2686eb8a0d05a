"""Issue 14's done-when, through the running app: a HubSpot workflow's webhook creates and
announces a lead; a claim in Slack sends one signed event and one HubSpot owner update; a `won`
from the CRM shows on the card and in the digest; the same event twice changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sandbox.clock import SteppingClock
from sandbox.hubspot_api import HubSpotStandIn
from sandbox.slack_web import SlackStandIn
from sandbox.webhook_receiver import WebhookReceiver
from tests.crm_helpers import SECRET, SECRET_VAR, check_schema, crm_toml
from tests.crm_samples import hubspot_contact
from tests.fixtures_app import AppDriver, eventually, running_dibs, runtime_settings
from tests.test_claims_e2e import card_shows
from tests.test_crm_outcomes_e2e import changes, digest_preview, post_event

HUBSPOT_VAR, HUBSPOT_TOKEN = "DIBS_TEST_HUBSPOT_TOKEN", "pat-na1-e2e"
VID = 3234574


@pytest.fixture
def crm(clock: SteppingClock) -> Iterator[tuple[WebhookReceiver, HubSpotStandIn]]:
    with WebhookReceiver(SECRET, clock=lambda: clock().timestamp()) as receiver, HubSpotStandIn(HUBSPOT_TOKEN) as hub:
        hub.add_contact(str(VID), firstname="Jane", lastname="Doe")
        yield receiver, hub
        assert receiver.problems == [] and hub.problems == []


@pytest.fixture
def wired(
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    clock: SteppingClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    crm: tuple[WebhookReceiver, HubSpotStandIn],
) -> Iterator[AppDriver]:
    """Dibs with the east team's HubSpot wired both ways."""
    receiver, hub = crm
    monkeypatch.setenv(SECRET_VAR, SECRET)
    monkeypatch.setenv(HUBSPOT_VAR, HUBSPOT_TOKEN)
    slack.add_user("U0ALICE", display_name="Alice Adams", email="alice@east.example")
    config = tmp_path / "teams.toml"
    config.write_text(crm_toml(receiver.url, intake="hubspot", hubspot_token=f"env:{HUBSPOT_VAR}"))
    settings = runtime_settings(database_url, slack, config, hubspot_api_url=hub.url)
    with running_dibs(settings, slack, clock) as driver:
        yield driver


def post_contact(dibs: AppDriver) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer east-token-123"}
    answer = dibs.request("POST", "/api/leads", json.dumps(hubspot_contact(VID)).encode(), headers)
    return answer.status, answer.json()


def test_hubspot_both_ways(wired: AppDriver, crm: tuple[WebhookReceiver, HubSpotStandIn]) -> None:
    receiver, hub = crm
    alice = hub.add_owner("alice@east.example", "Alice", "Adams")

    status, created = post_contact(wired)
    assert status == 201, created
    ref = created["id"]
    wired.message_to("C0EAST", f"New lead: {ref}")
    assert post_contact(wired) == (200, created), "the same contact is the same lead (200: not created)"

    assert wired.click_claim(ref, "U0ALICE").status == 200
    assert eventually(lambda: [e["type"] for e in receiver.events()] == ["lead.announced", "lead.claimed"])
    assert eventually(lambda: hub.contacts[str(VID)].get("hubspot_owner_id") == alice)
    claimed = receiver.events()[1]
    check_schema(claimed)
    assert (claimed["owner"], claimed["lead"]["external_id"]) == ("U0ALICE", str(VID))
    assert len(hub.calls_to("PATCH", "/crm/v3/objects/contacts/")) == 1

    won = {"event_id": "hs-wf-77", "type": "won", "amount": 12500}
    first = post_event(wired, str(VID), won)
    assert first.status == 200 and first.json()["result"] == "applied"
    card_shows(wired, "Won by <@U0ALICE> · $12,500")
    assert "won 1 ($12,500)" in digest_preview(wired)
    assert eventually(lambda: [e["type"] for e in receiver.events()][-1] == "lead.won")

    before = changes(wired)
    assert post_event(wired, str(VID), won).json() == first.json()
    assert changes(wired) == before and len(receiver.events()) == 3
