"""Overlapping claims and mediation at the service layer (DESIGN §5, §7)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, mediation, scheduler
from bot.assignment import manager_assign
from bot.config import parse_config
from bot.errors import Conflict, DibsError, InvalidInput, NotAllowed, NotFound
from bot.intake import LeadIn, take_lead
from bot.ownership import explain
from bot.teams import apply_config
from handlers.answers import claim_text, why_text
from handlers.refusals import refusal_text
from infra.db import session_factory
from models import (
    Claim,
    ClaimStatus,
    CreditShare,
    Dispute,
    Lead,
    LeadStatus,
    Member,
    OutboxMessage,
    Team,
)
from tests.conftest import TEAM_TOML
from tests.test_claims import START, claim, dms_to, member, new_lead, owner_of, set_limits
from tests.wording import refusal, sent_text


@pytest.fixture
def east(teams: sessionmaker[Session]) -> sessionmaker[Session]:
    set_limits(teams, contest_window_minutes=10)
    return teams


def dispute_of(sessions: sessionmaker[Session], lead_id: int) -> Dispute:
    with sessions() as session:
        dispute = session.scalars(select(Dispute).where(Dispute.lead_id == lead_id)).one()
        _ = [(p.member.slack_user_id, p.claim) for p in dispute.parties], dispute.mediator
        return dispute


def mediator_of(dispute: Dispute) -> str:
    """The Slack user id of the dispute's mediator (it must have one)."""
    assert dispute.mediator is not None, f"D-{dispute.id} has no mediator"
    return dispute.mediator.slack_user_id


def parties(dispute: Dispute) -> list[str]:
    return [p.member.slack_user_id for p in dispute.parties]


def credit(sessions: sessionmaker[Session], lead_id: int) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(CreditShare.member_id, CreditShare.percent).where(CreditShare.lead_id == lead_id)
        ).all()
        return {session.get_one(Member, mid).slack_user_id: pct for mid, pct in rows}


def resolve(
    sessions: sessionmaker[Session],
    uid: str,
    dispute_id: int,
    outcome: str,
    shares: list[tuple[str, int]],
    reason: str | None = None,
) -> Dispute:
    with sessions.begin() as session:
        return mediation.resolve(
            session, member(session, uid), dispute_id, datetime.now(UTC), outcome=outcome, shares=shares, reason=reason
        )


@freeze_time(START)
def test_a_second_claim_inside_the_window_opens_one_dispute_that_others_join(east) -> None:
    lead = new_lead(east)
    claim(east, "U0ALICE", lead)
    with freeze_time(START + timedelta(minutes=3)):
        second = claim(east, "U0BOB", lead)
    assert claim_text(second) == f"<@U0ALICE> claimed L-{lead} 3m ago, so D-1 is open and a manager will decide."
    with freeze_time(START + timedelta(minutes=5)):
        third = claim(east, "U0CAROL", lead)
    assert claim_text(third).startswith(f"L-{lead} is in dispute D-1; your claim has joined it")
    dispute = dispute_of(east, lead)
    assert (dispute.kind, dispute.status, parties(dispute)) == ("same_lead", "open", ["U0ALICE", "U0BOB", "U0CAROL"])
    assert mediator_of(dispute) == "U0MGR1"
    assert owner_of(east, lead) == "U0ALICE", "the holder keeps it until the mediator decides"
    with east() as session:
        assert session.get(Lead, lead).status == LeadStatus.DISPUTED
        case = session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "dispute_case"))
        assert case.channel == "C0EASTMED"
        facts = mediation.case_facts(session, session.get(Dispute, dispute.id), datetime.now(UTC))
    assert facts.suggestion == "U0ALICE" and facts.mediator == "U0MGR1"
    assert [p.load.active for p in facts.parties] == [1, 1, 1]


