"""Operational tables: the audit log, the Slack outbox, scheduled-job runs, seen events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import string_enum


class AuditEvent(Base):
    """Who did what, when and why; written in the same transaction as the change."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_team_at", "team_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(32))  # Slack user id, or "dibs" for the bot itself
    action: Mapped[str] = mapped_column(String(48))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"), index=True)
    details: Mapped[dict[str, Any]]


class OutboxKind(StrEnum):
    """What an outbox row sends; handlers/delivery.py renders and sends each kind."""

    ANNOUNCE_LEAD = "announce_lead"  # a lead card; waiting ones for a channel go out together
    REFRESH_CARD = "refresh_card"  # re-render the message holding a lead's card
    POST = "post"  # text rendered by handlers/ to a channel, a thread (payload thread_ts) or a user (DM)
    NOTICE = "notice"  # a notice (payload notice + facts) to a user (DM) or channel, worded when sent
    RESPOND = "respond"  # a private answer by an interaction's response_url (payload); a DM once it expired
    PUBLISH_HOME = "publish_home"  # App Home for one user
    DISPUTE_CASE = "dispute_case"  # the case in the mediation channel; its ts starts the thread
    DISPUTE_REFRESH = "dispute_refresh"  # re-render the case message (parties, outcome)
    THREAD_POST = "thread_post"  # a notice in a dispute's thread (rows queued before notices: text)
    DIGEST = "digest"  # the weekly fairness digest, rendered when sent
    DIGEST_CHART = "digest_chart"  # the digest's chart, drawn and shared to the channel when sent
    RETIRE_COPY = "retire_copy"  # a second copy of a card or case message (payload ts), updated to a stub
    WEBHOOK = "webhook"  # a signed lead event (payload url, event) to a team's CRM webhook; in order per lead
    HUBSPOT_OWNER = "hubspot_owner"  # a lead's owner (and split note) written to its HubSpot contact; in order
    EXPORT_FILE = "export_file"  # a manager's export (payload dataset, since), written and shared to their DM when sent
    LIMITS_PREVIEW = "limits_preview"  # a manager's `/dibs limits preview` (payload key, value), replayed when sent
    # Kinds no longer queued; rows of earlier releases keep them (delivery fails them as unknown).
    EPHEMERAL = "ephemeral"  # a private answer in a channel, before answers went by response_url
    UPLOAD = "upload"  # the digest chart's bytes, before the chart was drawn when sent


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """One message for Slack, delivered after the transaction that wrote it commits (DESIGN §8)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_available", "status", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id"))
    kind: Mapped[OutboxKind] = mapped_column(string_enum(OutboxKind, name="kind", length=32))
    channel: Mapped[str | None] = mapped_column(String(32))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"))
    payload: Mapped[dict[str, Any]]
    status: Mapped[OutboxStatus] = mapped_column(
        string_enum(OutboxStatus, name="status", length=16), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    available_at: Mapped[datetime]  # due then; while leased, when the lease runs out
    leased_by: Mapped[str | None] = mapped_column(String(64))  # the worker sending it now, if any
    unsure_since: Mapped[datetime | None]  # a send since then may have reached Slack: look before re-sending
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]


class JobRun(Base):
    """A scheduled job taken for one key (e.g. digest for east/2026-W47); unique, so once only."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]


REQUEST_DIGEST_PREFIX = "body:"  # a SeenEvent that is a signed request's digest (handlers/edge.py), not an event id


class SeenEvent(Base):
    """Slack event ids already handled, so a retried delivery never acts twice; and digests of
    signed requests (`REQUEST_DIGEST_PREFIX`), so a replayed copy never acts twice."""

    __tablename__ = "seen_events"
    __table_args__ = (Index("ix_seen_events_seen_at", "seen_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]
