"""Disputes over a lead or an account, and the reps who are party to them (DESIGN §7)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.lead import Claim, Lead
from models.team import Member
from models.types import string_enum


class DisputeKind(StrEnum):
    SAME_LEAD = "same_lead"
    SAME_ACCOUNT = "same_account"


class DisputeOutcome(StrEnum):
    AWARD = "award"  # to one party
    SPLIT = "split"  # credit shared by 2-4 reps
    ASSIGN = "assign"  # to any rep of the team
    WITHDRAWN = "withdrawn"  # the other parties withdrew


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class Dispute(Base):
    """A mediation case; `D-<id>` is its reference. At most one open dispute per lead."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index(
            "uq_disputes_one_open_per_lead",
            "lead_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_disputes_team_opened", "team_id", "opened_at"),
        Index("ix_disputes_team_status", "team_id", "status"),
        Index("ix_disputes_status_remind", "status", "remind_at"),
        Index("ix_disputes_team_resolved", "team_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[DisputeKind] = mapped_column(string_enum(DisputeKind, name="kind", length=16))
    status: Mapped[DisputeStatus] = mapped_column(
        string_enum(DisputeStatus, name="status", length=16), default=DisputeStatus.OPEN
    )
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    account_holder_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    account_held_since: Mapped[datetime | None]
    suggested_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    opened_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]  # dispute SLA; cleared once reminded or closed
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    outcome: Mapped[DisputeOutcome | None] = mapped_column(string_enum(DisputeOutcome, name="outcome", length=16))
    reason: Mapped[str | None] = mapped_column(Text)
    thread_channel: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))

    lead: Mapped[Lead] = relationship()
    mediator: Mapped[Member | None] = relationship(foreign_keys=[mediator_id])
    parties: Mapped[list[DisputeParty]] = relationship(back_populates="dispute", order_by="DisputeParty.claimed_at")

    @property
    def ref(self) -> str:
        return f"D-{self.id}"


class DisputeParty(Base):
    """A rep in a dispute, with the claim that brought them in."""

    __tablename__ = "dispute_parties"
    __table_args__ = (UniqueConstraint("dispute_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    claimed_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    dispute: Mapped[Dispute] = relationship(back_populates="parties")
    member: Mapped[Member] = relationship()
    claim: Mapped[Claim | None] = relationship()
