"""A team's CRM wiring in the config (`[teams.<slug>.crm]`): outgoing webhooks, HubSpot owner
sync and how incoming leads map to Dibs fields. Secrets are named (`env:NAME`), never written."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

_ENV_REF = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")

_SEGMENT = re.compile(r"^[A-Za-z0-9_$-]+$")

Preset = Literal["generic", "hubspot", "salesforce"]
# The fields of bot/intake.py LeadIn (a test keeps them equal; imported here, it would be a cycle).
LEAD_FIELDS: tuple[str, ...] = (
    "external_id",
    "name",
    "email",
    "company",
    "website",
    "phone",
    "territory",
    "tags",
    "source",
    "score",
    "value",
    "notes",
)


def _env_ref(value: str) -> str:
    if not _ENV_REF.match(value):
        raise ValueError("must name an environment variable as env:NAME (secrets stay out of files)")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


EnvRef = Annotated[str, AfterValidator(_env_ref)]
Url = Annotated[str, AfterValidator(_url)]
# A Dibs field from one source path, several joined by a space (a list), or "a + b" (the same).
FieldSource = str | list[str]


class CrmConfig(BaseModel):
    """`webhooks` get every lead event signed with `webhook_secret`; `hubspot_token` turns on the
    owner sync; `intake` picks the shape incoming leads arrive in, `fields` overrides its paths."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    webhooks: list[Url] = Field(default_factory=list, max_length=10)
    webhook_secret: EnvRef | None = None
    hubspot_token: EnvRef | None = None
    intake: Preset = "generic"
    fields: dict[str, FieldSource] = Field(default_factory=dict)

    @field_validator("fields")
    @classmethod
    def _known_fields_and_paths(cls, fields: dict[str, FieldSource]) -> dict[str, FieldSource]:
        for name, source in fields.items():
            if name not in LEAD_FIELDS:
                raise ValueError(f"{name} is not a lead field (known: {', '.join(LEAD_FIELDS)})")
            paths = source_paths(source)
            if not paths or not all(path and all(map(_SEGMENT.match, path.split("."))) for path in paths):
                raise ValueError(f"{name}: {source!r} is not a path like properties.email (or several joined by +)")
        return fields


def source_paths(source: str | list[str]) -> list[str]:
    """The paths of a field's source: a list of them, or one string joined with `+`."""
    parts = source if isinstance(source, list) else source.split("+")
    return [part.strip() for part in parts]


def env_name(ref: str) -> str:
    return ref.removeprefix("env:")


def secret_of(ref: str | None, env: dict[str, str] | None = None) -> str | None:
    """The secret an `env:NAME` reference names, or None when unset."""
    if ref is None:
        return None
    return (os.environ if env is None else env).get(env_name(ref)) or None


def crm_problems(slug: str, raw: Any, env: dict[str, str] | None) -> list[str]:
    """Rules across the crm keys, by key path: webhooks need a secret that is set, a token must be set."""
    if not isinstance(raw, dict):
        return []
    path = f"teams.{slug}.crm"
    problems = []
    secret = raw.get("webhook_secret")
    if raw.get("webhooks") and not secret:
        problems.append(f"{path}.webhook_secret: needed to sign the webhooks (env:NAME of a long random secret)")
    for key in ("webhook_secret", "hubspot_token"):
        ref = raw.get(key)
        if isinstance(ref, str) and _ENV_REF.match(ref) and secret_of(ref, env) is None:
            problems.append(f"{path}.{key}: environment variable {env_name(ref)} is not set")
    return problems
