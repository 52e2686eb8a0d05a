"""Alembic owns the schema: it upgrades, downgrades and matches the models on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.cards import current_card
from bot.intake import LeadIn, take_lead
from infra.db import alembic_config, migrate
from models import Base, OutboxKind, OutboxMessage, Team


# SQLite's reflection cannot read an index on an expression (lower(territory)); PostgreSQL's can,
# so the drift check still covers it there.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning")
def test_upgrade_downgrade_and_no_drift(engine: Engine) -> None:
    config = alembic_config(engine)
    command.check(config)  # autogenerate finds nothing to add: models and migrations agree
    command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    command.check(config)


def test_race_rules_are_in_the_database(engine: Engine) -> None:
    indexes = {ix["name"]: ix for table in ("claims", "disputes") for ix in inspect(engine).get_indexes(table)}
    for name in ("uq_claims_one_owner_per_lead", "uq_claims_one_pending_per_rep", "uq_disputes_one_open_per_lead"):
        assert indexes[name]["unique"], name
    uniques = {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("job_runs")}
    assert ("job", "key") in uniques, "one digest per team and week"


def test_retired_card_stubs_move_between_sentence_and_facts(engine: Engine, teams: sessionmaker[Session]) -> None:
    """A stub stored as a sentence (`released by <@U…>`) becomes facts on upgrade, and back on downgrade."""
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with teams.begin() as session:
        lead = take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), now, "test").lead
        card = current_card(session, lead.id)
        assert card is not None
        card.retired_at, card.retired_as, card.retired_by, card.retired_reason = now, "released", "U0ALICE", "why"
    stub = text("SELECT retired_reason FROM lead_cards")
    facts = text("SELECT retired_as, retired_by, retired_reason FROM lead_cards")
    config = alembic_config(engine)
    command.downgrade(config, "91c002749856")  # the revision before retired cards kept facts
    with engine.connect() as connection:
        assert connection.execute(stub).scalar_one() == "released by <@U0ALICE>"
    migrate(engine)
    with engine.connect() as connection:
        assert tuple(connection.execute(facts).one()) == ("released", "U0ALICE", None)


BEFORE_ENUM_CHECKS = "caa454136b99"  # the revision before enum values were checked


@pytest.mark.parametrize(
    "bad_value",
    [
        "UPDATE leads SET status = 'bogus'",
        "UPDATE members SET role = 'owner'",
        "UPDATE outbox_messages SET kind = 'fax'",
    ],
)
def test_the_database_refuses_a_value_outside_its_enum(
    engine: Engine, teams: sessionmaker[Session], bad_value: str
) -> None:
    """Status, kind, role… columns take only their enum's values once upgraded; before, anything went."""
    with teams.begin() as session:
        take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), datetime.now(UTC), "test")
    config = alembic_config(engine)
    command.downgrade(config, BEFORE_ENUM_CHECKS)
    with engine.connect() as connection:
        assert connection.execute(text(bad_value)).rowcount > 0
        connection.rollback()
    migrate(engine)
    with engine.connect() as connection, pytest.raises(IntegrityError, match="ck_"):
        connection.execute(text(bad_value))


def test_outbox_rows_of_a_kind_no_longer_queued_survive_the_upgrade(
    engine: Engine, teams: sessionmaker[Session]
) -> None:
    """A chart upload queued by an earlier release passes the new check and still loads."""
    with teams.begin() as session:
        take_lead(session, session.get_one(Team, "east"), LeadIn(name="Jane Doe"), datetime.now(UTC), "test")
    command.downgrade(alembic_config(engine), BEFORE_ENUM_CHECKS)
    with engine.begin() as connection:
        connection.execute(text("UPDATE outbox_messages SET kind = 'upload'"))
    migrate(engine)
    with teams() as session:
        assert {row.kind for row in session.scalars(select(OutboxMessage))} == {OutboxKind.UPLOAD}
