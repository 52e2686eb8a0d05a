"""People's names from Slack for where a mention cannot render: button text, chart labels, alt text.

Names come from `users.info` (scope `users:read`), are cached in `slack_users` for a day, and are
refreshed when Slack sends a `user_change` event. A name Slack cannot give is shown as a neutral
stand-in such as "party 2" (the person's place in what is shown), never as a raw user id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import people
from handlers.away_statuses import user_status_changed
from handlers.metrics import Metrics

log = logging.getLogger(__name__)

NO_SUCH_USER = frozenset({"user_not_found", "user_not_visible"})


def profile_names(user: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(name to show, real name) of a Slack user object: display name, else real name, else user name."""
    profile = user.get("profile") or {}
    real_name = (profile.get("real_name") or user.get("real_name") or "").strip() or None
    shown = (profile.get("display_name") or "").strip() or real_name or (user.get("name") or "").strip() or None
    return shown, real_name


def name_or_place(names: Mapping[str, str], user_id: str, place: str) -> str:
    """The person's name, or `place` (e.g. "party 2") when Slack could not say: never the raw id."""
    return names.get(user_id) or place


class Directory:
    """Names of Slack users, read from the cache and asked of Slack when missing or a day old."""

    def __init__(
        self, client: WebClient, sessions: sessionmaker[Session], metrics: Metrics, clock: Callable[[], datetime]
    ):
        self._client = client
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Slack user id → name to show, for every given user whose name Slack gives.

        Call it outside any open session: it writes what it fetched.
        """
        wanted = list(dict.fromkeys(user_ids))
        now = self._clock()
        with self._sessions() as session:
            stale = people.stale_or_missing(session, wanted, now)
        fetched = {}
        for user_id in stale:
            answer = self._fetch(user_id)
            if answer is None:
                break  # rate limited or Slack unreachable: show what is cached, ask again next time
            fetched[user_id] = answer
        if fetched:
            with self._sessions.begin() as session:
                for user_id, (shown, real_name) in fetched.items():
                    people.remember(session, user_id, shown, real_name, now)
        with self._sessions() as session:
            return people.known_names(session, wanted)

    def _fetch(self, user_id: str) -> tuple[str | None, str | None] | None:
        """The user's names; (None, None) when Slack has no such user; None when it did not answer."""
        try:
            response = self._client.users_info(user=user_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
            limited = exc.response.status_code == 429 or error == "ratelimited"
            self._metrics.slack_calls.labels("users_info", "ratelimited" if limited else "error").inc()
            if error in NO_SUCH_USER:
                return None, None
            reason = error or str(exc)
        except OSError as exc:  # network: timeouts, refused connections
            self._metrics.slack_calls.labels("users_info", "error").inc()
            reason = str(exc)
        else:
            self._metrics.slack_calls.labels("users_info", "ok").inc()
            return profile_names(response.get("user") or {})
        log.warning("users.info for %s failed (%s); showing cached or neutral names", user_id, reason)
        return None


def register(app: App) -> None:
    """Keep cached names and away statuses current: Slack sends `user_change` when someone edits their
    profile or status."""

    @app.event("user_change")
    def user_changed(event: dict[str, Any], session: Session, now: datetime) -> None:
        user = event.get("user") or {}
        user_id = user.get("id")
        if user_id and people.is_of_interest(session, user_id):
            people.remember(session, user_id, *profile_names(user), now)
        user_status_changed(session, user, now)
