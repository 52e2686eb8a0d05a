"""Timers (DESIGN §5, §7, §9): draws, auto-assign, contact SLA, dispute reminders, digests.

Every timer is a due-time column. A tick finds due rows with an indexed query, then handles
each in its own transaction holding the lead's row lock (`SKIP LOCKED`: another replica
busy with it is left alone). Anything that came due while no replica ran is simply due now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from bot import audit, outbox
from bot.assignment import auto_assign, settle_draw
from bot.availability import zone_of
from bot.digest_post import queue_due_digests
from bot.erasure import erase_expired_contacts
from bot.escalation import contact_missed
from bot.mediation import remind
from bot.outbox import Notice
from models import REQUEST_DIGEST_PREFIX, Claim, ClaimStatus, Dispute, DisputeStatus, Lead, LeadStatus, SeenEvent

BATCH = 50

_has_pending = exists().where(Claim.lead_id == Lead.id, Claim.status == ClaimStatus.PENDING)


def _locked_lead(session: Session, lead_id: int) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update(skip_locked=True))


def _due_draw(session: Session, lead: Lead, now: datetime) -> None:
    settle_draw(session, lead, now)


def _due_auto_assign(session: Session, lead: Lead, now: datetime) -> None:
    if lead.status != LeadStatus.OPEN or lead.auto_assign_at is None or lead.auto_assign_at > now:
        return
    if lead.fair_start_until and lead.fair_start_until > now:
        return
    settle_draw(session, lead, now)  # a closed window's claimants come before round robin
    if lead.status == LeadStatus.OPEN:
        auto_assign(session, lead, now)


def _active_claim(session: Session, lead: Lead) -> Claim | None:
    """The owner's claim whose contact clock runs (it pauses while the lead is disputed)."""
    if lead.status != LeadStatus.CLAIMED:
        return None
    return session.scalar(select(Claim).where(Claim.lead_id == lead.id, Claim.status == ClaimStatus.ACTIVE))


def _due_reminder(session: Session, lead: Lead, now: datetime) -> None:
    claim = _active_claim(session, lead)
    if claim is None or claim.remind_at is None or claim.remind_at > now:
        return
    claim.remind_at = None
    outbox.notify(
        session,
        now,
        claim.member.slack_user_id,
        Notice.CONTACT_REMINDER,
        lead=lead.ref,
        deadline=claim.expires_at.isoformat() if claim.expires_at else None,
        timezone=zone_of(claim.member),
    )
    audit.record(
        session,
        at=now,
        actor=audit.BOT_ACTOR,
        action="claim.reminded",
        team_id=lead.team_id,
        lead_id=lead.id,
        holder=claim.member.slack_user_id,
    )


def _due_expiry(session: Session, lead: Lead, now: datetime) -> None:
    claim = _active_claim(session, lead)
    if claim is None or claim.expires_at is None or claim.expires_at > now:
        return
    contact_missed(session, lead, claim, now)


def _due_dispute_reminder(session: Session, lead: Lead, now: datetime) -> None:
    dispute = session.scalar(select(Dispute).where(Dispute.lead_id == lead.id, Dispute.status == DisputeStatus.OPEN))
    if dispute is not None and dispute.remind_at is not None and dispute.remind_at <= now:
        remind(session, dispute, now)


Job = tuple[str, Callable[[datetime], Select[tuple[int]]], Callable[[Session, Lead, datetime], None]]

JOBS: list[Job] = [
    (
        "draws",
        lambda now: select(Lead.id).where(Lead.status == LeadStatus.OPEN, Lead.fair_start_until <= now, _has_pending),
        _due_draw,
    ),
    (
        "auto_assign",
        lambda now: select(Lead.id).where(Lead.status == LeadStatus.OPEN, Lead.auto_assign_at <= now),
        _due_auto_assign,
    ),
    (
        "sla_reminders",
        lambda now: select(Claim.lead_id).where(and_(Claim.status == ClaimStatus.ACTIVE, Claim.remind_at <= now)),
        _due_reminder,
    ),
    (
        "sla_expiry",
        lambda now: select(Claim.lead_id).where(and_(Claim.status == ClaimStatus.ACTIVE, Claim.expires_at <= now)),
        _due_expiry,
    ),
    (
        "dispute_reminders",
        lambda now: select(Dispute.lead_id).where(Dispute.status == DisputeStatus.OPEN, Dispute.remind_at <= now),
        _due_dispute_reminder,
    ),
]


EVENT_ID_KEEP = timedelta(days=1)  # Slack retries an event 3 times within minutes; a day is ample


def forget_old_event_ids(sessions: sessionmaker[Session], now: datetime) -> None:
    """Slack event ids recorded (handlers/pipeline.py's `first_delivery`) more than a day ago: no
    retry of theirs can come any more, so `seen_events` holds a day, not history."""
    with sessions.begin() as session:
        session.execute(
            delete(SeenEvent).where(
                SeenEvent.seen_at < now - EVENT_ID_KEEP, ~SeenEvent.event_id.startswith(REQUEST_DIGEST_PREFIX)
            )
        )


def run_due(sessions: sessionmaker[Session], now: datetime, counts: Counter[str] | None = None) -> int:
    """Handle everything due at `now`; returns how many items were handled (and adds them up
    by job in `counts`, for the metrics)."""
    counts = Counter() if counts is None else counts
    handled = queue_due_digests(sessions, now)
    counts["digests"] += handled
    erased = erase_expired_contacts(sessions, now)
    counts["contact_retention"] += erased
    handled += erased
    forget_old_event_ids(sessions, now)
    for name, due_query, act in JOBS:
        with sessions() as session:
            lead_ids = list(session.scalars(due_query(now).limit(BATCH)))
        for lead_id in lead_ids:
            with sessions.begin() as session:
                lead = _locked_lead(session, lead_id)
                if lead is not None:
                    act(session, lead, now)
                    handled += 1
                    counts[name] += 1
    return handled
