"""`POST /api/leads/{external_id}/events`: outcomes reported by a team's CRM (docs/crm.md).

Answers: 200 with what became of the event (a replay gets the first answer again), 401 without
the team's intake token, 404 for a lead the team does not have, 409 when the same rules as the
Slack commands refuse it (the refusal in words and as facts), 413/422 for a body that is not one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, request
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from bot.crm_outcomes import CrmOutcomeIn, record_outcome
from bot.errors import NotFound, Refusal
from bot.intake import field_errors
from bot.teams import team_for_token
from handlers.intake_routes import Answer, BodyRefused, lead_json
from handlers.metrics import Metrics
from handlers.refusals import refusal_text

MAX_EVENT_BYTES = 8 * 1024


def register_crm_routes(
    web: Flask, sessions: sessionmaker[Session], metrics: Metrics, clock: Callable[[], datetime]
) -> None:
    """Add the CRM outcome route; every refusal changes nothing and says why."""

    def refuse(status: int, result: str, body: dict) -> Answer:
        metrics.leads_received.labels("crm_event", result).inc()
        return body, status

    @web.post("/api/leads/<path:external_id>/events")
    def receive_crm_event(external_id: str) -> Answer:
        body = request.stream.read(MAX_EVENT_BYTES + 1)
        if (request.content_length or 0) > MAX_EVENT_BYTES or len(body) > MAX_EVENT_BYTES:
            return refuse(413, "too_large", {"errors": {"body": f"larger than {MAX_EVENT_BYTES // 1024} KiB"}})
        if len(external_id) > 200:
            return refuse(404, "unknown_lead", {"errors": {"external_id": "longer than any lead's id"}})
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with sessions() as session:
            team = team_for_token(session, token.strip()) if scheme.lower() == "bearer" and token else None
            if team is None:
                return refuse(401, "unauthorized", {"errors": {"authorization": "missing or wrong team intake token"}})
            try:
                event = CrmOutcomeIn.model_validate(lead_json(body))
            except BodyRefused as exc:
                return refuse(422, "invalid", {"errors": {"body": str(exc)}})
            except ValidationError as exc:
                return refuse(422, "invalid", {"errors": field_errors(exc)})
            try:
                result = record_outcome(session, team, external_id, event, clock())
            except NotFound as refused:
                session.rollback()
                return refuse(404, "unknown_lead", _refusal(refused))
            except Refusal as refused:
                session.rollback()
                return refuse(409, "refused", _refusal(refused))
            session.commit()
        metrics.leads_received.labels("crm_event", "applied" if result.applied else "replay").inc()
        return result.answer, 200


def _refusal(refused: Refusal) -> dict:
    return {"errors": {"event": refusal_text(refused)}, "refusal": refused.as_record()}
