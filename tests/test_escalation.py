"""The escalation chain (issue 13): missed contact SLAs exclude, escalate to managers, and pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, scheduler
from bot.escalation import resume
from bot.intake import LeadIn, take_lead
from bot.leads import owning_claim
from bot.ownership import explain
from handlers.answers import claim_text, why_text
from handlers.views import retired_card
from models import Lead, LeadCard, LeadStatus, Member, OutboxMessage, Team
from tests.wording import sent_text

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York
SLA = timedelta(minutes=120)


def member(session: Session, uid: str) -> Member:
    return session.scalars(select(Member).where(Member.slack_user_id == uid)).one()


def set_limits(sessions: sessionmaker[Session], **limits: object) -> None:
    with sessions.begin() as session:
        team = session.get_one(Team, "east")
        team.limit_overrides = {**team.limit_overrides, **limits}


def new_lead(sessions: sessionmaker[Session], at: datetime) -> int:
    with sessions.begin() as session:
        return take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), at, "test").lead.id


def claim(sessions: sessionmaker[Session], uid: str, lead_id: int, at: datetime) -> str:
    with sessions.begin() as session:
        return claim_text(claiming.claim_lead(session, member(session, uid), lead_id, at))


def owner_of(sessions: sessionmaker[Session], lead_id: int) -> str | None:
    with sessions() as session:
        owning = owning_claim(session, lead_id)
        return owning.member.slack_user_id if owning else None


def dms_to(sessions: sessionmaker[Session], uid: str) -> list[str]:
    with sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "notice", OutboxMessage.channel == uid)
        )
        return [sent_text(row) for row in rows]


def announcements(sessions: sessionmaker[Session], lead_id: int) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(OutboxMessage)
        return session.scalar(query.where(OutboxMessage.kind == "announce_lead", OutboxMessage.lead_id == lead_id)) or 0


def test_a_lead_missed_by_three_reps_reaches_the_managers(teams) -> None:
    lead = new_lead(teams, START)
    at = START
    for rep in ("U0ALICE", "U0BOB", "U0CAROL"):
        assert "is yours" in claim(teams, rep, lead, at)
        at += SLA
        scheduler.run_due(teams, at)
        assert owner_of(teams, lead) is None
    assert announcements(teams, lead) == 3, "announced, then re-announced twice; the third miss goes up"
    for manager in ("U0MGR1", "U0MGR2"):
        assert dms_to(teams, manager) == [
            f"L-{lead} missed its contact SLA 3 times (<@U0ALICE>, <@U0BOB>, <@U0CAROL>), so it comes to the "
            f"managers instead of the channel. Assign it with `/dibs assign L-{lead} @rep`."
        ]
    with teams() as session:
        stored = session.get_one(Lead, lead)
        assert stored.status == LeadStatus.OPEN and stored.auto_assign_at is None
        assert why_text(explain(stored)) == (
            f"L-{lead} has no owner: its contact SLA was missed 3 times (<@U0ALICE>, <@U0BOB>, <@U0CAROL>), "
            "so it went to the managers instead of the channel."
        )
    with teams() as session:
        card = session.scalars(select(LeadCard).where(LeadCard.lead_id == lead).order_by(LeadCard.id.desc())).first()
        assert card is not None
        [stub] = retired_card(card)[0]["elements"]
        assert (
            stub["text"] == f"*L-{lead}* expired by <@U0CAROL> \u2014 sent to the managers. Reason: contact SLA missed"
        )
    scheduler.run_due(teams, at + timedelta(hours=3))
    assert owner_of(teams, lead) is None, "no round robin once the managers have it"


def test_a_past_holder_cannot_take_the_lead_again_for_a_while(teams) -> None:
    lead = new_lead(teams, START)
    claim(teams, "U0ALICE", lead, START)
    scheduler.run_due(teams, START + SLA)
    refused = claim(teams, "U0ALICE", lead, START + SLA + timedelta(minutes=1))
    assert refused == (
        f"You can't claim L-{lead}. You missed the contact SLA of L-{lead}; it goes to someone else "
        "until Tue 24 Nov 12:00 EST."
    )
    assert "is yours" in claim(teams, "U0ALICE", lead, START + SLA + timedelta(hours=24))


def test_a_rep_who_keeps_missing_is_paused_from_auto_assign_until_resumed(teams) -> None:
    set_limits(teams, pause_after_misses=2, escalate_after_misses=0, exclude_past_holders_hours=0)
    first, second = new_lead(teams, START), new_lead(teams, START)
    claim(teams, "U0BOB", first, START)
    claim(teams, "U0BOB", second, START)
    scheduler.run_due(teams, START + SLA)
    assert dms_to(teams, "U0BOB")[-1].startswith("You missed 2 contact SLAs today, so auto-assign passes you over")
    with teams.begin() as session:  # Alice and Carol are busy: only Bob could take a lead
        for rep in ("U0ALICE", "U0CAROL"):
            member(session, rep).active = False
    scheduler.run_due(teams, START + SLA + timedelta(minutes=30))
    assert owner_of(teams, first) is None and owner_of(teams, second) is None
    with teams() as session:
        why = why_text(explain(session.get_one(Lead, first)))
    assert why == (
        f"L-{first} has no owner: no rep could take it when auto-assign tried.\n"
        "• <@U0BOB>: Paused from auto-assign since Mon 23 Nov 12:00 EST after missed contact SLAs; "
        "`/dibs resume` (or a manager) takes leads again.\n"
        "It waits in the channel: auto-assign tries again every 15m, and anyone may claim it."
    )
    with teams.begin() as session:
        bob = member(session, "U0BOB")
        assert resume(session, bob, bob, START + SLA + timedelta(minutes=40))
    scheduler.run_due(teams, START + SLA + timedelta(minutes=45))
    assert owner_of(teams, first) == "U0BOB"


def test_weekly_and_monthly_caps_say_when_they_free_up(teams) -> None:
    set_limits(teams, max_claims_per_week=2, max_claims_per_month=3)
    for at in (START, START + timedelta(days=1)):
        assert "is yours" in claim(teams, "U0ALICE", new_lead(teams, at), at)
    friday = START + timedelta(days=4)
    lead = new_lead(teams, friday)
    assert claim(teams, "U0ALICE", lead, friday) == (
        f"You can't claim L-{lead}. You have taken 2 of 2 leads this week; "
        "it frees up Mon 30 Nov 00:00 EST, in 62h 00m."
    )
    monday = START + timedelta(days=7)
    assert "is yours" in claim(teams, "U0ALICE", lead, monday)
    later = new_lead(teams, monday)
    assert claim(teams, "U0ALICE", later, monday + timedelta(hours=1)) == (
        f"You can't claim L-{later}. You have taken 3 of 3 leads this month; "
        "it frees up Tue 01 Dec 00:00 EST, in 13h 00m."
    )
