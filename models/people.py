"""What Slack calls people, cached for where a mention cannot render (buttons, charts, alt text)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

NAME_MAX_CHARS = 255


class SlackUser(Base):
    """One Slack user's names from `users.info` (or a `user_change` event), and when they were read.

    `display_name` is the name Dibs shows: the profile's display name, else the real name, else the
    user name; None when Slack had no such user.
    """

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(NAME_MAX_CHARS))
    real_name: Mapped[str | None] = mapped_column(String(NAME_MAX_CHARS))
    fetched_at: Mapped[datetime]