@freeze_time(START)
def test_mediators_rotate_among_managers(east) -> None:
    mediators = []
    for name in ("One", "Two", "Three"):
        lead = new_lead(east, name)
        claim(east, "U0ALICE", lead)
        claim(east, "U0BOB", lead)
        mediators.append(mediator_of(dispute_of(east, lead)))
    assert mediators == ["U0MGR1", "U0MGR2", "U0MGR1"]


@freeze_time(START)
def test_after_the_window_the_rep_is_offered_a_contest(east) -> None:
    lead = new_lead(east)
    claim(east, "U0ALICE", lead)
    with freeze_time(START + timedelta(minutes=11)):
        late = claim(east, "U0BOB", lead)
        assert late.refused and late.offer_contest
        assert claim_text(late) == (
            f"L-{lead} is held by <@U0ALICE> since Mon 23 Nov 10:00 EST. If you have a better "
            f"claim, contest it: `/dibs contest L-{lead} reason`."
        )
        with east.begin() as session:
            result = claiming.contest(
                session, member(session, "U0BOB"), lead, "I met them at the expo", datetime.now(UTC)
            )
    assert claim_text(result) == f"You contested L-{lead}; D-1 is open and a manager will decide."
    with east() as session:
        posts = [
            sent_text(r) for r in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "thread_post"))
        ]
    assert posts == ["<@U0BOB> says: I met them at the expo"]


@pytest.mark.parametrize(
    ("first", "second", "disputed"),
    [
        (
            {"company": "Acme Corp", "email": "ann@acme.com"},
            {"company": "ACME Corporation", "email": "bo@acme.com"},
            True,
        ),
        (
            {"company": "Acme Corp", "email": "ann@gmail.com"},
            {"company": "ACME Corporation", "email": "bo@gmail.com"},
            True,
        ),
        (
            {"company": "Acme", "website": "acme.com", "territory": "NY"},
            {"company": "Acne Labs", "website": "acnelabs.com", "territory": "NY"},
            False,
        ),
        ({"company": "Initech", "email": "ann@gmail.com"}, {"company": "Globex", "email": "bo@gmail.com"}, False),
        (
            {"company": "Acme Widgets", "phone": "+1 212 555 0100"},
            {"company": "Acme Widgetz", "phone": "212.555.0100"},
            True,
        ),
    ],
)
@freeze_time(START)
def test_account_overlap_follows_the_matching_rules(east, first: dict, second: dict, disputed: bool) -> None:
    held = new_lead(east, "Ann", **first)
    claim(east, "U0ALICE", held)
    other = new_lead(east, "Bo", **second)
    result = claim(east, "U0BOB", other)
    if disputed:
        assert f"account is held by <@U0ALICE> (L-{held}), so D-1 will decide who gets L-{other}" in claim_text(result)
        dispute = dispute_of(east, other)
        assert dispute.kind == "same_account" and parties(dispute) == ["U0ALICE", "U0BOB"]
        assert dispute.account_holder_id == dispute.parties[0].member_id
        assert owner_of(east, other) is None
    else:
        assert claim_text(result).startswith(f"L-{other} is yours.")


@freeze_time(START)
def test_route_to_account_owner_sends_new_leads_straight_to_the_owner(east) -> None:
    set_limits(east, route_to_account_owner=True)
    held = new_lead(east, "Ann", email="ann@acme.com")
    claim(east, "U0ALICE", held)
    with east.begin() as session:
        result = take_lead(
            session, session.get(Team, "east"), LeadIn(name="Bo", email="bo@acme.com"), datetime.now(UTC), "test"
        )
        assert result.as_json()["status"] == "routed"
        assert result.as_json()["overlaps"] == [{"lead": f"L-{held}", "reason": "same domain", "held_by": "U0ALICE"}]
        routed = result.lead.id
    assert owner_of(east, routed) == "U0ALICE"
    routed_dm = f"L-{routed} is yours: it belongs to the account you hold (L-{held})"
    assert any(routed_dm in t for t in dms_to(east, "U0ALICE"))
    with east() as session:
        assert "went straight to <@U0ALICE>, who holds the same account" in why_text(explain(session.get(Lead, routed)))


