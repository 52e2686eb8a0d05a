"""Alembic environment: runs against the engine handed over by `infra.db`, or the configured URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

import models

config = context.config
target_metadata = models.Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection):
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
            user_module_prefix="models.types.",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":  # a migration may rewrite a large table
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite changes a table's constraints by rebuilding it (batch mode), which foreign keys
    pointing at that table would refuse; they are off while migrating, as SQLite's docs advise.
    The switch works only outside a transaction, so it goes to the driver's connection directly."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None, "a checked-out connection has its driver's connection"
    was_on = driver.execute("PRAGMA foreign_keys").fetchone()[0]
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if connection.in_transaction():  # migrations commit one by one on SQLite; this holds reads only
            connection.rollback()
        driver.execute(f"PRAGMA foreign_keys={'ON' if was_on else 'OFF'}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
