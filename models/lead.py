"""Leads, the claims reps make on them and how credit for a lead is shared."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.team import Member, Team
from models.types import string_enum


class LeadStatus(StrEnum):
    OPEN = "open"  # announced, claimable
    CLAIMED = "claimed"  # has an owner (claimed, assigned or awarded)
    DISPUTED = "disputed"  # an open dispute decides the owner
    WON = "won"
    LOST = "lost"


class ClaimStatus(StrEnum):
    PENDING = "pending"  # waiting for the fair-start draw or a dispute
    ACTIVE = "active"  # owns the lead
    WON = "won"
    LOST = "lost"
    RELEASED = "released"  # given back by the rep or a manager
    EXPIRED = "expired"  # contact SLA missed
    DECLINED = "declined"  # lost the draw or the dispute, or withdrew


class How(StrEnum):
    """How a claim came to own its lead; bot/ownership.py sets it with the record of the choice."""

    CLAIM = "claim"  # the rep's own claim: the first valid one, or the fair-start draw's winner
    AUTO = "auto"  # auto-assigned after nobody claimed it
    ASSIGN = "assign"  # a manager's assignment, or a dispute decided by assigning it
    ROUTE = "route"  # routed to the rep holding its account
    AWARD = "award"  # a dispute awarded it
    SPLIT = "split"  # a dispute split its credit (the largest share holds it)
    WITHDRAWN = "withdrawn"  # the other parties of its dispute withdrew


OWNING_CLAIM_STATUSES = (ClaimStatus.ACTIVE, ClaimStatus.WON, ClaimStatus.LOST)
_OWNING_SQL = text("status IN ('active', 'won', 'lost')")


class Lead(Base):
    """A sales lead announced to one team; `L-<id>` is its reference."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("team_id", "external_id"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        Index("ix_leads_team_account_domain", "team_id", "account_domain"),
        Index("ix_leads_team_account_name", "team_id", "account_name"),
        # The fuzzy route of the account look-up (bot/overlap.py): same first word, same territory.
        Index("ix_leads_team_block_territory", "team_id", "name_block", text("lower(territory)")),
        Index("ix_leads_team_phone_key", "team_id", "phone_key"),
        Index("ix_leads_team_created", "team_id", "created_at"),
        Index("ix_leads_team_status", "team_id", "status"),
        Index("ix_leads_status_fair_start", "status", "fair_start_until"),
        Index("ix_leads_status_auto_assign", "status", "auto_assign_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    company: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(50))
    territory: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[str]]
    source: Mapped[str | None] = mapped_column(String(100))
    score: Mapped[int | None]
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    notes: Mapped[str | None] = mapped_column(Text)

    account_key: Mapped[str | None] = mapped_column(String(200))
    account_domain: Mapped[str | None] = mapped_column(String(253))
    account_name: Mapped[str | None] = mapped_column(String(200))
    name_block: Mapped[str | None] = mapped_column(String(16))
    phone_key: Mapped[str | None] = mapped_column(String(20))

    status: Mapped[LeadStatus] = mapped_column(
        string_enum(LeadStatus, name="status", length=16), default=LeadStatus.OPEN
    )
    created_at: Mapped[datetime]
    announced_at: Mapped[datetime]
    fair_start_until: Mapped[datetime | None]
    auto_assign_at: Mapped[datetime | None]  # when an unclaimed lead goes to round robin
    # The open fair-start window's secret seed and its commitment sha256(seed), shown on the card
    # (bot/draws.py); the seed is revealed by `/dibs why` once the window has closed.
    draw_seed: Mapped[str | None] = mapped_column(String(64))
    draw_commitment: Mapped[str | None] = mapped_column(String(64))
    # How the owner was chosen, for `/dibs why`: written and read only by bot/ownership.py.
    assignment: Mapped[dict[str, Any] | None]
    # Where the lead went while no rep could take it (escalated to managers, a fallback), and why:
    # written by bot/escalation.py, read for `/dibs why`; cleared once it has an owner.
    fallback: Mapped[dict[str, Any] | None]
    closed_at: Mapped[datetime | None]
    contact_erased_at: Mapped[datetime | None]  # its person's details were erased (bot/erasure.py)

    team: Mapped[Team] = relationship()
    claims: Mapped[list[Claim]] = relationship(back_populates="lead", order_by="Claim.id")

    @property
    def ref(self) -> str:
        return f"L-{self.id}"


class LeadCard(Base):
    """A lead's card in a channel message; one message holds up to 10 cards.

    A re-announced lead gets a new card; the old one is retired and shows a stub.
    """

    __tablename__ = "lead_cards"
    __table_args__ = (Index("ix_lead_cards_message", "channel", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))  # set once the message is posted
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    retired_as: Mapped[str | None] = mapped_column(String(16))  # released, expired, escalated
    retired_by: Mapped[str | None] = mapped_column(String(32))  # Slack user id of who held it
    retired_reason: Mapped[str | None] = mapped_column(String(200))  # the reason they gave (user text)

    lead: Mapped[Lead] = relationship()


class Claim(Base):
    """One rep's claim on one lead, from request to outcome."""

    __tablename__ = "claims"
    __table_args__ = (
        # The race rule: however many clicks, at most one claim owns a lead.
        Index(
            "uq_claims_one_owner_per_lead",
            "lead_id",
            unique=True,
            postgresql_where=_OWNING_SQL,
            sqlite_where=_OWNING_SQL,
        ),
        # A double click never makes two waiting claims.
        Index(
            "uq_claims_one_pending_per_rep",
            "lead_id",
            "member_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_claims_member_requested", "member_id", "requested_at"),
        Index("ix_claims_lead", "lead_id"),
        Index("ix_claims_started", "started_at"),
        Index("ix_claims_requested", "requested_at"),  # the digest's claims on a week's leads
        Index("ix_claims_status_ended", "status", "ended_at"),
        Index("ix_claims_status_remind", "status", "remind_at"),
        Index("ix_claims_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    status: Mapped[ClaimStatus] = mapped_column(string_enum(ClaimStatus, name="status", length=16))
    how: Mapped[How] = mapped_column(string_enum(How, name="how", length=16))
    hot: Mapped[bool] = mapped_column(default=False)
    over_limit: Mapped[bool] = mapped_column(default=False)
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    contacted_at: Mapped[datetime | None]
    remind_at: Mapped[datetime | None]  # contact SLA half time; cleared once reminded or contacted
    expires_at: Mapped[datetime | None]  # contact SLA end; cleared once contacted
    ended_at: Mapped[datetime | None]
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    reason: Mapped[str | None] = mapped_column(Text)

    lead: Mapped[Lead] = relationship(back_populates="claims")
    member: Mapped[Member] = relationship()


class CreditShare(Base):
    """Who is credited with a lead, in whole percent: 100 for an owner, 2–4 parts for a split."""

    __tablename__ = "credit_shares"
    __table_args__ = (
        UniqueConstraint("lead_id", "member_id"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    percent: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(index=True)  # the digest's credit of a week's leads

    member: Mapped[Member] = relationship()
