"""Exports of a team's data (issue 15): leads, claims, disputes or the audit trail as CSV or
JSON lines, streamed from the database in constant memory.

Rows come through a server-side cursor (`yield_per`: PostgreSQL's named cursor, SQLite's
stepping cursor), `BATCH` at a time, and are written as they come; nothing holds the whole
table, so a million rows take the memory of a thousand. Times are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from bot import audit, outbox
from models import AuditEvent, Claim, Dispute, Lead, Member

BATCH = 1000  # rows fetched per round trip


class Sink(Protocol):
    """Where an export is written: a file, standard output, a socket."""

    def write(self, text: str, /) -> object: ...


class Dataset(StrEnum):
    LEADS = "leads"
    CLAIMS = "claims"
    DISPUTES = "disputes"
    AUDIT = "audit"


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class Export:
    """What to export: a dataset of one team, rows from `since` on (None: all)."""

    dataset: Dataset
    team_id: str
    since: datetime | None = None


def start_of(day: date, timezone: str) -> datetime:
    """The midnight `day` starts in the team's time zone (an export's `since`)."""
    return datetime.combine(day, time(0), ZoneInfo(timezone))


def _leads(team_id: str, since: datetime | None) -> Select[Any]:
    query = select(
        Lead.id.label("lead"),
        Lead.created_at,
        Lead.external_id,
        Lead.name,
        Lead.email,
        Lead.phone,
        Lead.company,
        Lead.website,
        Lead.territory,
        Lead.source,
        Lead.score,
        Lead.value,
        Lead.status,
        Lead.closed_at,
    ).where(Lead.team_id == team_id)
    return query.where(Lead.created_at >= since) if since else query


def _claims(team_id: str, since: datetime | None) -> Select[Any]:
    query = (
        select(
            Claim.id.label("claim"),
            Claim.lead_id.label("lead"),
            Member.slack_user_id.label("rep"),
            Claim.status,
            Claim.how,
            Claim.requested_at,
            Claim.started_at,
            Claim.contacted_at,
            Claim.ended_at,
            Claim.over_limit,
            Claim.reason,
        )
        .join(Lead, Lead.id == Claim.lead_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Lead.team_id == team_id)
    )
    return query.where(Claim.requested_at >= since) if since else query


def _disputes(team_id: str, since: datetime | None) -> Select[Any]:
    resolver = aliased(Member)
    query = (
        select(
            Dispute.id.label("dispute"),
            Dispute.lead_id.label("lead"),
            Dispute.kind,
            Dispute.status,
            Dispute.opened_at,
            Dispute.resolved_at,
            resolver.slack_user_id.label("resolved_by"),
            Dispute.outcome,
            Dispute.reason,
        )
        .outerjoin(resolver, resolver.id == Dispute.resolved_by_id)
        .where(Dispute.team_id == team_id)
    )
    return query.where(Dispute.opened_at >= since) if since else query


def _audit(team_id: str, since: datetime | None) -> Select[Any]:
    query = select(
        AuditEvent.id.label("event"),
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.lead_id.label("lead"),
        AuditEvent.dispute_id.label("dispute"),
        AuditEvent.details,
    ).where(AuditEvent.team_id == team_id)
    return query.where(AuditEvent.at >= since) if since else query


_QUERIES: dict[Dataset, Callable[[str, datetime | None], Select[Any]]] = {
    Dataset.LEADS: _leads,
    Dataset.CLAIMS: _claims,
    Dataset.DISPUTES: _disputes,
    Dataset.AUDIT: _audit,
}
_REFS = {"lead": "L-", "dispute": "D-"}  # columns shown as the references people use


def _query(export: Export) -> Select[Any]:
    query = _QUERIES[export.dataset](export.team_id, export.since)
    return query.order_by(query.selected_columns[0])


def columns(dataset: Dataset) -> list[str]:
    """The header of a dataset's export, in order."""
    return [column.name for column in _QUERIES[dataset]("", None).selected_columns]


def count_rows(session: Session, export: Export) -> int:
    """How many rows the export will write (for the progress bar)."""
    return session.scalar(select(func.count()).select_from(_query(export).order_by(None).subquery())) or 0


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _REFS and isinstance(value, int):
        return f"{_REFS[name]}{value}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def rows(session: Session, export: Export) -> Iterator[dict[str, Any]]:
    """The export's rows as plain values, fetched `BATCH` at a time through a server-side cursor."""
    result = session.execute(_query(export).execution_options(yield_per=BATCH))
    names = list(result.keys())
    for row in result:
        yield {name: _cell(name, value) for name, value in zip(names, row, strict=True)}


def write(session: Session, export: Export, fmt: Format, out: Sink, on_row: Callable[[], object] = lambda: None) -> int:
    """Write the export to `out` as it streams from the database; returns the rows written."""
    written = 0
    if fmt == Format.CSV:
        writer = csv.DictWriter(out, fieldnames=columns(export.dataset), lineterminator="\n")
        writer.writeheader()
        for row in rows(session, export):
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
            written += 1
            on_row()
    else:
        for row in rows(session, export):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
            on_row()
    return written


def queue_export(session: Session, manager: Member, dataset: Dataset, since: datetime | None, now: datetime) -> None:
    """Queue a manager's export to their DM (the worker writes the file when it sends it) and
    record who asked for what."""
    outbox.enqueue(
        session,
        outbox.Kind.EXPORT_FILE,
        now,
        team_id=manager.team_id,
        channel=manager.slack_user_id,
        dataset=dataset.value,
        since=since.isoformat() if since else None,
    )
    audit.record(
        session,
        at=now,
        actor=manager.slack_user_id,
        action="export.requested",
        team_id=manager.team_id,
        dataset=dataset.value,
        since=since.isoformat() if since else None,
    )
