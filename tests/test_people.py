"""Names of people from Slack (users.info), cached for a day and refreshed by user_change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from handlers.metrics import Metrics
from handlers.people import Directory
from models import SlackUser
from sandbox.signing import event_body
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import AppDriver, eventually


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def directory(slack_client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> Directory:
    return Directory(slack_client, sessions, Metrics(sessions), clock)


def asked(slack: SlackStandIn) -> list[str]:
    return [call.args["user"] for call in slack.calls_to("users.info")]


def test_display_name_else_real_name_else_user_name(
    slack: SlackStandIn, slack_client: WebClient, sessions: sessionmaker[Session]
) -> None:
    slack.add_user("U0ALICE", display_name="Alice Adams", real_name="Alice Anne Adams")
    slack.add_user("U0BOB", display_name="", real_name="Bob <Brown> & Co")
    slack.add_user("U0CAROL")
    names = directory(slack_client, sessions, Clock()).names(["U0ALICE", "U0BOB", "U0CAROL"])
    assert names == {"U0ALICE": "Alice Adams", "U0BOB": "Bob <Brown> & Co", "U0CAROL": "u0carol"}


def test_names_are_cached_for_a_day(
    slack: SlackStandIn, slack_client: WebClient, sessions: sessionmaker[Session]
) -> None:
    clock = Clock()
    people = directory(slack_client, sessions, clock)
    slack.add_user("U0ALICE", display_name="Alice Adams")
    assert people.names(["U0ALICE", "U0ALICE"]) == {"U0ALICE": "Alice Adams"}
    slack.add_user("U0ALICE", display_name="Ali")
    clock.now += timedelta(hours=23)
    assert people.names(["U0ALICE"]) == {"U0ALICE": "Alice Adams"}
    assert asked(slack) == ["U0ALICE"]
    clock.now += timedelta(hours=2)
    assert people.names(["U0ALICE"]) == {"U0ALICE": "Ali"}
    assert asked(slack) == ["U0ALICE", "U0ALICE"]


def test_a_name_slack_cannot_give_is_left_out_not_shown_as_an_id(
    slack: SlackStandIn, slack_client: WebClient, sessions: sessionmaker[Session]
) -> None:
    clock = Clock()
    people = directory(slack_client, sessions, clock)
    slack.fail_next("users.info", error="user_not_found")
    assert people.names(["U0GONE"]) == {}
    assert people.names(["U0GONE"]) == {}
    assert asked(slack) == ["U0GONE"], "no such user: not asked again the same day"
    slack.fail_next("users.info", 429, retry_after=30)
    slack.add_user("U0BOB", display_name="Bob")
    assert people.names(["U0ALICE", "U0BOB"]) == {}, "rate limited: the rest wait for the next time"
    assert people.names(["U0ALICE", "U0BOB"]) == {"U0ALICE": "Alice Adams", "U0BOB": "Bob"}


def test_user_change_refreshes_a_known_name(dibs: AppDriver) -> None:
    at_start = len(dibs.slack.calls_to("users.info"))  # the reps' away statuses, read at start
    with dibs.runtime.sessions.begin() as session:
        session.add(SlackUser(user_id="U0ALICE", display_name="Alice Adams", real_name=None, fetched_at=dibs.clock()))

    def change(user_id: str, display_name: str, event_id: str) -> None:
        user = {"id": user_id, "name": user_id.lower(), "profile": {"display_name": display_name, "real_name": "R"}}
        body = event_body({"type": "user_change", "user": user}, event_id)
        assert dibs.slack_request(body, content_type="application/json").status == 200

    change("U0ALICE", "Ali", "Ev001")
    change("U0STRANGER", "Someone else", "Ev002")  # not in any team: nothing kept about them

    def stored() -> dict[str, str | None]:
        with dibs.runtime.sessions() as session:
            return {row.user_id: row.display_name for row in session.scalars(select(SlackUser))}

    assert eventually(lambda: stored() == {"U0ALICE": "Ali"}), stored()
    change("U0BOB", "", "Ev003")  # a member: remembered (real name, as there is no display name)
    assert eventually(lambda: stored() == {"U0ALICE": "Ali", "U0BOB": "R"}), stored()
    assert dibs.slack.calls_to("users.info")[at_start:] == [], "names come from the event, not asked for"
