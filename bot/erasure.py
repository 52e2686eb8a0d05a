"""Erasure and retention (issue 15): a person's contact details leave the database on request
(`dibs forget`) or once a closed lead is older than its team's `retention.contact_days`.

A lead keeps its row, status, claims and credit, so the counts digests and exports need stay
true; its name becomes "(removed)", its e-mail, phone, notes and the keys derived from them are
cleared, and every copy of them elsewhere (the audit trail, outbox payloads, card stubs, claim
and dispute reasons) is rewritten. Its cards in Slack are re-rendered through the outbox, so
they show "(removed)" too. What is recorded is that an erasure happened, never what it erased.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, outbox
from models import AuditEvent, Claim, Dispute, Lead, LeadCard, LeadStatus, OutboxMessage, Team

REMOVED = "(removed)"
BATCH = 50  # leads erased per retention transaction
_CLOSED = (LeadStatus.WON, LeadStatus.LOST)


def leads_with_email(session: Session, email: str) -> list[Lead]:
    """Every lead of any team with this e-mail address (compared without case), locked."""
    query = select(Lead).where(func.lower(Lead.email) == email.strip().lower()).order_by(Lead.id)
    return list(session.scalars(query.with_for_update()))


def _traces(lead: Lead) -> set[str]:
    """The strings that identify the lead's person, as stored anywhere."""
    found = {lead.email, lead.phone, lead.phone_key}
    if lead.contact_erased_at is None:
        found.add(lead.name)
    return {t.strip() for t in found if t and len(t.strip()) >= 3 and t != REMOVED}


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` (JSON: dicts, lists, strings) with every trace replaced by "(removed)"."""
    if isinstance(value, str):
        return pattern.sub(REMOVED, value)
    if isinstance(value, dict):
        return {k: _scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    return value


def forget(session: Session, leads: Iterable[Lead], now: datetime, actor: str, *, also: Iterable[str] = ()) -> int:
    """Erase the contact details of `leads` (and the strings `also`, such as the e-mail asked
    for) from every table; queue their cards' re-rendering; returns how many leads were erased."""
    leads = list(leads)
    traces = set(also).union(*(_traces(lead) for lead in leads))
    # Rows not linked to the leads are looked for by what is the person's alone (an address, a
    # number, a full name), so a one-word name does not take out every other Sam in the trail.
    distinctive = {t for t in traces if "@" in t or any(c.isdigit() for c in t) or " " in t}
    if not leads and not traces:
        return 0
    pattern = re.compile("|".join(re.escape(t) for t in sorted(traces, key=len, reverse=True)), re.IGNORECASE)
    ids = [lead.id for lead in leads]
    for lead in leads:
        _erase_lead(session, lead, pattern, now)

    def mentioning(column: Any) -> Any:
        return or_(*(cast(column, String).ilike(f"%{t}%") for t in distinctive)) if distinctive else False

    for event in session.scalars(
        select(AuditEvent).where(or_(AuditEvent.lead_id.in_(ids), mentioning(AuditEvent.details)))
    ):
        event.details = _scrub(event.details, pattern)
    for row in session.scalars(
        select(OutboxMessage).where(
            or_(
                OutboxMessage.lead_id.in_(ids),
                mentioning(OutboxMessage.payload),
                mentioning(OutboxMessage.last_error),
                mentioning(OutboxMessage.result),
            )
        )
    ):
        row.payload = _scrub(row.payload, pattern)
        row.result = _scrub(row.result, pattern)
        row.last_error = _scrub(row.last_error, pattern)
    for claim in session.scalars(select(Claim).where(Claim.lead_id.in_(ids), Claim.reason.is_not(None))):
        claim.reason = _scrub(claim.reason, pattern)
    for dispute in session.scalars(select(Dispute).where(Dispute.lead_id.in_(ids), Dispute.reason.is_not(None))):
        dispute.reason = _scrub(dispute.reason, pattern)
    for card in session.scalars(select(LeadCard).where(LeadCard.lead_id.in_(ids))):
        card.retired_reason = _scrub(card.retired_reason, pattern)
        if card.ts is not None:  # posted: show "(removed)" in Slack too
            outbox.enqueue(
                session,
                outbox.Kind.REFRESH_CARD,
                now,
                team_id=card.lead.team_id,
                channel=card.channel,
                lead_id=card.lead_id,
                card_id=card.id,
            )
    for lead in leads:
        audit.record(session, at=now, actor=actor, action="lead.contact_erased", team_id=lead.team_id, lead_id=lead.id)
    return len(leads)


def _erase_lead(session: Session, lead: Lead, pattern: re.Pattern[str], now: datetime) -> None:
    lead.name = REMOVED
    lead.email = lead.phone = lead.notes = None
    lead.name_block = lead.phone_key = None
    for column in ("external_id", "company", "website", "account_key", "account_name", "account_domain"):
        value = getattr(lead, column)
        if value and pattern.search(value):
            setattr(lead, column, None)  # derived from the person (a name as the account, a personal domain)
    lead.tags = _scrub(lead.tags, pattern)
    lead.assignment = _scrub(lead.assignment, pattern)
    lead.fallback = _scrub(lead.fallback, pattern)
    lead.contact_erased_at = now


def erase_expired_contacts(sessions: sessionmaker[Session], now: datetime) -> int:
    """Scheduler job: the closed leads of teams with `retention.contact_days` whose time is up;
    each batch in its own transaction, the leads locked `SKIP LOCKED` (another worker's are left)."""
    erased = 0
    with sessions() as session:
        kept = select(Team.id, Team.contact_retention_days).where(Team.contact_retention_days.is_not(None))
        teams = list(session.execute(kept).tuples())
    for team_id, days in teams:
        due = (
            select(Lead)
            .where(
                Lead.team_id == team_id,
                Lead.status.in_(_CLOSED),
                Lead.closed_at <= now - timedelta(days=days or 0),
                Lead.contact_erased_at.is_(None),
            )
            .order_by(Lead.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
        with sessions.begin() as session:
            erased += forget(session, session.scalars(due), now, audit.BOT_ACTOR)
    return erased
