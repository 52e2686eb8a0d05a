"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_config
from bot.teams import apply_config
from infra.db import make_engine, migrate, normalize_database_url, session_factory
from models import Base

pytest_plugins = ["tests.fixtures_slack", "tests.fixtures_app"]

BACKENDS = ["sqlite", "postgresql"]

TEAM_TOML = """
[teams.east]
name = "Sales East"
channel = "C0EAST"
mediation_channel = "C0EASTMED"
timezone = "America/New_York"
intake_token = "east-token-123"
managers = ["U0MGR1", "U0MGR2"]
reps = [{ id = "U0ALICE", weight = 1.0, territories = ["NY", "NJ"], skills = ["enterprise"] },
        { id = "U0BOB" },
        { id = "U0CAROL", weight = 2.0, territories = ["CA"] }]

[teams.east.limits]
max_active_claims = 5
fair_start_seconds = 0
contest_window_minutes = 0

[teams.east.digest]
day = "fri"
time = "17:00"

[teams.west]
name = "Sales West"
channel = "C0WEST"
timezone = "America/Los_Angeles"
intake_token = "west-token-456"
managers = ["U0WMGR"]
reps = [{ id = "U0WREP" }]

[teams.west.digest]
day = "fri"
time = "17:00"
"""


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _fresh_postgres(url: str) -> str:
    """Create (again) a database of our own on the server TEST_DATABASE_URL points at."""
    base = make_url(normalize_database_url(url))
    name = f"{base.database}_{_worker_suffix()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    """One migrated database per backend for the whole run; tests empty it between them."""
    sqlite_file: Path = tmp_path_factory.mktemp("db") / "dibs-test.db"
    urls: dict[str, str | None] = {"sqlite": f"sqlite:///{sqlite_file}", "postgresql": None}
    if os.environ.get("TEST_DATABASE_URL"):
        urls["postgresql"] = _fresh_postgres(os.environ["TEST_DATABASE_URL"])
    for url in urls.values():
        if url:
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
    return urls


def _empty_all_tables(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


def backend_url(database_urls: dict[str, str | None], backend: str) -> str:
    url = database_urls[backend]
    if url is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (CI always sets it)")
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, database_urls: dict[str, str | None]) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return backend_url(database_urls, request.param)


@pytest.fixture
def pg_url(database_urls: dict[str, str | None]) -> str:
    """For race and multi-replica tests that only PostgreSQL can decide."""
    return backend_url(database_urls, "postgresql")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    _empty_all_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    _empty_all_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def teams(sessions: sessionmaker[Session], now: datetime) -> sessionmaker[Session]:
    """The two sample teams of TEAM_TOML applied; returns the session factory."""
    with sessions.begin() as session:
        apply_config(session, parse_config(TEAM_TOML), now)
    return sessions
