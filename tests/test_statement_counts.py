"""Round trips per request (issue 11): the SQL statements one claim and one card render send.

Counted with SQLAlchemy's `before_cursor_execute` event, so these are exact and machine
independent (no timing). A change that adds a statement to the claim path or makes card
rendering grow with the number of cards fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming
from bot.inserts import insert_unless_present
from bot.intake import LeadIn, take_lead
from bot.leads import lead_states
from bot.teams import find_member
from models import ClaimStatus, Lead, LeadStatus, Member, Team

# Reads: member with team, lead lock, member lock with away state, one aggregate of the limits,
# the account's keys, the card. Writes: lead, member, claim (once), credit, audit, outbox. (Was 18.)
CLAIM_STATEMENTS = 12


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper() + " " + statement[:90].replace("\n", " "))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _rep(session: Session, uid: str) -> Member:
    member = find_member(session, uid)
    assert member is not None, uid
    return member


def _new_leads(sessions: sessionmaker[Session], now: datetime, count: int) -> list[int]:
    with sessions.begin() as session:
        team = session.get_one(Team, "east")
        return [
            take_lead(session, team, LeadIn(name=f"Lead {i}", company=f"Company{i} Inc"), now, f"c{i}").lead.id
            for i in range(count)
        ]


def test_a_claim_on_an_open_lead_is_a_fixed_handful_of_statements(teams, engine, now) -> None:
    lead_id, warm = _new_leads(teams, now, 2)
    with teams.begin() as session:  # the first claim fills the ORM's caches; the second is measured
        claiming.claim_lead(session, _rep(session, "U0BOB"), warm, now)
    with counted(engine) as statements, teams.begin() as session:
        member = find_member(session, "U0ALICE")
        assert member is not None
        result = claiming.claim_lead(session, member, lead_id, now)
        assert result.outcome == claiming.ClaimOutcome.OWNED
    statements = [s for s in statements if not s.startswith("BEGIN")]  # SQLite's explicit BEGIN
    writes = [s for s in statements if not s.startswith("SELECT")]
    assert len(statements) <= CLAIM_STATEMENTS, "\n".join(statements)
    assert not any(s.startswith("DELETE") for s in writes), "an open lead has no credit to delete"
    assert not any(s.startswith("UPDATE claims") for s in writes), "the claim is inserted in its final state"
    with teams() as session:
        lead = session.get_one(Lead, lead_id)
        assert lead.status == LeadStatus.CLAIMED
        assert [c.status for c in lead.claims] == [ClaimStatus.ACTIVE]


def test_rendering_a_message_costs_the_same_for_one_card_or_ten(teams, engine, now) -> None:
    ids = _new_leads(teams, now, 10)
    with teams.begin() as session:
        for lead_id in ids[::2]:
            claiming.claim_lead(session, _rep(session, "U0ALICE"), lead_id, now)
    costs = []
    for some in (ids[:1], ids):
        with counted(engine) as statements, teams() as session:
            leads = list(session.scalars(select(Lead).where(Lead.id.in_(some))))
            states = lead_states(session, leads)
            assert [s.lead.id for s in states] == [lead.id for lead in leads]
        costs.append(len([s for s in statements if not s.startswith("BEGIN")]))
    assert costs[0] == costs[1] == 5  # the leads, then owners, disputes, pending counts, credit


def test_a_repeated_external_id_is_one_insert_that_gives_way_and_one_read(teams, engine, now) -> None:
    lead = LeadIn(name="Jane Doe", company="Acme Inc", external_id="crm-1")
    with teams.begin() as session:
        first = take_lead(session, session.get_one(Team, "east"), lead, now, "crm").lead.id
    with teams.begin() as session:
        team = session.get_one(Team, "east")
        with counted(engine) as statements:
            again = take_lead(session, team, lead, now, "crm")
    assert not again.created and again.lead.id == first
    kinds = [s.split()[0] for s in statements if not s.startswith("BEGIN")]
    assert kinds[:2] == ["INSERT", "SELECT"] and "SAVEPOINT" not in kinds, statements
    with teams() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 1


def test_a_leads_insert_is_compiled_once_then_taken_from_sqlalchemys_cache(teams, engine, now) -> None:
    """Compiling the lead's `INSERT … ON CONFLICT` cost 1.3 ms of CPU per lead when it was
    compiled again for every lead (the dialects' own inserts are not cached in SQLAlchemy 2.0)."""
    inserts: list[Any] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO leads"):
            inserts.append(context.cache_hit == CacheStats.CACHE_HIT)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        _new_leads(teams, now, 3)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert inserts[1:] == [True, True], inserts


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=lambda d: d.name)
def test_insert_unless_present_is_the_dialects_own_on_conflict_do_nothing(dialect: Any) -> None:
    values = {"team_id": "east", "external_id": "crm-1", "name": "Jane"}
    own = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    expected = own(Lead).values(values).on_conflict_do_nothing(index_elements=["team_id", "external_id"])
    ours = insert_unless_present(Lead, values, ["team_id", "external_id"])
    assert str(ours.returning(Lead.id).compile(dialect=dialect)) == str(
        expected.returning(Lead.id).compile(dialect=dialect)
    )
