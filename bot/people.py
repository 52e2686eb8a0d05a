"""The cache of people's Slack names: which are missing or stale, what is known, storing new ones.

Fetching them from Slack is the delivery layer's job (handlers/people.py); this module only reads
and writes the `slack_users` table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Member, SlackUser
from models.people import NAME_MAX_CHARS

NAME_MAX_AGE = timedelta(days=1)  # a name read longer ago is asked for again before it is shown


def stale_or_missing(session: Session, user_ids: Iterable[str], now: datetime) -> list[str]:
    """The given users whose names were never read, or read more than a day before `now`."""
    wanted = list(dict.fromkeys(user_ids))
    fresh = set(
        session.scalars(
            select(SlackUser.user_id).where(SlackUser.user_id.in_(wanted), SlackUser.fetched_at > now - NAME_MAX_AGE)
        )
    )
    return [user_id for user_id in wanted if user_id not in fresh]


def known_names(session: Session, user_ids: Iterable[str]) -> dict[str, str]:
    """Slack user id → the name to show, for those of the given users whose name is known."""
    rows = session.execute(
        select(SlackUser.user_id, SlackUser.display_name).where(
            SlackUser.user_id.in_(set(user_ids)), SlackUser.display_name.is_not(None)
        )
    )
    return {user_id: name for user_id, name in rows if name}


def is_of_interest(session: Session, user_id: str) -> bool:
    """Whether Dibs shows this person: a member of a team, or someone whose name it keeps."""
    member = session.scalar(select(Member.id).where(Member.slack_user_id == user_id).limit(1))
    return member is not None or session.get(SlackUser, user_id) is not None


def remember(session: Session, user_id: str, display_name: str | None, real_name: str | None, now: datetime) -> None:
    """Store what Slack said about a user (None names: Slack has no such user); safe if two workers race."""
    values = {
        "user_id": user_id,
        "display_name": display_name[:NAME_MAX_CHARS] if display_name else None,
        "real_name": real_name[:NAME_MAX_CHARS] if real_name else None,
        "fetched_at": now,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(SlackUser).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[SlackUser.user_id],
            set_={key: statement.excluded[key] for key in ("display_name", "real_name", "fetched_at")},
        )
    )
