"""Alembic owns the schema: it upgrades, downgrades and matches the models on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from bot.db import alembic_config, migrate
from models import Base


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
