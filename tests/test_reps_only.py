"""Leads and credit go to reps only (DESIGN §5): a manager never assigns to a manager, himself
included, a mediator is never a split partner, and the rules that pick an owner pass managers by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import mediation, ownership, scheduler
from bot.assignment import manager_assign
from bot.claims import new_claim
from bot.config import parse_config
from bot.errors import Conflict, NotAllowed
from bot.intake import LeadIn, import_rows, take_lead
from bot.ownership import FirstClaim
from bot.teams import add_member, apply_config, effective_limits
from handlers.answers import claim_text
from models import AuditEvent, Claim, ClaimStatus, CreditShare, Dispute, How, Lead, OutboxMessage, Team
from tests.conftest import TEAM_TOML
from tests.test_claims import START, claim, member, new_lead, owner_of, set_limits
from tests.test_mediation import credit, dispute_of, resolve
from tests.wording import refusal


@pytest.fixture
def east(teams: sessionmaker[Session]) -> sessionmaker[Session]:
    set_limits(teams, contest_window_minutes=10)
    return teams


@pytest.fixture
def disputed(east: sessionmaker[Session]) -> tuple[int, int]:
    """L-1: Alice holds it, Bob claimed inside the contest window, D-1 is open (mediator U0MGR1)."""
    with freeze_time(START):
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
        claim(east, "U0BOB", lead)
    return lead, dispute_of(east, lead).id


def everything(sessions: sessionmaker[Session]) -> tuple[Any, ...]:
    """What a refusal must leave as it was: claims, credit, leads, disputes, messages, the audit log."""
    with sessions() as session:
        return (
            session.execute(select(Claim.id, Claim.member_id, Claim.status).order_by(Claim.id)).all(),
            session.execute(select(CreditShare.lead_id, CreditShare.member_id, CreditShare.percent)).all(),
            session.execute(select(Lead.id, Lead.status, Lead.assignment).order_by(Lead.id)).all(),
            session.execute(select(Dispute.id, Dispute.status, Dispute.outcome)).all(),
            session.scalar(select(func.count()).select_from(OutboxMessage)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def made_manager(sessions: sessionmaker[Session], *uids: str) -> None:
    """`dibs config apply` of the team file with `uids` moved from the reps to the managers."""
    config = parse_config(TEAM_TOML)
    east = config.teams["east"]
    reps = [rep for rep in east.reps if rep.id not in uids]
    east = east.model_copy(update={"managers": [*east.managers, *uids], "reps": reps})
    with sessions.begin() as session:
        apply_config(session, config.model_copy(update={"teams": {**config.teams, "east": east}}), datetime.now(UTC))


def assign(sessions: sessionmaker[Session], manager: str, lead_id: int, to: str) -> None:
    with sessions.begin() as session:
        manager_assign(session, member(session, manager), lead_id, to, datetime.now(UTC), "mine now")


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("U0MGR1", "You are a manager, and leads go to reps only: give L-1 to a rep."),
        ("U0MGR2", "<@U0MGR2> is a manager, and leads go to reps only: give L-1 to a rep."),
    ],
)
@pytest.mark.parametrize("held", [True, False])
@freeze_time(START)
def test_a_manager_never_assigns_to_a_manager_himself_included(east, to: str, said: str, held: bool) -> None:
    lead = new_lead(east)
    if held:
        claim(east, "U0ALICE", lead)
    before = everything(east)
    with refusal(NotAllowed, match=f"^{said}$"):
        assign(east, "U0MGR1", lead, to)
    assert everything(east) == before
    assert owner_of(east, lead) == ("U0ALICE" if held else None)


@pytest.mark.parametrize(
    ("to", "said"),
    [
        ("U0MGR1", "You are mediating D-1, and leads go to reps only: give L-1 to a rep."),
        ("U0MGR2", "<@U0MGR2> is a manager, and leads go to reps only: give L-1 to a rep."),
    ],
)
def test_assigning_a_disputed_lead_never_settles_it_for_a_manager(east, disputed, to: str, said: str) -> None:
    """The Reassign… button's form and `/dibs assign` both end here."""
    lead, _ = disputed
    before = everything(east)
    with freeze_time(START + timedelta(minutes=5)), refusal(NotAllowed, match=f"^{said}$"):
        assign(east, "U0MGR1", lead, to)
    assert everything(east) == before
    assert dispute_of(east, lead).status == "open" and owner_of(east, lead) == "U0ALICE"


