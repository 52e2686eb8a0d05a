"""A lead's card in the team channel: announcing, refreshing and retiring it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from models import Lead, LeadCard, Team


def current_card(session: Session, lead_id: int) -> LeadCard | None:
    return session.scalar(
        select(LeadCard).where(LeadCard.lead_id == lead_id, LeadCard.retired_at.is_(None)).order_by(LeadCard.id.desc())
    )


def posted_card(session: Session, lead_id: int) -> LeadCard | None:
    """The lead's newest card that Slack has shown (live or retired): where its thread is."""
    return session.scalar(
        select(LeadCard).where(LeadCard.lead_id == lead_id, LeadCard.ts.is_not(None)).order_by(LeadCard.id.desc())
    )


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
        _rerender(session, lead, card, now)


def retire(session: Session, lead: Lead, now: datetime, *, retired_as: str, by: str, reason: str | None = None) -> None:
    """The lead's card becomes a stub saying how it was given back (`released`, `expired`), by whom
    (a Slack user id) and the reason they gave; a re-announced lead gets a new card."""
    card = current_card(session, lead.id)
    if card is not None:
        card.retired_at, card.retired_as, card.retired_by = now, retired_as, by
        card.retired_reason = reason[:200] if reason else None
        _rerender(session, lead, card, now)


def _rerender(session: Session, lead: Lead, card: LeadCard, now: datetime) -> None:
    outbox.enqueue(
        session,
        outbox.Kind.REFRESH_CARD,
        now,
        team_id=lead.team_id,
        channel=card.channel,
        lead_id=lead.id,
        card_id=card.id,
        ts=card.ts,  # its message, if posted: updates of different messages go side by side
    )
