"""Lead intake (DESIGN §4): one service behind the webhook, the CSV import and the Slack modal."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Le, MaxLen
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, cards, outbox, ownership
from bot.accounts import account_keys
from bot.claims import new_claim
from bot.config import Limits
from bot.errors import FileRefused, RowRefused
from bot.inserts import insert_unless_present
from bot.outbox import Notice
from bot.overlap import Overlap, account_holder, account_overlaps
from bot.ownership import RoutedToAccountOwner
from bot.teams import effective_limits, get_team
from models import How, Lead, LeadStatus, Team
from models.bounds import column_length, has_control_characters, largest_number

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_PHONE = re.compile(r"^[0-9+().\-\s/x#]*$", re.IGNORECASE)
MAX_TAGS = 20
OVERLAPS_SHOWN = 10  # in the webhook's answer; `more_overlaps` counts the rest
MAX_TAG_LENGTH = 50
MAX_NOTES_LENGTH = 4000


def _length(column: str) -> int:
    return column_length(Lead, column)


def _printable(value: Any) -> Any:
    if isinstance(value, str) and has_control_characters(value):
        raise ValueError("may not contain control characters")
    return value


class LeadIn(BaseModel):
    """The fields a lead may arrive with; anything else is refused. Lengths are the columns'."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str | None = Field(None, min_length=1, max_length=_length("external_id"))
    name: str = Field(min_length=1, max_length=_length("name"))
    email: str | None = Field(None, max_length=_length("email"))
    company: str | None = Field(None, max_length=_length("company"))
    website: str | None = Field(None, max_length=_length("website"))
    phone: str | None = Field(None, max_length=_length("phone"))
    territory: str | None = Field(None, max_length=_length("territory"))
    tags: list[Annotated[str, BeforeValidator(_printable)]] = Field(default_factory=list, max_length=MAX_TAGS)
    source: str | None = Field(None, max_length=_length("source"))
    score: int | None = Field(None, ge=0, le=100)
    value: Decimal | None = Field(None, ge=0, le=largest_number(Lead, "value"), decimal_places=2)
    notes: str | None = Field(None, max_length=MAX_NOTES_LENGTH)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else _printable(value)

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone_shape(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.match(value):
            raise ValueError("may hold only digits, spaces and + ( ) . - / x #")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_lengths(cls, value: list[str]) -> list[str]:
        if any(len(tag) > MAX_TAG_LENGTH for tag in value):
            raise ValueError(f"each tag may be at most {MAX_TAG_LENGTH} characters")
        return [tag.strip() for tag in value if tag.strip()]


def typed_length(field: str) -> int:
    """The most characters a lead field can be typed in: its max_length, or its largest value written out."""
    for constraint in LeadIn.model_fields[field].metadata:
        if isinstance(constraint, MaxLen):
            return int(constraint.max_length)
        if isinstance(constraint, Le):
            return len(str(constraint.le))
    raise ValueError(f"lead field {field} has no upper bound")


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One message per bad field, keyed by field name (as the webhook's 422 lists them)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a lead field"
        errors.setdefault(name, message)
    return errors


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    created: bool
    overlaps: list[Overlap] = field(default_factory=list)

    @property
    def status(self) -> str:
        """`announced` while open to claims, `routed` when it went straight to the account owner."""
        if self.lead.status == LeadStatus.OPEN:
            return "announced"
        routed = isinstance(ownership.choice_of(self.lead), RoutedToAccountOwner)
        return "routed" if routed else str(self.lead.status)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.lead.ref,
            "status": self.status,
            "account": self.lead.account_key,
            "overlaps": [
                {"lead": o.lead_ref, "reason": o.reason, "held_by": o.holder.slack_user_id if o.holder else None}
                for o in self.shown_overlaps
            ],
        } | ({"more_overlaps": len(self.overlaps) - len(self.shown_overlaps)} if self.overlaps[OVERLAPS_SHOWN:] else {})

    @property
    def shown_overlaps(self) -> list[Overlap]:
        """The newest OVERLAPS_SHOWN overlaps, and the account's holder if older: an account with
        thousands of leads answers in a few hundred bytes."""
        shown = self.overlaps[:OVERLAPS_SHOWN]
        holder = account_holder(self.overlaps)
        return [*shown, holder] if holder is not None and holder not in shown else shown


def _existing(session: Session, team_id: str, external_id: str | None) -> Lead | None:
    if external_id is None:
        return None
    return session.scalar(select(Lead).where(Lead.team_id == team_id, Lead.external_id == external_id))


def _fit(value: str | None, column: str) -> str | None:
    """A computed key cut to its column (a normalized name can outgrow the company it came from:
    "&" becomes " and ", one accented or CJK letter several ASCII ones)."""
    length = getattr(Lead.__table__.c[column].type, "length", None)
    return value[:length] if value is not None and length else value


def _insert_unless_known(session: Session, lead: Lead) -> Lead | None:
    """Insert the lead in one statement, or nothing (None) when its team has its `external_id`
    already: `INSERT … ON CONFLICT DO NOTHING`, so neither a read first nor a savepoint."""
    values = {c.key: getattr(lead, c.key) for c in Lead.__table__.columns if getattr(lead, c.key) is not None}
    statement = insert_unless_present(Lead, values, ["team_id", "external_id"]).returning(Lead)
    return session.scalars(statement).one_or_none()


def take_lead(session: Session, team: Team, data: LeadIn, now: datetime, actor: str) -> IntakeResult:
    """Store and announce a lead; the same `external_id` again returns the first lead unchanged."""
    limits = effective_limits(team)
    keys = account_keys(data.email, data.website, data.company, data.phone)
    new = Lead(
        team_id=team.id,
        **data.model_dump(),
        account_key=_fit(keys.key, "account_key"),
        account_domain=_fit(keys.domain, "account_domain"),
        account_name=_fit(keys.name, "account_name"),
        name_block=keys.name_block,
        phone_key=keys.phone,
        created_at=now,
        announced_at=now,
    )
    ownership.open_for_claims(new, limits, now)
    lead = _insert_unless_known(session, new)
    if lead is None:  # this external_id was stored before (or a moment ago, elsewhere)
        existing = _existing(session, team.id, data.external_id)
        assert existing is not None, "the insert gave way to a lead with this external_id"
        return IntakeResult(
            existing, created=False, overlaps=account_overlaps(session, existing, now, limits.account_hold_days)
        )
    overlaps = account_overlaps(session, lead, now, limits.account_hold_days)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="lead.created",
        team_id=team.id,
        lead_id=lead.id,
        source=data.source,
        account=keys.key,
    )
    owner = account_holder(overlaps)
    if limits.route_to_account_owner and owner is not None and owner.holder is not None and owner.holder.active:
        route_to_owner(session, lead, owner, limits, now)
    cards.announce(session, team, lead, now)
    return IntakeResult(lead, created=True, overlaps=overlaps)


