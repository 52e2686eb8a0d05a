"""Outcomes the CRM reports for a lead (contacted, won, lost, owner changed), applied by the same
services and rules as the Slack commands, acting as the lead's holder (a new owner is given as a
manager would give it, recorded as the CRM's: `/dibs why` says so). Each is kept by its event id:
a replay changes nothing and gets the first answer again; the id is claimed before the change, so
two deliveries at once apply once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import assignment, claims
from bot.errors import Clash, Conflict, Missing, NotFound
from bot.leads import owning_claim
from models import ClaimStatus, CrmEventIn, Lead, Member, Team
from models.bounds import largest_number

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CrmOutcomeIn(BaseModel):
    """`POST /api/leads/{external_id}/events`: what happened to the lead in the CRM."""

    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    type: Literal["contacted", "won", "lost", "owner_changed"]
    amount: Decimal | None = Field(None, ge=0, le=largest_number(Lead, "value"), decimal_places=2)
    reason: Text | None = None
    owner: Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{2,}$")] | None = None

    @model_validator(mode="after")
    def _fits_the_type(self) -> CrmOutcomeIn:
        if self.type == "owner_changed" and self.owner is None:
            raise ValueError("owner (the new owner's Slack user id) is required for owner_changed")
        if self.amount is not None and self.type != "won":
            raise ValueError("amount is only for won")
        return self


@dataclass(frozen=True)
class OutcomeResult:
    """The answer for the CRM and whether this delivery changed anything (False: a replay)."""

    answer: dict[str, Any]
    applied: bool


def lead_by_external_id(session: Session, team: Team, external_id: str) -> Lead:
    lead = session.scalar(select(Lead).where(Lead.team_id == team.id, Lead.external_id == external_id))
    if lead is None:
        raise NotFound(Missing.LEAD, ref=external_id)
    return lead


def _holder(session: Session, lead: Lead) -> Member:
    claim = owning_claim(session, lead.id)
    if claim is None or claim.status != ClaimStatus.ACTIVE:
        raise Conflict(Clash.NOT_HELD, lead=lead.ref, status=lead.status)
    return claim.member


def _apply(session: Session, team: Team, lead: Lead, event: CrmOutcomeIn, now: datetime) -> str:
    """Make the change; what became of it (`applied`, or `unchanged` for an owner it already has)."""
    if event.type == "owner_changed":
        claim = owning_claim(session, lead.id)
        if claim is not None and claim.status == ClaimStatus.ACTIVE and claim.member.slack_user_id == event.owner:
            return "unchanged"  # the CRM echoing an owner Dibs gave it: no loop
        assignment.crm_assign(session, team, lead.id, event.owner or "", now, event.reason)
        return "applied"
    holder = _holder(session, lead)
    if event.type == "contacted":
        claims.mark_contacted(session, holder, lead.id, now)
    else:
        won = event.type == "won"
        claims.close_lead(session, holder, lead.id, now, won=won, amount=event.amount, reason=event.reason)
    return "applied"


def record_outcome(session: Session, team: Team, external_id: str, event: CrmOutcomeIn, now: datetime) -> OutcomeResult:
    """Apply the CRM's event to the team's lead once; a Refusal (same rules as Slack) changes nothing."""
    seen = _seen(session, team, event.event_id)
    if seen is not None:
        return OutcomeResult(seen.answer, applied=False)
    lead = lead_by_external_id(session, team, external_id)
    taken = CrmEventIn(
        team_id=team.id,
        event_id=event.event_id,
        lead_id=lead.id,
        kind=event.type,
        received_at=now,
        answer={},
    )
    try:
        with session.begin_nested():
            session.add(taken)
            session.flush()  # the event id is ours now; a concurrent delivery waits, then finds it
    except IntegrityError:
        seen = _seen(session, team, event.event_id)
        if seen is None:
            raise
        return OutcomeResult(seen.answer, applied=False)
    result = _apply(session, team, lead, event, now)
    taken.answer = {"event_id": event.event_id, "lead": lead.ref, "type": event.type, "result": result}
    return OutcomeResult(taken.answer, applied=result == "applied")


def _seen(session: Session, team: Team, event_id: str) -> CrmEventIn | None:
    return session.scalar(select(CrmEventIn).where(CrmEventIn.team_id == team.id, CrmEventIn.event_id == event_id))