@pytest.fixture
def disputed(east) -> tuple[int, int]:
    with freeze_time(START):
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
        claim(east, "U0BOB", lead)
    return lead, dispute_of(east, lead).id


def test_award_gives_the_lead_and_tells_everyone(east, disputed) -> None:
    lead, dispute_id = disputed
    with freeze_time(START + timedelta(hours=1)):
        resolve(east, "U0MGR1", dispute_id, "award", [("U0BOB", 100)], "Bob met them first")
    assert owner_of(east, lead) == "U0BOB"
    assert credit(east, lead) == {"U0BOB": 100}
    expected = f"D-1 resolved by <@U0MGR1>: L-{lead} awarded to <@U0BOB>. Reason: Bob met them first"
    assert expected in dms_to(east, "U0ALICE") and expected in dms_to(east, "U0BOB")
    with east() as session:
        assert (
            session.scalar(
                select(Claim.status).where(Claim.lead_id == lead, Claim.member_id == member(session, "U0ALICE").id)
            )
            == ClaimStatus.RELEASED
        )
        stored = session.get(Lead, lead)
        assert stored.status == LeadStatus.CLAIMED
        assert "decided in D-1 by <@U0MGR1>: award (<@U0BOB> 100%)" in why_text(explain(stored))
        threads = [
            sent_text(r) for r in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "thread_post"))
        ]
    assert threads == [expected]


def test_split_credits_each_partner(east, disputed) -> None:
    lead, dispute_id = disputed
    with freeze_time(START + timedelta(hours=1)):
        resolve(east, "U0MGR2", dispute_id, "split", [("U0ALICE", 60), ("U0BOB", 40)], "joint pursuit")
    assert credit(east, lead) == {"U0ALICE": 60, "U0BOB": 40}
    assert owner_of(east, lead) == "U0ALICE", "the largest share holds the lead"
    with east() as session:
        dispute = session.get(Dispute, dispute_id)
        assert (dispute.status, dispute.outcome, dispute.reason) == ("resolved", "split", "joint pursuit")


@pytest.mark.parametrize(
    ("shares", "problem"),
    [
        ([("U0ALICE", 60), ("U0BOB", 30)], "The shares add up to 90%, not 100%"),
        ([("U0ALICE", 100)], "A split needs 2 to 4 partners, not 1"),
        (
            [("U0ALICE", 20), ("U0BOB", 20), ("U0CAROL", 20), ("U0MGR1", 20), ("U0MGR2", 20)],
            "A split needs 2 to 4 partners, not 5",
        ),
        ([("U0ALICE", 50), ("U0WREP", 50)], "<@U0WREP> is not a member of this team"),
        ([("U0ALICE", 50), ("U0ALICE", 50)], "Each partner may appear once"),
    ],
)
def test_bad_splits_are_refused_and_change_nothing(east, disputed, shares, problem) -> None:
    lead, dispute_id = disputed
    with refusal(InvalidInput, match=problem.replace("(", r"\(").replace(")", r"\)")):
        resolve(east, "U0MGR1", dispute_id, "split", shares)
    assert dispute_of(east, lead).status == "open"
    assert credit(east, lead) == {"U0ALICE": 100}


def test_only_a_manager_of_the_team_who_is_not_a_party_may_resolve(east, disputed) -> None:
    _, dispute_id = disputed
    with refusal(NotAllowed, match="Only a manager"):
        resolve(east, "U0BOB", dispute_id, "award", [("U0BOB", 100)])  # a party
    with refusal(NotAllowed, match="Only a manager"):
        resolve(east, "U0CAROL", dispute_id, "award", [("U0BOB", 100)])  # a rep
    with refusal(NotFound, match="There is no dispute D-1 in your team"):
        resolve(east, "U0WMGR", dispute_id, "award", [("U0BOB", 100)])  # another team's manager
    with refusal(InvalidInput, match="is not a party to D-1"):
        resolve(east, "U0MGR1", dispute_id, "award", [("U0CAROL", 100)])
    resolve(east, "U0MGR1", dispute_id, "award", [("U0ALICE", 100)])
    with refusal(Conflict, match="D-1 was already resolved by <@U0MGR1>: award"):
        resolve(east, "U0MGR2", dispute_id, "award", [("U0BOB", 100)])


