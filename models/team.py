"""Teams, their members and when members were away."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.types import string_enum


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"


class Team(Base):
    """A sales team: its channels, time zone, limits and digest schedule (DESIGN §3)."""

    __tablename__ = "teams"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    mediation_channel: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    intake_token_hash: Mapped[str | None] = mapped_column(String(64))
    limits: Mapped[dict[str, Any]]
    limit_overrides: Mapped[dict[str, Any]]
    digest_day: Mapped[str] = mapped_column(String(3))
    digest_time: Mapped[str] = mapped_column(String(5))
    hours: Mapped[str | None] = mapped_column(String(100))  # the reps' default; None: around the clock
    holidays: Mapped[list[str]] = mapped_column(default=list, server_default="[]")  # ISO dates
    crm: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")  # bot/crm_config.py CrmConfig
    # Where a lead goes when no eligible rep can take it: "managers", "wait", or a Slack user id.
    fallback: Mapped[str] = mapped_column(String(32), default="wait", server_default="wait")
    away_statuses: Mapped[list[str] | None]  # Slack statuses that mean away; None: the defaults
    contact_retention_days: Mapped[int | None]  # closed leads' contact details erased after; None: kept
    updated_at: Mapped[datetime]

    members: Mapped[list[Member]] = relationship(back_populates="team", order_by="Member.id")

    @property
    def mediation_channel_or_default(self) -> str:
        return self.mediation_channel or self.channel


class Member(Base):
    """A Slack user in one team, as a rep or a manager. Removed members stay for history."""

    __tablename__ = "members"
    __table_args__ = (CheckConstraint("weight > 0", name="weight_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), index=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[Role] = mapped_column(string_enum(Role, name="role", length=16))
    weight: Mapped[float] = mapped_column(default=1.0)
    territories: Mapped[list[str]]
    skills: Mapped[list[str]]
    active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(16), default="config")  # config, or slack (team add)
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    last_assigned_at: Mapped[datetime | None]
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the team's
    hours: Mapped[str | None] = mapped_column(String(100))  # None: the team's
    paused_at: Mapped[datetime | None]  # paused from auto-assign (missed SLAs) until resumed

    team: Mapped[Team] = relationship(back_populates="members")

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


class AwayPeriod(Base):
    """A stretch of time a member was (or will be) unavailable; open-ended until `back`."""

    __tablename__ = "away_periods"
    __table_args__ = (
        Index(
            "uq_away_periods_one_open_per_member",
            "member_id",
            unique=True,
            postgresql_where=text("ends_at IS NULL"),
            sqlite_where=text("ends_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), default="command", server_default="command")  # or slack_status
