"""Engine, sessions and schema migration; one place that knows about database URLs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_SCHEMES = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
}


def normalize_database_url(url: str) -> str:
    """Accept URLs as people paste them and point them at the installed driver."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        raise ValueError("must look like postgresql://user@host/db or sqlite:///path/to/dibs.db")
    return f"{_SCHEMES[scheme.lower()]}://{rest}"


def is_postgres(engine: Engine) -> bool:
    """True when row locks and SKIP LOCKED are available."""
    return engine.dialect.name == "postgresql"


CONNECT_TIMEOUT_SECONDS = 3  # a database that does not answer within this is down
STATEMENT_TIMEOUT_MS = 10_000  # no request or loop holds a connection (and its locks) longer
POOL_TIMEOUT_SECONDS = 2  # waiting longer for a free connection would miss Slack's 3 s
TCP_USER_TIMEOUT_MS = 10_000  # a connection whose packets go unanswered this long is dead

# Errors meaning "the database is not there right now" (refused, timed out, dropped, pool
# exhausted), as opposed to a query or data the database refused.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeout)


def database_unavailable(error: BaseException) -> bool:
    """True for errors a retry in a minute may cure (see DATABASE_UNAVAILABLE)."""
    return isinstance(error, DATABASE_UNAVAILABLE)


def why_unavailable(error: BaseException) -> str:
    """The driver's own first line on why the database could not be used."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine that gives up on an unreachable database in seconds, not minutes.

    PostgreSQL gets connect, statement and TCP timeouts and a short pool timeout; SQLite gets
    foreign keys, a busy timeout and write-ahead transactions. `kwargs` (pool size,
    connect_args...) are added to or override these.
    """
    url = normalize_database_url(url)
    if "poolclass" not in kwargs:  # a pool of its own (StaticPool) takes no timeout
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT_SECONDS)
    if not url.startswith("sqlite"):
        connect_args = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        } | dict(kwargs.pop("connect_args", {}))
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    engine = create_engine(url, connect_args={"timeout": 30} | dict(kwargs.pop("connect_args", {})), **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions so BEGIN IMMEDIATE serializes writers instead
        # of failing with "database is locked" when two readers both upgrade to writers.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def scratch_sessions() -> sessionmaker[Session]:
    """Sessions on a throwaway in-memory database with the current schema (`dibs simulate`,
    `dibs preview`): one shared connection, gone with the last reference to it."""
    from models import Base

    engine = make_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    return session_factory(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values usable after commit (handlers render them)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """Alembic config pointing at this package's migrations and the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (`alembic upgrade head`)."""
    command.upgrade(alembic_config(engine), "head")


STARTUP_LOCK_KEY = 0x44494253  # "DIBS": one replica at a time migrates and applies config


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Serialize start-up work across replicas (a PostgreSQL advisory lock; SQLite needs none)."""
    if not is_postgres(engine):
        yield
        return
    with engine.connect() as connection:
        # Waiting for another replica's migration may take longer than any statement should.
        connection.execute(text("SET LOCAL statement_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK_KEY})
            connection.commit()


def newest_revision() -> str:
    """The head revision of our migrations (one head; the integrator keeps it so)."""
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (None: never migrated); raises when unreachable."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