def test_withdrawal_leaving_one_party_resolves_to_them(east, disputed) -> None:
    lead, dispute_id = disputed
    with freeze_time(START + timedelta(minutes=5)), east.begin() as session:
        mediation.withdraw(session, member(session, "U0ALICE"), dispute_id, datetime.now(UTC))
    assert owner_of(east, lead) == "U0BOB"
    with east() as session:
        dispute = session.get(Dispute, dispute_id)
        assert (dispute.status, dispute.outcome) == ("withdrawn", "withdrawn")
    assert any("goes to <@U0BOB>, the only party left" in t for t in dms_to(east, "U0BOB"))
    with east.begin() as session, pytest.raises(Conflict):
        mediation.withdraw(session, member(session, "U0BOB"), dispute_id, datetime.now(UTC))


def test_a_manager_assign_decides_the_dispute(east, disputed) -> None:
    lead, _ = disputed
    with freeze_time(START + timedelta(minutes=5)), east.begin() as session:
        manager_assign(session, member(session, "U0MGR1"), lead, "U0CAROL", datetime.now(UTC), "territory")
    assert owner_of(east, lead) == "U0CAROL"
    assert dispute_of(east, lead).outcome == "assign"


def test_unresolved_disputes_get_one_reminder_and_the_contact_clock_pauses(east, disputed) -> None:
    lead, _ = disputed
    with freeze_time(START + timedelta(hours=23, minutes=59)):
        scheduler.run_due(east, datetime.now(UTC))
    assert not any("Reminder: D-1" in t for t in dms_to(east, "U0MGR1"))
    with freeze_time(START + timedelta(hours=24)):
        scheduler.run_due(east, datetime.now(UTC))
        scheduler.run_due(east, datetime.now(UTC))
    for manager in ("U0MGR1", "U0MGR2"):
        assert [t for t in dms_to(east, manager) if t.startswith("Reminder: D-1")] == [
            f"Reminder: D-1 over L-{lead} has been open for 24h. Resolve it with the buttons or "
            "`/dibs resolve D-1 award @rep`."
        ]
    assert owner_of(east, lead) == "U0ALICE", "no SLA expiry while the dispute is open"


def test_concurrent_resolutions_give_one_outcome(pg_engine) -> None:
    sessions = session_factory(pg_engine)
    with freeze_time(START):
        with sessions.begin() as session:
            apply_config(session, parse_config(TEAM_TOML), datetime.now(UTC))
            session.get_one(Team, "east").limit_overrides = {"contest_window_minutes": 10}
        lead = new_lead(sessions)
        claim(sessions, "U0ALICE", lead)
        claim(sessions, "U0BOB", lead)
    dispute_id = dispute_of(sessions, lead).id
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def decide(manager: str, winner: str) -> None:
        try:
            with sessions.begin() as session:
                me = member(session, manager)
                start.wait()
                mediation.resolve(session, me, dispute_id, datetime.now(UTC), outcome="award", shares=[(winner, 100)])
            outcomes[manager] = "resolved"
        except DibsError as exc:
            outcomes[manager] = refusal_text(exc)

    threads = [threading.Thread(target=decide, args=args) for args in (("U0MGR1", "U0ALICE"), ("U0MGR2", "U0BOB"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values())[1] == "resolved"
    told = sorted(outcomes.values())[0]
    assert told.startswith("D-1 was already resolved by <@U0MGR")
    with sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Claim).where(Claim.lead_id == lead, Claim.status == ClaimStatus.ACTIVE)
            )
            == 1
        )