@pytest.mark.parametrize(
    ("outcome", "shares", "said"),
    [
        ("award", [("U0MGR1", 100)], "You are mediating D-1, and leads go to reps only: give L-1 to a rep."),
        (
            "split",
            [("U0MGR1", 60), ("U0BOB", 40)],
            "You are mediating D-1, and a mediator is never a split partner: split L-1 between reps.",
        ),
        (
            "split",
            [("U0ALICE", 60), ("U0MGR2", 40)],
            "<@U0MGR2> is a manager, and credit goes to reps only: split L-1 between reps.",
        ),
    ],
)
def test_the_mediator_takes_neither_the_lead_nor_a_share(east, disputed, outcome: str, shares, said: str) -> None:
    """`/dibs resolve`, the Award buttons and the split form all end here."""
    lead, dispute_id = disputed
    before = everything(east)
    with refusal(NotAllowed, match=f"^{said}$"):
        resolve(east, "U0MGR1", dispute_id, outcome, shares)
    assert everything(east) == before
    assert credit(east, lead) == {"U0ALICE": 100}


def test_a_party_made_manager_is_neither_awarded_nor_left_the_lead(east, disputed) -> None:
    lead, dispute_id = disputed
    made_manager(east, "U0BOB")
    with refusal(NotAllowed, match=r"^<@U0BOB> is a manager, and leads go to reps only: give L-1 to a rep\.$"):
        resolve(east, "U0MGR1", dispute_id, "award", [("U0BOB", 100)])
    with east.begin() as session:  # Alice steps back: the one party left is a manager, so the mediator decides
        mediation.withdraw(session, member(session, "U0ALICE"), dispute_id, datetime.now(UTC))
    assert dispute_of(east, lead).status == "open"
    assert credit(east, lead) == {"U0ALICE": 100}
    assign(east, "U0MGR1", lead, "U0CAROL")
    assert (dispute_of(east, lead).outcome, owner_of(east, lead)) == ("assign", "U0CAROL")


def test_a_claimant_made_manager_is_not_drawn_and_auto_assign_passes_managers_by(east) -> None:
    with freeze_time(START):
        set_limits(east, fair_start_seconds=30)
        lead = new_lead(east)
        claim(east, "U0ALICE", lead)
    made_manager(east, "U0ALICE")
    with freeze_time(START + timedelta(seconds=31)):
        scheduler.run_due(east, datetime.now(UTC))
    assert owner_of(east, lead) is None
    with east() as session:
        alice = session.scalars(select(Claim).where(Claim.lead_id == lead)).one()
        assert (alice.status, alice.reason) == (ClaimStatus.DECLINED, "a manager takes no leads")
    made_manager(east, "U0ALICE", "U0BOB")
    with freeze_time(START + timedelta(minutes=30)):
        scheduler.run_due(east, datetime.now(UTC))
    assert owner_of(east, lead) == "U0CAROL", "the one rep left; never a manager"


def csv_import(sessions: sessionmaker[Session], email: str) -> int:
    import_rows(sessions, "east", [(2, {"name": "Bo", "email": email})], lambda: datetime.now(UTC))
    with sessions() as session:
        return session.scalars(select(Lead.id).where(Lead.email == email)).one()


def webhook(sessions: sessionmaker[Session], email: str) -> int:
    with sessions.begin() as session:
        result = take_lead(
            session, session.get_one(Team, "east"), LeadIn(name="Bo", email=email), datetime.now(UTC), "t"
        )
        assert result.as_json()["status"] == "announced"
        return result.lead.id


@pytest.mark.parametrize("intake", [webhook, csv_import])
@freeze_time(START)
def test_an_account_held_by_a_manager_is_not_routed_to_him_nor_disputed(east, intake) -> None:
    set_limits(east, route_to_account_owner=True, contest_window_minutes=0)
    held = new_lead(east, "Ann", email="ann@acme.com")
    claim(east, "U0ALICE", held)
    made_manager(east, "U0ALICE")
    lead = intake(east, "bo@acme.com")
    assert owner_of(east, lead) is None, "announced to the team, not routed to a manager"
    assert claim_text(claim(east, "U0BOB", lead)).startswith(f"L-{lead} is yours."), "no account dispute"


@freeze_time(START)
def test_no_path_gives_a_manager_a_lead(east) -> None:
    """The last guard: whatever chose him, bot/ownership.py refuses a manager as owner."""
    lead_id = new_lead(east)
    with east.begin() as session, refusal(NotAllowed, match=r"^<@U0MGR1> is a manager, and leads go to reps only"):
        lead, boss = session.get(Lead, lead_id), member(session, "U0MGR1")
        claim_row = new_claim(lead, boss, How.CLAIM, effective_limits(boss.team), datetime.now(UTC))
        session.add(claim_row)
        ownership.give(session, lead, claim_row, FirstClaim("U0MGR1"), effective_limits(boss.team), datetime.now(UTC))
    assert owner_of(east, lead_id) is None


@freeze_time(START)
def test_a_manager_cannot_be_added_again_as_a_rep(east) -> None:
    with east.begin() as session, refusal(Conflict, match=r"^<@U0MGR2> is already in your team as a manager\.$"):
        add_member(session, member(session, "U0MGR1"), "U0MGR2", "rep", datetime.now(UTC))
    with east() as session:
        assert member(session, "U0MGR2").is_manager
