"""`POST /api/leads`: the intake webhook (DESIGN §4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask, request
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from bot.field_mapping import MappingRefused, lead_from_payload
from bot.intake import field_errors, take_lead
from bot.teams import team_for_token
from handlers.metrics import Metrics
from infra import logs

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # a lead is one object holding one list; anything deeper is not a lead

Answer = tuple[dict, int]

_QUOTE, _BACKSLASH = ord('"'), ord("\\")


class BodyRefused(ValueError):
    """A body that is not a JSON object of lead fields; the message says why."""


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether arrays and objects in `body` nest deeper than `limit`, found without parsing it
    (the parser itself would recurse once per level)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        elif byte in b"]}":
            depth -= 1
    return False


def lead_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; numbers are read as Decimal, so no size of number breaks parsing."""
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise BodyRefused(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        raw = json.loads(body, parse_int=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyRefused(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise BodyRefused("must be a JSON object of lead fields")
    return raw


def register_intake(
    web: Flask, sessions: sessionmaker[Session], metrics: Metrics, clock: Callable[[], datetime]
) -> None:
    """Add the webhook route; every refusal changes nothing and says why."""

    def refuse(status: int, result: str, errors: dict[str, str]) -> Answer:
        metrics.leads_received.labels("webhook", result).inc()
        return {"errors": errors}, status

    @web.post("/api/leads")
    def receive_lead() -> Answer:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return refuse(413, "too_large", {"body": f"larger than {MAX_BODY_BYTES // 1024} KiB"})
        body = request.stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return refuse(413, "too_large", {"body": f"larger than {MAX_BODY_BYTES // 1024} KiB"})
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with sessions() as session:
            team = team_for_token(session, token.strip()) if scheme.lower() == "bearer" and token else None
            if team is None:
                return refuse(401, "unauthorized", {"authorization": "missing or wrong team intake token"})
            logs.bind(team=team.id)
            try:
                data = lead_from_payload(team.crm or {}, lead_json(body))  # the team's CRM shape, or ours
            except MappingRefused as exc:
                return refuse(422, "invalid", exc.errors)
            except BodyRefused as exc:
                return refuse(422, "invalid", {"body": str(exc)})
            except ValidationError as exc:
                return refuse(422, "invalid", field_errors(exc))
            result = take_lead(session, team, data, clock(), "webhook")
            session.commit()
            logs.bind(lead=result.lead.ref)
        metrics.leads_received.labels("webhook", "created" if result.created else "duplicate").inc()
        return result.as_json(), 201 if result.created else 200
