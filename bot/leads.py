"""Reading leads: look-ups scoped to a team, and the state a lead card shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.availability import zone_of
from bot.errors import Missing, NotFound
from models import (
    OWNING_CLAIM_STATUSES,
    Claim,
    ClaimStatus,
    CreditShare,
    Dispute,
    DisputeStatus,
    How,
    Lead,
    LeadStatus,
    Member,
)


def get_lead(session: Session, team_id: str, lead_id: int, *, lock: bool = False) -> Lead:
    """A lead of this team (another team's lead is 'not found', never revealed)."""
    query = select(Lead).where(Lead.id == lead_id, Lead.team_id == team_id)
    if lock:
        query = query.with_for_update()
    lead = session.scalar(query)
    if lead is None:
        raise NotFound(Missing.LEAD, ref=f"L-{lead_id}")
    return lead


def owning_claim(session: Session, lead_id: int) -> Claim | None:
    """The claim that owns the lead (active, won or lost), if any."""
    return session.scalar(select(Claim).where(Claim.lead_id == lead_id, Claim.status.in_(OWNING_CLAIM_STATUSES)))


def pending_claims(session: Session, lead_id: int) -> list[Claim]:
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.lead_id == lead_id, Claim.status == ClaimStatus.PENDING)
            .order_by(Claim.requested_at, Claim.id)
        )
    )


@dataclass(frozen=True)
class LeadState:
    """What a card says about a lead right now."""

    lead: Lead
    owner: str | None = None  # Slack user id
    how: How | None = None
    since: datetime | None = None
    contacted: bool = False
    amount: Decimal | None = None
    outcome_reason: str | None = None
    credit: tuple[tuple[str, int], ...] = ()
    pending: int = 0
    dispute_ref: str | None = None
    mediator: str | None = None
    contact_due: datetime | None = None  # the running contact SLA
    owner_zone: str | None = None  # the owner's own time zone

    @property
    def claimable(self) -> bool:
        return self.lead.status == LeadStatus.OPEN


def lead_state(session: Session, lead: Lead) -> LeadState:
    """Gather the owner, credit, draw and dispute facts a card needs."""
    return lead_states(session, [lead])[0]


def lead_states(session: Session, leads: Sequence[Lead]) -> list[LeadState]:
    """The card facts of several leads (one message's cards) in four `IN` queries, however many
    leads: owning claims with their members, open disputes with mediators, pending counts, credit."""
    ids = [lead.id for lead in leads]
    owners = {
        claim.lead_id: claim
        for claim in session.scalars(
            select(Claim)
            .where(Claim.lead_id.in_(ids), Claim.status.in_(OWNING_CLAIM_STATUSES))
            .options(joinedload(Claim.member).joinedload(Member.team))
        )
    }
    disputes = {
        dispute.lead_id: dispute
        for dispute in session.scalars(
            select(Dispute)
            .where(Dispute.lead_id.in_(ids), Dispute.status == DisputeStatus.OPEN)
            .options(joinedload(Dispute.mediator))
        )
    }
    pending: dict[int, int] = dict(
        session.execute(
            select(Claim.lead_id, func.count())
            .where(Claim.lead_id.in_(ids), Claim.status == ClaimStatus.PENDING)
            .group_by(Claim.lead_id)
        )
        .tuples()
        .all()
    )
    credit: dict[int, list[tuple[str, int]]] = {}
    for lead_id, uid, pct in session.execute(
        select(CreditShare.lead_id, Member.slack_user_id, CreditShare.percent)
        .join(Member, CreditShare.member_id == Member.id)
        .where(CreditShare.lead_id.in_(ids))
        .order_by(CreditShare.lead_id, CreditShare.percent.desc(), CreditShare.id)
    ):
        credit.setdefault(lead_id, []).append((uid, pct))
    return [_state(lead, owners.get(lead.id), disputes.get(lead.id), pending.get(lead.id, 0), credit) for lead in leads]


def _state(
    lead: Lead, owner: Claim | None, dispute: Dispute | None, pending: int, credit: dict[int, list[tuple[str, int]]]
) -> LeadState:
    return LeadState(
        lead=lead,
        owner=owner.member.slack_user_id if owner else None,
        how=owner.how if owner else None,
        since=owner.started_at if owner else None,
        contacted=bool(owner and owner.contacted_at),
        amount=owner.amount if owner else None,
        contact_due=owner.expires_at if owner and lead.status == LeadStatus.CLAIMED else None,
        owner_zone=zone_of(owner.member) if owner else None,
        outcome_reason=owner.reason if owner and owner.status == ClaimStatus.LOST else None,
        credit=tuple(credit.get(lead.id, ())),
        pending=pending,
        dispute_ref=dispute.ref if dispute else None,
        mediator=dispute.mediator.slack_user_id if dispute and dispute.mediator else None,
    )


def open_leads(session: Session, team_id: str, limit: int = 20) -> list[Lead]:
    """Claimable leads of a team, newest first."""
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.team_id == team_id, Lead.status == LeadStatus.OPEN)
            .order_by(Lead.id.desc())
            .limit(limit)
        )
    )


def active_claims(session: Session, member_id: int) -> list[Claim]:
    """A rep's pending and active claims, oldest first."""
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.member_id == member_id,
                Claim.status.in_((ClaimStatus.PENDING, ClaimStatus.ACTIVE)),
            )
            .order_by(Claim.requested_at)
        )
    )
