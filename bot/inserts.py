"""`INSERT … ON CONFLICT DO NOTHING` on PostgreSQL and SQLite alike: a unique constraint decides
a duplicate in one statement, without a read first or a savepoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_unless_present(session: Session, model: type[Any], values: dict[str, Any], unique: Sequence[str]) -> Any:
    """The dialect's insert of `values`, doing nothing when a row with the same `unique` columns
    exists (`.returning(...)` can be added to learn which it was).

    SQLAlchemy 2.0 does not cache the dialects' inserts, so each one is compiled (about a
    millisecond of CPU): worth it where it saves a read and a savepoint, or a list's load."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(model).values(values).on_conflict_do_nothing(index_elements=list(unique))
