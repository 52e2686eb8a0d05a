"""The HubSpot stand-in refuses what HubSpot would, and the official client works against it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInput

from sandbox.hubspot_api import HubSpotStandIn

TOKEN = "pat-na1-test"


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(TOKEN) as started:
        started.add_contact("501", firstname="Jane")
        yield started


def call(hub: HubSpotStandIn, method: str, path: str, body: Any = None, **headers: str) -> int:
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"} | headers
    request = urllib.request.Request(hub.url + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_the_official_client_reads_owners_and_sets_a_contacts_owner(hub: HubSpotStandIn) -> None:
    owner = hub.add_owner("alice@east.example", "Alice", "Adams")
    api = HubSpot(access_token=TOKEN, host=hub.url)
    page = api.crm.owners.owners_api.get_page(email="alice@east.example")
    assert [found.id for found in page.results] == [owner]
    api.crm.contacts.basic_api.update("501", SimplePublicObjectInput(properties={"hubspot_owner_id": owner}))
    assert hub.contacts["501"]["hubspot_owner_id"] == owner and hub.problems == []


def test_calls_hubspot_would_refuse_are_refused_and_change_nothing(hub: HubSpotStandIn) -> None:
    owner = hub.add_owner("alice@east.example")
    note = {"properties": {"hs_timestamp": "2026-11-23T15:00:00Z", "hs_note_body": "hi"}}
    to_contact = [
        {"to": {"id": "501"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}
    ]
    cases: dict[str, tuple[str, str, Any, dict[str, str]]] = {
        "no token": ("PATCH", "/crm/v3/objects/contacts/501", {"properties": {}}, {"Authorization": ""}),
        "wrong token": ("GET", "/crm/v3/owners?email=a@b.c", None, {"Authorization": "Bearer other"}),
        "form body": ("PATCH", "/crm/v3/objects/contacts/501", {"properties": {}}, {"Content-Type": "text/plain"}),
        "unknown owner": ("PATCH", "/crm/v3/objects/contacts/501", {"properties": {"hubspot_owner_id": "1"}}, {}),
        "user id, not owner id": (
            "PATCH",
            "/crm/v3/objects/contacts/501",
            {"properties": {"hubspot_owner_id": str(int(owner) + 9_000_000)}},
            {},
        ),
        "owner as a number": ("PATCH", "/crm/v3/objects/contacts/501", {"properties": {"hubspot_owner_id": 5}}, {}),
        "unknown contact": ("PATCH", "/crm/v3/objects/contacts/999", {"properties": {"hubspot_owner_id": owner}}, {}),
        "flat body": ("PATCH", "/crm/v3/objects/contacts/501", {"hubspot_owner_id": owner}, {}),
        "note without timestamp": ("POST", "/crm/v3/objects/notes", {"properties": {"hs_note_body": "x"}}, {}),
        "note to a deal type": (
            "POST",
            "/crm/v3/objects/notes",
            note | {"associations": [{"to": {"id": "501"}, "types": [{"associationTypeId": 214}]}]},
            {},
        ),
        "v1 owners": ("GET", "/owners/v2/owners", None, {}),
    }
    statuses = {name: call(hub, method, path, body, **headers) for name, (method, path, body, headers) in cases.items()}
    assert all(status >= 400 for status in statuses.values()), statuses
    assert hub.contacts["501"] == {"firstname": "Jane"} and hub.notes == []
    assert call(hub, "POST", "/crm/v3/objects/notes", note | {"associations": to_contact}) == 201


def test_a_rate_limited_call_is_answered_429_with_hubspots_headers(hub: HubSpotStandIn) -> None:
    hub.rate_limit_next(1)
    request = urllib.request.Request(hub.url + "/crm/v3/owners", headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as limited:
        urllib.request.urlopen(request, timeout=5)
    assert limited.value.code == 429
    assert limited.value.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert call(hub, "GET", "/crm/v3/owners") == 200
