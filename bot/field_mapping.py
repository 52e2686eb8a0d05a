"""Incoming leads in the shape a CRM sends them: each Dibs lead field read from a path in the
payload (`[teams.<slug>.crm]` `intake` preset, `fields` overriding it), then checked as any lead.

A source is a dotted path (`properties.email`; a number indexes a list), several joined by a
space (`"properties.firstname + properties.lastname"`, or a list of paths). A HubSpot property
object (`{"value": "Jane", "versions": [...]}`) stands for its value. With a preset every other
key of the payload is ignored (a CRM sends hundreds); a field that cannot be used is refused
naming the path it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bot.crm_config import source_paths
from bot.errors import DibsError
from bot.intake import LeadIn, field_errors

Fields = Mapping[str, str | list[str]]

# HubSpot's contact workflow webhook POSTs the contact as the contacts API returns it: `vid`
# and `properties.<name>.value` (docs/crm.md). Salesforce: a Flow HTTP callout whose body is
# the Lead's fields by API name (the sample in docs/crm.md).
PRESETS: dict[str, dict[str, str | list[str]]] = {
    "hubspot": {
        "external_id": "vid",
        "name": "properties.firstname + properties.lastname",
        "email": "properties.email",
        "company": "properties.company",
        "phone": "properties.phone",
        "website": "properties.website",
        "territory": "properties.state",
        "source": "properties.hs_analytics_source",
        "score": "properties.hubspotscore",
        "notes": "properties.message",
    },
    "salesforce": {
        "external_id": "Id",
        "name": "FirstName + LastName",
        "email": "Email",
        "company": "Company",
        "phone": "Phone",
        "website": "Website",
        "territory": "State",
        "source": "LeadSource",
        "notes": "Description",
    },
}


class MappingRefused(DibsError):
    """A payload the team's mapping cannot make a lead of; `errors` by source path."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _at(payload: Any, path: str) -> Any:
    value = payload
    for segment in path.split("."):
        if isinstance(value, dict):
            value = value.get(segment)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
    if isinstance(value, dict) and "value" in value:  # a HubSpot property object
        value = value["value"]
    return value


def _read(payload: Any, field: str, source: str | list[str]) -> Any:
    values = [_at(payload, path) for path in source_paths(source)]
    present = [value for value in values if value is not None and value != ""]
    if len(values) == 1:
        value = present[0] if present else None
    else:
        value = " ".join(str(part) for part in present if not isinstance(part, dict | list)) or None
    if field == "tags" and isinstance(value, str):  # HubSpot's multiple checkboxes: a;b;c
        value = [tag for tag in value.split(";") if tag.strip()]
    elif field in ("external_id", "phone") and isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = str(value)
    return value


def mapping_for(crm: Mapping[str, Any]) -> dict[str, str | list[str]] | None:
    """The team's field sources (preset, then `fields`); None for today's shape as it is."""
    preset = PRESETS.get(str(crm.get("intake") or "generic"))
    fields = dict(crm.get("fields") or {})
    if preset is None and not fields:
        return None
    return {**(preset or {}), **fields}


def lead_from_payload(crm: Mapping[str, Any], payload: dict[str, Any]) -> LeadIn:
    """The lead a team's CRM payload describes; MappingRefused naming source paths, or (today's
    shape) pydantic's ValidationError by lead field."""
    sources = mapping_for(crm)
    if sources is None:
        return LeadIn.model_validate(payload)
    preset = PRESETS.get(str(crm.get("intake") or "generic"))
    lead = {} if preset is not None else dict(payload)
    lead |= {field: _read(payload, field, source) for field, source in sources.items()}
    lead = {field: value for field, value in lead.items() if value is not None}
    where = {field: " + ".join(source_paths(source)) for field, source in sources.items()}
    required = {"name": "name"} | ({"external_id": "record id"} if preset is not None else {})
    missing = {
        where.get(field, field): f"missing: the lead's {what} is read from here"
        for field, what in required.items()
        if field not in lead
    }
    if missing:  # a CRM's record always has its id: without it, the mapping is wrong
        raise MappingRefused(missing)
    try:
        return LeadIn.model_validate(lead)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise MappingRefused({where.get(field.split(".")[0], field): why for field, why in errors.items()}) from None
