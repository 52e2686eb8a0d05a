"""`POST /api/leads`: the intake webhook (DESIGN §4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from flask import Flask, request
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from bot.intake import LeadIn, field_errors, take_lead
from bot.teams import team_for_token
from handlers.metrics import Metrics

MAX_BODY_BYTES = 64 * 1024

Answer = tuple[dict, int]


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
            try:
                raw = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return refuse(422, "invalid", {"body": f"not valid JSON ({exc})"})
            if not isinstance(raw, dict):
                return refuse(422, "invalid", {"body": "must be a JSON object of lead fields"})
            try:
                data = LeadIn.model_validate(raw)
            except ValidationError as exc:
                return refuse(422, "invalid", field_errors(exc))
            result = take_lead(session, team, data, clock(), "webhook")
            session.commit()
        metrics.leads_received.labels("webhook", "created" if result.created else "duplicate").inc()
        return result.as_json(), 201 if result.created else 200
