"""Claim rules, fair-start draws, contact SLA and auto-assign at the service layer (freezegun)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, claims, draws, scheduler
from bot.assignment import manager_assign
from bot.availability import come_back, go_away
from bot.errors import Conflict, NotAllowed, NotFound
from bot.intake import LeadIn, take_lead
from bot.leads import owning_claim
from bot.ownership import explain
from handlers.answers import claim_text, why_text
from handlers.refusals import limit_text
from models import AuditEvent, Claim, ClaimStatus, CreditShare, Lead, LeadStatus, Member, OutboxMessage, Team
from tests.wording import refusal, sent_text

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def member(session: Session, uid: str) -> Member:
    return session.scalars(select(Member).where(Member.slack_user_id == uid)).one()


def set_limits(sessions: sessionmaker[Session], **limits: object) -> None:
    with sessions.begin() as session:
        team = session.get_one(Team, "east")
        team.limit_overrides = {**team.limit_overrides, **limits}


def new_lead(sessions: sessionmaker[Session], name: str = "Jane Doe", **fields: object) -> int:
    with sessions.begin() as session:
        result = take_lead(
            session, session.get_one(Team, "east"), LeadIn(name=name, **fields), datetime.now(UTC), "test"
        )
        return result.lead.id


def claim(sessions: sessionmaker[Session], uid: str, lead_id: int) -> claiming.ClaimResult:
    with sessions.begin() as session:
        return claiming.claim_lead(session, member(session, uid), lead_id, datetime.now(UTC))


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


@pytest.fixture
def east(teams: sessionmaker[Session]) -> sessionmaker[Session]:
    return teams


@freeze_time(START)
def test_first_valid_claim_wins_without_a_window(east) -> None:
    lead = new_lead(east)
    first = claim(east, "U0ALICE", lead)
    second = claim(east, "U0BOB", lead)
    assert claim_text(first).startswith(f"L-{lead} is yours.")
    assert second.refused and claim_text(second).startswith(f"L-{lead} is held by <@U0ALICE>")
    assert owner_of(east, lead) == "U0ALICE"
    with east() as session:
        shares = session.execute(select(CreditShare.member_id, CreditShare.percent)).all()
        assert shares == [(member(session, "U0ALICE").id, 100)]
        assert session.get(Lead, lead).assignment["kind"] == "first_claim"


@freeze_time(START)
def test_active_limit_refusal_names_the_rule_and_is_audited(east) -> None:
    set_limits(east, max_active_claims=2)
    leads = [new_lead(east, f"Lead {i}") for i in range(3)]
    assert not claim(east, "U0ALICE", leads[0]).refused
    assert not claim(east, "U0ALICE", leads[1]).refused
    refused = claim(east, "U0ALICE", leads[2])
    assert refused.refused
    assert claim_text(refused) == (
        f"You can't claim L-{leads[2]}. You hold 2 of 2 active claims; release one or close one as won/lost."
    )
    assert owner_of(east, leads[2]) is None
    with east() as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "claim.refused_limit")).one()
        assert audited.details["member_id"] == member(session, "U0ALICE").id


@freeze_time(START)
def test_daily_and_hot_limits_say_when_they_reset(east) -> None:
    set_limits(east, max_hot_claims_per_day=1, max_claims_per_day=3, hot_score=80)
    hot = [new_lead(east, f"Hot {i}", score=90) for i in range(2)]
    assert not claim(east, "U0ALICE", hot[0]).refused
    refused = claim(east, "U0ALICE", hot[1])
    # 10:00 in New York: midnight is 14 hours away.
    assert claim_text(refused).endswith(
        "You have taken 1 of 1 hot leads (score ≥ 80) today; the count "
        "resets at midnight (America/New_York), in 14h 00m."
    )
    cold = [new_lead(east, f"Cold {i}", score=10) for i in range(3)]
    assert not claim(east, "U0ALICE", cold[0]).refused
    assert not claim(east, "U0ALICE", cold[1]).refused
    assert "You have taken 3 of 3 leads today" in claim_text(claim(east, "U0ALICE", cold[2]))
    with freeze_time(START + timedelta(hours=14, minutes=1)):
        assert not claim(east, "U0ALICE", cold[2]).refused, "a new team-local day frees the cap"


@freeze_time(START)
def test_territory_rule_and_away_reps(east) -> None:
    set_limits(east, require_territory_match=True)
    texas = new_lead(east, territory="TX")
    assert "is in territory TX and this team requires a territory match (yours: NY, NJ)" in claim_text(
        claim(east, "U0ALICE", texas)
    )
    ny = new_lead(east, "NY lead", territory="ny")
    with east.begin() as session:
        go_away(session, member(session, "U0ALICE"), datetime.now(UTC))
    assert "You are marked away; `/dibs back` to take leads again." in claim_text(claim(east, "U0ALICE", ny))
    with east.begin() as session:
        come_back(session, member(session, "U0ALICE"), datetime.now(UTC))
    assert not claim(east, "U0ALICE", ny).refused


@freeze_time(START)
def test_managers_and_other_teams(east) -> None:
    lead = new_lead(east)
    with east.begin() as session, pytest.raises(NotAllowed):
        claiming.claim_lead(session, member(session, "U0MGR1"), lead, datetime.now(UTC))
    with east.begin() as session, refusal(NotFound, match=f"There is no lead L-{lead} in your team"):
        claiming.claim_lead(session, member(session, "U0WREP"), lead, datetime.now(UTC))


def test_fair_start_draw_favours_the_rep_below_fair_share(east) -> None:
    with freeze_time(START):
        set_limits(east, fair_start_seconds=30)
        earlier = new_lead(east, "Earlier")
        claim(east, "U0ALICE", earlier)
    with freeze_time(START + timedelta(seconds=31)):
        scheduler.run_due(east, datetime.now(UTC))
        assert owner_of(east, earlier) == "U0ALICE"
    with freeze_time(START + timedelta(minutes=5)):
        lead = new_lead(east, "Contested")
        first = claim(east, "U0ALICE", lead)
        second = claim(east, "U0BOB", lead)
        assert claim_text(first).startswith(f"You're in the fair-start draw for L-{lead}; it is decided in 30s.")
        assert not second.refused and owner_of(east, lead) is None
    with freeze_time(START + timedelta(minutes=5, seconds=29)):
        assert scheduler.run_due(east, datetime.now(UTC)) == 0, "the window is still open"
    with freeze_time(START + timedelta(minutes=5, seconds=30)):
        scheduler.run_due(east, datetime.now(UTC))
    # Alice already holds this week's first lead; Bob holds none, so Bob is further below fair share.
    assert owner_of(east, lead) == "U0BOB"
    assert any(f"L-{lead} is yours: you won the fair-start draw among 2" in t for t in dms_to(east, "U0BOB"))
    assert any(f"L-{lead} went to <@U0BOB> in the fair-start draw" in t for t in dms_to(east, "U0ALICE"))
    with east() as session:
        stored = session.get(Lead, lead)
        assert stored.assignment["winner"] == "U0BOB" and stored.assignment["tied"] == ["U0BOB"]
        why = why_text(explain(stored))
        alice_claim = session.scalars(select(Claim).where(Claim.lead_id == lead, Claim.status == "declined")).one()
        assert alice_claim.member.slack_user_id == "U0ALICE"
    assert "had 2 claims in its 30s fair-start window" in why
    assert "<@U0ALICE>: 1 credited" in why and "Winner: <@U0BOB>" in why


def test_a_tied_draw_records_its_seed(east) -> None:
    with freeze_time(START):
        set_limits(east, fair_start_seconds=10)
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
        claim(east, "U0BOB", lead)
    with freeze_time(START + timedelta(seconds=10)):
        claim(east, "U0CAROL", lead)  # arrives after the window: the draw is settled first
    with east() as session:
        facts = session.get(Lead, lead).assignment
    assert sorted(facts["tied"]) == ["U0ALICE", "U0BOB"]
    assert facts["winner"] in facts["tied"] and facts["commitment"] == draws.commitment(facts["seed"])
    assert owner_of(east, lead) == facts["winner"]
    assert "seeded draw picked the winner.\n" in explain_lead(east, lead)


def explain_lead(sessions: sessionmaker[Session], lead_id: int) -> str:
    with sessions() as session:
        return why_text(explain(session.get_one(Lead, lead_id)))


def test_contact_sla_reminds_at_half_time_then_releases_and_reannounces(east) -> None:
    with freeze_time(START):
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
    with freeze_time(START + timedelta(minutes=59)):
        scheduler.run_due(east, datetime.now(UTC))
        assert not any("Reminder" in t for t in dms_to(east, "U0ALICE"))
    with freeze_time(START + timedelta(minutes=60)):
        scheduler.run_due(east, datetime.now(UTC))
        reminders = [t for t in dms_to(east, "U0ALICE") if t.startswith("Reminder")]
        assert reminders == [
            f"Reminder: L-{lead} has not been marked contacted. Do it by Mon 23 Nov 12:00 "
            f"EST (`/dibs contacted L-{lead}`) or it goes back to the team."
        ]
        scheduler.run_due(east, datetime.now(UTC))
        assert len([t for t in dms_to(east, "U0ALICE") if t.startswith("Reminder")]) == 1, "reminded once"
    with freeze_time(START + timedelta(minutes=120)):
        scheduler.run_due(east, datetime.now(UTC))
    assert owner_of(east, lead) is None
    with east() as session:
        stored = session.get(Lead, lead)
        assert stored.status == LeadStatus.OPEN
        assert session.scalar(select(Claim.status).where(Claim.lead_id == lead)) == ClaimStatus.EXPIRED
        announcements = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "announce_lead", OutboxMessage.lead_id == lead)
        )
        assert announcements == 2, "released and re-announced"
    assert any("was not marked contacted in time" in t for t in dms_to(east, "U0ALICE"))


def test_contacted_stops_the_sla_clock(east) -> None:
    with freeze_time(START):
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
    with freeze_time(START + timedelta(minutes=10)), east.begin() as session:
        claims.mark_contacted(session, member(session, "U0ALICE"), lead, datetime.now(UTC))
    with freeze_time(START + timedelta(hours=5)):
        scheduler.run_due(east, datetime.now(UTC))
    assert owner_of(east, lead) == "U0ALICE"
    assert dms_to(east, "U0ALICE") == []


def test_auto_assign_goes_to_the_rep_furthest_below_fair_share(east) -> None:
    with freeze_time(START):
        first = new_lead(east, "First")
        claim(east, "U0BOB", first)
        with east.begin() as session:
            claims.mark_contacted(session, member(session, "U0BOB"), first, datetime.now(UTC))
            go_away(session, member(session, "U0CAROL"), datetime.now(UTC))
        lead = new_lead(east, "Nobody claims me")
    with freeze_time(START + timedelta(minutes=29)):
        scheduler.run_due(east, datetime.now(UTC))
        assert owner_of(east, lead) is None
    with freeze_time(START + timedelta(minutes=30)):
        scheduler.run_due(east, datetime.now(UTC))
    # Carol is away, Bob already holds one of the week's two leads: Alice gets it.
    assert owner_of(east, lead) == "U0ALICE"
    with east() as session:
        facts = session.get(Lead, lead).assignment
        assert facts["kind"] == "auto" and "U0CAROL" in facts["skipped"]
        assert [c["rep"] for c in facts["candidates"]] == ["U0ALICE", "U0BOB"]
        why = why_text(explain(session.get(Lead, lead)))
    assert "<@U0CAROL> was not eligible: You are marked away; `/dibs back` to take leads again." in why
    assert any("was unclaimed for 30 minutes and is now yours" in t for t in dms_to(east, "U0ALICE"))


def test_auto_assign_waits_when_nobody_is_eligible(east) -> None:
    with freeze_time(START):
        set_limits(east, max_active_claims=0)
        lead = new_lead(east)
    with freeze_time(START + timedelta(minutes=31)):
        scheduler.run_due(east, datetime.now(UTC))
    with east() as session:
        stored = session.get(Lead, lead)
        assert stored.status == LeadStatus.OPEN
        assert stored.auto_assign_at == START + timedelta(minutes=46)


@freeze_time(START)
def test_manager_assign_may_exceed_limits_and_says_so(east) -> None:
    set_limits(east, max_active_claims=1)
    held, extra = new_lead(east, "Held"), new_lead(east, "Extra")
    claim(east, "U0BOB", held)
    with east.begin() as session:
        _, over = manager_assign(
            session, member(session, "U0MGR1"), extra, "U0BOB", datetime.now(UTC), "knows the buyer"
        )
    assert (
        over is not None and limit_text(over) == "You hold 1 of 1 active claims; release one or close one as won/lost."
    )
    assert owner_of(east, extra) == "U0BOB"
    with east() as session:
        stored = session.get(Lead, extra)
        assert stored.assignment["over_limit"] == over.as_record()
        assert "assigned to <@U0BOB> by <@U0MGR1>. Reason: knows the buyer" in why_text(explain(stored))
        assert session.scalar(select(Claim.over_limit).where(Claim.lead_id == extra)) is True


@freeze_time(START)
def test_release_won_and_lost(east) -> None:
    a, b = new_lead(east, "A"), new_lead(east, "B")
    claim(east, "U0ALICE", a)
    claim(east, "U0ALICE", b)
    with east.begin() as session, refusal(NotAllowed, match="is held by <@U0ALICE>, not you"):
        claims.release(session, member(session, "U0BOB"), a, datetime.now(UTC))
    with east.begin() as session:
        claims.close_lead(session, member(session, "U0ALICE"), a, datetime.now(UTC), won=True, amount=Decimal("12000"))
        claims.release(session, member(session, "U0ALICE"), b, datetime.now(UTC), "wrong region")
    with east() as session:
        assert session.get(Lead, a).status == LeadStatus.WON
        assert session.scalar(select(Claim.amount).where(Claim.lead_id == a)) == Decimal("12000")
        assert session.get(Lead, b).status == LeadStatus.OPEN
        assert session.scalar(select(func.count()).select_from(CreditShare).where(CreditShare.lead_id == b)) == 0
    with east.begin() as session, refusal(Conflict, match="is closed"):
        claiming.claim_lead(session, member(session, "U0BOB"), a, datetime.now(UTC))