def route_to_owner(session: Session, lead: Lead, owner: Overlap, limits: Limits, now: datetime) -> None:
    """`route_to_account_owner`: a new lead of an owned account goes straight to its owner."""
    holder = owner.holder
    assert holder is not None
    claim = new_claim(lead, holder, How.ROUTE, limits, now)
    session.add(claim)
    choice = RoutedToAccountOwner(holder.slack_user_id, owner.lead_ref, now)
    ownership.give(session, lead, claim, choice, limits, now)
    outbox.notify(
        session, now, holder.slack_user_id, Notice.ROUTED_TO_ACCOUNT_OWNER, lead=lead.ref, account_lead=owner.lead_ref
    )


def row_external_id(row: dict[str, str]) -> str:
    """A stable key for a CSV row without `external_id`, so importing a file twice adds nothing."""
    canonical = "\x1f".join(f"{k.strip().lower()}={(v or '').strip()}" for k, v in sorted(row.items()))
    return "csv:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def lead_from_row(row: dict[str | None, Any]) -> LeadIn:
    """A CSV row as lead fields: tags split on `;` or `,`, a stable key when none is given.

    A row with more or fewer fields than the header is refused (RowRefused): its values
    cannot be matched to columns.
    """
    columns = sum(key is not None for key in row)
    given = sum(value is not None for key, value in row.items() if key is not None) + len(row.get(None) or [])
    if given > columns:
        raise RowRefused(f"has {given} fields where the header has {columns}; quote values that hold commas")
    if given < columns:
        raise RowRefused(f"has {given} fields where the header has {columns}")
    named = {k: v for k, v in row.items() if k is not None}  # all of `row`, once the counts match
    fields: dict[str, Any] = {k.strip().lower(): v for k, v in named.items()}
    if isinstance(fields.get("tags"), str):
        fields["tags"] = [t for t in re.split(r"[;,]", fields["tags"]) if t.strip()]
    if not (fields.get("external_id") or "").strip():
        fields["external_id"] = row_external_id(named)
    return LeadIn.model_validate(fields)


