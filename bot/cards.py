"""A lead's card in the team channel: announcing, refreshing and re-announcing it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.config import Limits
from models import Lead, LeadCard, LeadStatus, Team


def current_card(session: Session, lead_id: int) -> LeadCard | None:
    return session.scalar(
        select(LeadCard).where(LeadCard.lead_id == lead_id, LeadCard.retired_at.is_(None)).order_by(LeadCard.id.desc())
    )


def open_for_claims(lead: Lead, limits: Limits, now: datetime) -> None:
    """Start (or restart) the claiming clock: fair-start window, then auto-assign."""
    lead.status = LeadStatus.OPEN
    lead.announced_at = now
    lead.fair_start_until = now + timedelta(seconds=limits.fair_start_seconds) if limits.fair_start_seconds else None
    lead.auto_assign_at = now + timedelta(minutes=limits.auto_assign_after_minutes)
    lead.assignment = None


def announce(session: Session, team: Team, lead: Lead, now: datetime) -> LeadCard:
    """Queue a new card for the lead; waiting cards for a channel are posted together."""
    card = LeadCard(lead_id=lead.id, channel=team.channel, created_at=now)
    session.add(card)
    session.flush()
    outbox.enqueue(
        session, outbox.Kind.ANNOUNCE_LEAD, now, team_id=team.id, channel=team.channel, lead_id=lead.id, card_id=card.id
    )
    return card


def refresh(session: Session, lead: Lead, now: datetime) -> None:
    """Queue an in-place update of the lead's current card (it renders the state at send time)."""
    card = current_card(session, lead.id)
    if card is not None:
        outbox.enqueue(
            session,
            outbox.Kind.REFRESH_CARD,
            now,
            team_id=lead.team_id,
            channel=card.channel,
            lead_id=lead.id,
            card_id=card.id,
        )


def reannounce(
    session: Session,
    team: Team,
    lead: Lead,
    limits: Limits,
    now: datetime,
    *,
    retired_as: str,
    by: str,
    reason: str | None = None,
) -> None:
    """Open the lead again with a fresh card; the old card becomes a stub saying how
    (`released`, `expired`), by whom (a Slack user id) and the reason they gave."""
    card = current_card(session, lead.id)
    if card is not None:
        card.retired_at, card.retired_as, card.retired_by = now, retired_as, by
        card.retired_reason = reason[:200] if reason else None
        outbox.enqueue(
            session,
            outbox.Kind.REFRESH_CARD,
            now,
            team_id=team.id,
            channel=card.channel,
            lead_id=lead.id,
            card_id=card.id,
        )
    open_for_claims(lead, limits, now)
    announce(session, team, lead, now)
