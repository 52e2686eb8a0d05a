"""Outcomes a CRM sent (`POST /api/leads/{external_id}/events`), kept by their event id so a
replayed event changes nothing and gets the first answer again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class CrmEventIn(Base):
    """One CRM event taken (or refused) for a lead, by the team's own event id."""

    __tablename__ = "crm_events_in"
    __table_args__ = (UniqueConstraint("team_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    event_id: Mapped[str] = mapped_column(String(200))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    answer: Mapped[dict[str, Any]]  # what the first delivery was answered (200), sent again to a replay