@dataclass
class ImportReport:
    """What a CSV import did: rows added, rows already there, and each bad row's problem."""

    created: int = 0
    existing: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{self.created} lead(s) added",
            f"{self.existing} already there",
            f"{len(self.errors)} row(s) refused",
        ]
        return ", ".join(parts)


def _row_problem(exc: ValidationError) -> str:
    return "; ".join(f"{name} {message}" for name, message in field_errors(exc).items())


def import_rows(
    sessions: sessionmaker[Session],
    team_id: str,
    rows: Iterable[tuple[int, dict[str | None, Any]]],
    clock: Callable[[], datetime],
    on_row: Callable[[], object] = lambda: None,
) -> ImportReport:
    """Take CSV rows through the same path as the webhook; bad rows are reported, good ones kept.

    `rows` pairs each row with its line number in the file, so problems point at the line.
    """
    report = ImportReport()
    for line, row in rows:
        try:
            data = lead_from_row(row)
        except ValidationError as exc:
            report.errors.append((line, _row_problem(exc)))
        except RowRefused as exc:
            report.errors.append((line, str(exc)))
        else:
            with sessions.begin() as session:
                result = take_lead(session, get_team(session, team_id), data, clock(), "csv-import")
            if result.created:
                report.created += 1
            else:
                report.existing += 1
        on_row()
    return report


class _RecordLines:
    """A file's lines for `csv`, noting the line each record starts on (a quoted field may span
    lines, and `csv` counts only to a record's end; empty lines between records are skipped)."""

    def __init__(self, handle: Iterable[str]):
        self._lines = iter(handle)
        self._number = 0
        self._fresh = True
        self.record_start = 0

    def next_record(self) -> None:
        self._fresh = True

    def __iter__(self) -> _RecordLines:
        return self

    def __next__(self) -> str:
        text = next(self._lines)
        self._number += 1
        if self._fresh and text.strip("\r\n"):
            self.record_start, self._fresh = self._number, False
        return text


def read_lead_csv(path: Path) -> list[tuple[int, dict[str | None, Any]]]:
    """Rows of a lead CSV with their line numbers; a file whose columns are wrong is refused whole.

    No cell is too large for the reader (the field limit is lifted to the file's size), so an
    oversize cell is refused by the lead rules with its line, not taken for a broken file.
    """
    field_limit = csv.field_size_limit()
    try:
        csv.field_size_limit(max(field_limit, path.stat().st_size))
        with path.open(newline="", encoding="utf-8-sig") as handle:
            lines = _RecordLines(handle)
            reader = csv.DictReader(lines)
            columns = {(c or "").strip().lower() for c in reader.fieldnames or []}
            lines.next_record()
            unknown = sorted(columns - set(LeadIn.model_fields))
            if "name" not in columns or unknown:
                problem = f"unknown column(s) {', '.join(unknown)}" if unknown else "no 'name' column"
                raise FileRefused(f"{path}: {problem}; columns may be: {', '.join(LeadIn.model_fields)}")
            rows = []
            while (row := next(reader, None)) is not None:
                rows.append((lines.record_start, row))
                lines.next_record()
            return rows
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FileRefused(f"{path}: not a UTF-8 CSV file ({exc})") from None
    finally:
        csv.field_size_limit(field_limit)
