"""Lead events for a team's CRM: what happened to a lead, queued as outbox rows in the
transaction of the change (one row per webhook URL, one for the HubSpot owner sync).

bot/audit.py calls `queue_for_crm` for every audit event, so each service that records a change
sends it to the CRM without knowing about CRMs. The payload is described by
docs/webhook-event.schema.json; handlers/crm_delivery.py signs and sends it, in order per lead.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from models import AuditEvent, CreditShare, Lead, Team

SCHEMA_VERSION = 1

# Audit actions that are lead events, and the event type (lead.owned is decided by how).
_SIMPLE = {
    "lead.created": "lead.announced",
    "claim.released": "lead.released",
    "claim.expired": "lead.expired",
    "claim.contacted": "lead.contacted",
    "lead.won": "lead.won",
    "lead.lost": "lead.lost",
}
OWNER_EVENTS = ("lead.claimed", "lead.assigned", "lead.split")
EVENT_TYPES = (*_SIMPLE.values(), *OWNER_EVENTS)

# How the owner was chosen (Lead.assignment kind) as the event says it.
_HOW = {
    "first_claim": "claim",
    "draw": "draw",
    "auto": "auto",
    "manager": "manager",
    "crm": "crm",
    "dispute": "dispute",
    "route": "account_owner",
}


def _owner_event(lead: Lead) -> tuple[str, str, str | None]:
    """(type, how, reason) of a lead that just got its owner."""
    assignment = lead.assignment or {}
    how = _HOW.get(str(assignment.get("kind")), "claim")
    reason = assignment.get("reason")
    if how == "claim":
        return "lead.claimed", how, None
    if how == "dispute" and assignment.get("outcome") == "split":
        return "lead.split", how, reason
    return "lead.assigned", how, reason


def _shares(session: Session, lead: Lead) -> list[dict[str, Any]]:
    rows = session.scalars(select(CreditShare).where(CreditShare.lead_id == lead.id).order_by(CreditShare.id))
    shares = [{"slack_user_id": share.member.slack_user_id, "percent": share.percent} for share in rows]
    return sorted(shares, key=lambda share: -share["percent"])


def lead_event(session: Session, event: AuditEvent, lead: Lead) -> dict[str, Any] | None:
    """The CRM event for an audit event, or None when it is not one a CRM hears about."""
    details = event.details or {}
    kind = _SIMPLE.get(event.action)
    facts: dict[str, Any] = {}
    if event.action == "lead.owned":
        kind, how, reason = _owner_event(lead)
        shares = _shares(session, lead)
        facts = {"how": how, "owner": shares[0]["slack_user_id"] if shares else event.actor, "shares": shares}
        if reason:
            facts["reason"] = reason
    elif kind in ("lead.released", "lead.expired"):
        facts = {"previous_owner": details.get("holder"), "reason": details.get("reason")}
    elif kind == "lead.won":
        facts = {"amount": details.get("amount")}
    elif kind == "lead.lost":
        facts = {"reason": details.get("reason")}
    if kind is None:
        return None
    return {
        "schema_version": SCHEMA_VERSION,
        "id": str(uuid.uuid4()),
        "type": kind,
        "occurred_at": event.at.isoformat(),
        "team": lead.team_id,
        "actor": event.actor,
        "lead": {
            "id": lead.id,
            "ref": lead.ref,
            "external_id": lead.external_id,
            "name": lead.name,
            "email": lead.email,
            "company": lead.company,
        },
        **facts,
    }


def queue_for_crm(session: Session, event: AuditEvent) -> None:
    """Queue the event for each of the team's webhooks and, for a new owner, the HubSpot sync."""
    if event.lead_id is None or event.team_id is None or event.action not in (*_SIMPLE, "lead.owned"):
        return
    team = session.get(Team, event.team_id)
    crm = team.crm if team is not None else {}
    if not crm or not (crm.get("webhooks") or crm.get("hubspot_token")):
        return
    lead = session.get(Lead, event.lead_id)
    if lead is None:
        return
    payload = lead_event(session, event, lead)
    if payload is None:
        return
    now = event.at
    for url in crm.get("webhooks") or []:
        outbox.enqueue(session, outbox.Kind.WEBHOOK, now, team_id=lead.team_id, lead_id=lead.id, url=url, event=payload)
    if crm.get("hubspot_token") and lead.external_id and payload["type"] in OWNER_EVENTS:
        outbox.enqueue(session, outbox.Kind.HUBSPOT_OWNER, now, team_id=lead.team_id, lead_id=lead.id, event=payload)
