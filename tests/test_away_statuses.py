"""Away by Slack status (issue 13): read at start with users.info, kept current by `user_change`;
`/dibs away` still works, and fair share does not accumulate while away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.availability import current_away, go_away
from bot.away_status import SlackStatus, status_changed
from bot.config import parse_config
from bot.fairness import effective_weights, eligible_reps
from bot.teams import apply_config
from handlers.away_statuses import read_away_statuses, slack_status
from models import Member
from sandbox.clock import SteppingClock
from sandbox.signing import event_body
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import eventually, running_dibs, runtime_settings

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # Monday 10:00 in New York


def member(session: Session, uid: str) -> Member:
    return session.scalars(select(Member).where(Member.slack_user_id == uid)).one()


def change_status(teams: sessionmaker[Session], uid: str, status: SlackStatus, at: datetime) -> bool | None:
    with teams.begin() as session:
        return status_changed(session, member(session, uid), status, at)


def is_away(teams: sessionmaker[Session], uid: str, at: datetime) -> bool:
    with teams() as session:
        return current_away(session, member(session, uid).id, at) is not None


@pytest.mark.parametrize(
    ("text", "emoji", "away"),
    [
        ("", ":palm_tree:", True),
        ("Sick", ":face_with_thermometer:", True),
        ("Out of office until Monday", "", True),
        ("vacationing in Lisbon", ":airplane:", True),
        ("In a meeting", ":spiral_calendar_pad:", False),
        ("palm tree", ":coffee:", False),  # an emoji entry matches the emoji, not words
        ("", "", False),
    ],
)
def test_the_default_away_statuses(teams, text: str, emoji: str, away: bool) -> None:
    change_status(teams, "U0ALICE", SlackStatus(text, emoji), START)
    assert is_away(teams, "U0ALICE", START + timedelta(minutes=1)) is away


def test_a_status_that_expires_ends_the_away_time_with_it(teams) -> None:
    back_at = START + timedelta(days=2)
    assert change_status(teams, "U0BOB", SlackStatus("Vacationing", ":palm_tree:", back_at), START) is True
    assert is_away(teams, "U0BOB", back_at - timedelta(minutes=1))
    assert not is_away(teams, "U0BOB", back_at)
    assert change_status(teams, "U0BOB", SlackStatus("Vacationing", ":palm_tree:", back_at), back_at) is None


def test_clearing_the_status_ends_only_status_away_time(teams) -> None:
    change_status(teams, "U0ALICE", SlackStatus("", ":palm_tree:"), START)
    assert change_status(teams, "U0ALICE", SlackStatus(), START + timedelta(hours=1)) is False
    assert not is_away(teams, "U0ALICE", START + timedelta(hours=1))
    with teams.begin() as session:  # said in so many words: a status change does not end it
        go_away(session, member(session, "U0CAROL"), START)
    change_status(teams, "U0CAROL", SlackStatus("", ":palm_tree:"), START + timedelta(minutes=5))
    assert change_status(teams, "U0CAROL", SlackStatus(), START + timedelta(hours=1)) is None
    assert is_away(teams, "U0CAROL", START + timedelta(hours=2))


def test_fair_share_does_not_accumulate_while_the_status_says_away(teams) -> None:
    end = START + timedelta(days=2)
    change_status(teams, "U0BOB", SlackStatus("Out of office", ""), START + timedelta(days=1))
    with teams() as session:
        reps = eligible_reps(session, "east", START, end)
        weights = {
            m.slack_user_id: w for m, w in zip(reps, effective_weights(session, reps, START, end).values(), strict=True)
        }
    assert weights["U0ALICE"] == pytest.approx(1.0)
    assert weights["U0BOB"] == pytest.approx(0.5), "away for the second of the two days"


def test_a_team_may_name_its_own_away_statuses(sessions) -> None:
    token = 'intake_token = "east-token-123"'
    custom = TEAM_TOML.replace(token, f'{token}\naway_statuses = ["On leave"]')
    with sessions.begin() as session:
        apply_config(session, parse_config(custom), START)
    change_status(sessions, "U0ALICE", SlackStatus("", ":palm_tree:"), START)
    change_status(sessions, "U0BOB", SlackStatus("On leave", ""), START)
    assert not is_away(sessions, "U0ALICE", START) and is_away(sessions, "U0BOB", START)


def test_slack_status_of_a_user_object() -> None:
    user = {
        "id": "U0A",
        "profile": {"status_text": "Vacationing", "status_emoji": ":palm_tree:", "status_expiration": 1796083200},
    }
    assert slack_status(user) == SlackStatus("Vacationing", ":palm_tree:", datetime(2026, 12, 1, tzinfo=UTC))
    assert slack_status({"id": "U0A", "profile": {"status_expiration": 0}}) == SlackStatus()


def test_a_status_read_at_start_and_changed_later_decides_who_may_claim(
    engine: Engine, database_url: str, slack: SlackStandIn, clock: SteppingClock, tmp_path: Path
) -> None:
    slack.set_status("U0ALICE", "Vacationing", ":palm_tree:")  # set while Dibs was not running
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    with running_dibs(runtime_settings(database_url, slack, config), slack, clock) as dibs:
        assert {c.args["user"] for c in slack.calls_to("users.info")} >= {"U0ALICE", "U0BOB", "U0CAROL"}
        ref = dibs.post_lead({"name": "Jane Doe"}).json()["id"]
        assert dibs.reply_text(f"claim {ref}") == (
            f"You can't claim {ref}. Your Slack status says you are away; change it (or `/dibs back`) "
            "to take leads again."
        )
        cleared = slack.set_status("U0ALICE")
        assert dibs.slack_request(event_body(cleared, "Ev0BACK"), content_type="application/json").status == 200
        assert eventually(lambda: dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours."))
        sick = slack.set_status("U0BOB", "Sick", ":face_with_thermometer:")
        assert dibs.slack_request(event_body(sick, "Ev0SICK"), content_type="application/json").status == 200
        other = dibs.post_lead({"name": "John Roe"}).json()["id"]
        assert eventually(lambda: "Slack status says you are away" in dibs.reply_text(f"claim {other}", user="U0BOB"))


def test_away_until_it_changes_is_shown_from_the_status_expiry(teams: sessionmaker[Session]) -> None:
    back_at = START + timedelta(days=3)
    change_status(teams, "U0ALICE", SlackStatus("Out of office", "", back_at), START)
    with teams() as session:
        period = current_away(session, member(session, "U0ALICE").id, START)
        assert period is not None and period.ends_at == back_at and period.source == "slack_status"


def test_slack_not_answering_users_info_at_start_does_not_stop_dibs(
    slack: SlackStandIn, slack_client: WebClient, sessions: sessionmaker[Session], teams: sessionmaker[Session]
) -> None:
    slack.set_status("U0BOB", "", ":palm_tree:")
    slack.fail_next("users.info", error="user_not_found")  # Alice, the first rep asked
    problems = read_away_statuses(slack_client, teams, lambda: START)
    assert problems == ["users.info for U0ALICE failed (user_not_found); their status is not read"]
    assert is_away(teams, "U0BOB", START), "the others are still read"
    slack.fail_next("users.info", 429, retry_after=30)
    problems = read_away_statuses(slack_client, teams, lambda: START)
    assert len(problems) == 1 and "ratelimited" in problems[0], "rate limited: the rest wait for their events"
