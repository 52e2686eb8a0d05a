"""Field mapping for intake: HubSpot and Salesforce payloads as they arrive, refusals by source path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.config import parse_config
from bot.crm_config import LEAD_FIELDS
from bot.errors import ConfigError
from bot.field_mapping import MappingRefused, lead_from_payload
from bot.intake import LeadIn
from tests.conftest import TEAM_TOML
from tests.crm_samples import hubspot_contact, salesforce_lead

HUBSPOT = {"intake": "hubspot"}
SALESFORCE = {"intake": "salesforce"}


def refused(crm: dict[str, Any], payload: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(MappingRefused) as raised:
        lead_from_payload(crm, payload)
    return raised.value.errors


def test_a_hubspot_workflow_contact_becomes_a_lead() -> None:
    lead = lead_from_payload(HUBSPOT, hubspot_contact())
    assert lead.model_dump(exclude_defaults=True) == {
        "external_id": "3234574",
        "name": "Jane Doe",
        "email": "jane@acme.example",
        "company": "Acme Corp",
        "phone": "+1 212 555 0100",
        "website": "acme.example",
        "territory": "NY",
        "source": "ORGANIC_SEARCH",
        "score": 70,
    }


def test_a_salesforce_flow_callout_becomes_a_lead() -> None:
    lead = lead_from_payload(SALESFORCE, salesforce_lead())
    assert (lead.external_id, lead.name, lead.email, lead.company, lead.territory, lead.source, lead.notes) == (
        "00Q5e00000AbCdEFGH",
        "John Roe",
        "john.roe@globex.example",
        "Globex",
        "CA",
        "Web",
        "Asked for a demo",
    )


def test_a_missing_part_of_a_joined_name_is_left_out() -> None:
    assert lead_from_payload(HUBSPOT, hubspot_contact(firstname="")).name == "Doe"


def test_unusable_or_missing_fields_are_refused_naming_the_source_path() -> None:
    assert refused(HUBSPOT, hubspot_contact(firstname="", lastname="")) == {
        "properties.firstname + properties.lastname": "missing: the lead's name is read from here"
    }
    assert refused(HUBSPOT, hubspot_contact(email="not-an-email")) == {"properties.email": "is not an email address"}
    assert list(refused(HUBSPOT, hubspot_contact(hubspotscore="high"))) == ["properties.hubspotscore"]
    assert refused(SALESFORCE, salesforce_lead(Id=None)) == {"Id": "missing: the lead's record id is read from here"}


def test_config_paths_override_the_preset_for_a_flat_body() -> None:
    crm = {"intake": "hubspot", "fields": {"external_id": "hs_object_id", "name": ["firstname", "lastname"]}}
    lead = lead_from_payload(crm, {"hs_object_id": 901, "firstname": "Ann", "lastname": "Lee", "x": 1})
    assert (lead.external_id, lead.name) == ("901", "Ann Lee")


def test_the_generic_shape_is_todays_and_still_refuses_unknown_fields() -> None:
    assert lead_from_payload({}, {"name": "Jane"}).name == "Jane"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        lead_from_payload({}, {"name": "Jane", "colour": "red"})


def test_the_config_refuses_unknown_lead_fields_and_malformed_paths() -> None:
    def problems(fields: str) -> list[str]:
        with pytest.raises(ConfigError) as raised:
            parse_config(TEAM_TOML + f'\n[teams.east.crm]\nintake = "hubspot"\nfields = {fields}\n', {})
        return raised.value.problems

    assert problems('{ owner = "properties.hubspot_owner_id" }')[0].startswith(
        "teams.east.crm.fields: owner is not a lead field (known: external_id, name,"
    )
    assert problems('{ email = "properties..email" }') == [
        "teams.east.crm.fields: email: 'properties..email' is not a path like properties.email (or several joined by +)"
    ]


def test_the_configs_list_of_lead_fields_is_the_intakes() -> None:
    assert tuple(LeadIn.model_fields) == LEAD_FIELDS
