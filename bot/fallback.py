"""The team's fallback (issue 13): where a lead goes when auto-assign finds no eligible rep.

`fallback = "managers"` sends it to the managers at once (a DM each and a reply in the card's
thread), a Slack user id (`"U0123ABC"`) to that one person, `"wait"` keeps it in the channel and tries again every
`RETRY`. Either way `/dibs why` says who was passed over and why (`Lead.fallback`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit, cards, outbox
from bot.errors import LimitReached
from bot.outbox import Notice
from bot.ownership import NoRepTookIt, no_rep_json
from models import Lead, Member, Role

RETRY = timedelta(minutes=15)
NO_ELIGIBLE = "no_eligible"
MANAGERS, WAIT = "managers", "wait"


def managers_of(session: Session, team_id: str) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .where(Member.team_id == team_id, Member.role == Role.MANAGER, Member.active.is_(True))
            .order_by(Member.id)
        )
    )


def fallback_people(session: Session, lead: Lead) -> list[str]:
    """Slack user ids the team's fallback names: its managers, or the one person (none for `wait`)."""
    fallback = lead.team.fallback
    if fallback == WAIT:
        return []
    if fallback == MANAGERS:
        return [manager.slack_user_id for manager in managers_of(session, lead.team_id)]
    return [fallback]


def tell(
    session: Session, lead: Lead, people: Sequence[str], now: datetime, notice: Notice, /, **facts: object
) -> None:
    """A DM to each of `people` and the same notice in the thread of the lead's card (if it was posted)."""
    for user_id in people:
        outbox.notify(session, now, user_id, notice, **facts)
    card = cards.posted_card(session, lead.id)
    if card is not None and card.ts is not None:
        outbox.notify_thread(session, now, card.channel, card.ts, notice, **facts, in_thread=True)


def nobody_eligible(session: Session, lead: Lead, skipped: list[tuple[str, LimitReached]], now: datetime) -> None:
    """Auto-assign found no rep who may take the lead: it goes to the fallback at once, or waits.

    The caller holds the lead's row lock.
    """
    people = fallback_people(session, lead)
    went_to = WAIT if not people else MANAGERS if lead.team.fallback == MANAGERS else people[0]
    lead.fallback = no_rep_json(NoRepTookIt(NO_ELIGIBLE, now, went_to=went_to, skipped=tuple(skipped)))
    lead.auto_assign_at = now + RETRY if went_to == WAIT else None
    if people:
        reasons = {rep: refusal.as_record() for rep, refusal in skipped}
        tell(session, lead, people, now, Notice.NO_ELIGIBLE_REP, lead=lead.ref, skipped=reasons, went_to=went_to)
    audit.record(
        session,
        at=now,
        actor=audit.BOT_ACTOR,
        action="lead.fallback" if people else "lead.auto_assign_skipped",
        team_id=lead.team_id,
        lead_id=lead.id,
        went_to=went_to,
        skipped={rep: refusal.as_record() for rep, refusal in skipped},
    )
