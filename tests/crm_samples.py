"""Payloads as the CRMs send them, written from their public documentation (docs/crm.md):

- HubSpot: a contact-based workflow's "Send a webhook" action POSTs the enrolled contact as the
  contacts API returns it: `vid`, and each property as an object with its current `value` (and,
  for contacts, its `versions`).
- Salesforce: a Flow's HTTP Callout action POSTs the body the admin defined from a sample JSON;
  docs/crm.md gives that sample with the Lead's fields by API name.
"""

from __future__ import annotations

from typing import Any


def _prop(value: str, source: str = "FORM") -> dict[str, Any]:
    return {"value": value, "versions": [{"value": value, "source-type": source, "timestamp": 1764000000000}]}


def hubspot_contact(vid: int = 3234574, **overrides: str) -> dict[str, Any]:
    properties = {
        "firstname": "Jane",
        "lastname": "Doe",
        "email": "jane@acme.example",
        "company": "Acme Corp",
        "phone": "+1 212 555 0100",
        "website": "acme.example",
        "state": "NY",
        "hs_analytics_source": "ORGANIC_SEARCH",
        "hubspotscore": "70",
        "lifecyclestage": "lead",
        "lastmodifieddate": "1764000000000",
    } | overrides
    return {
        "vid": vid,
        "canonical-vid": vid,
        "merged-vids": [],
        "portal-id": 62515,
        "is-contact": True,
        "properties": {name: _prop(value) for name, value in properties.items() if value != ""},
        "form-submissions": [],
        "list-memberships": [],
        "identity-profiles": [
            {"vid": vid, "identities": [{"type": "EMAIL", "value": properties["email"], "timestamp": 1764000000000}]}
        ],
    }


def salesforce_lead(**overrides: Any) -> dict[str, Any]:
    return {
        "Id": "00Q5e00000AbCdEFGH",
        "FirstName": "John",
        "LastName": "Roe",
        "Email": "john.roe@globex.example",
        "Company": "Globex",
        "Phone": "(415) 555-0199",
        "Website": "https://globex.example",
        "State": "CA",
        "LeadSource": "Web",
        "Description": "Asked for a demo",
        "Status": "Open - Not Contacted",
    } | overrides
