"""The audit log: one call per state change, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.crm_events import queue_for_crm
from models import AuditEvent

BOT_ACTOR = "dibs"


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    team_id: str | None,
    lead_id: int | None = None,
    dispute_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event (who, what, when, why) to the session, and the team's CRM events it
    makes (bot/crm_events.py); the caller commits."""
    event = AuditEvent(
        team_id=team_id,
        at=at,
        actor=actor,
        action=action,
        lead_id=lead_id,
        dispute_id=dispute_id,
        details=details,
    )
    session.add(event)
    queue_for_crm(session, event)
    return event
