"""The stand-in's Slack statuses: users.info profiles with `status_expiration`, a status Slack
clears when it expires, `user_change` events shaped as the Events API sends them, and the
profile rules Slack enforces (emoji names, 100-character text)."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient

from sandbox.slack_web import SPEC_FILE, SlackStandIn, find_reference_dir


def test_a_status_is_in_the_profile_with_its_expiration_until_slack_clears_it(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    now = 1_796_000_000.0
    slack.set_clock(lambda: now)
    slack.set_status("U0ALICE", "Vacationing", ":palm_tree:", int(now) + 3600)
    profile = slack_client.users_info(user="U0ALICE")["user"]["profile"]
    assert (profile["status_text"], profile["status_emoji"], profile["status_expiration"]) == (
        "Vacationing",
        ":palm_tree:",
        int(now) + 3600,
    )
    now += 3600
    profile = slack_client.users_info(user="U0ALICE")["user"]["profile"]
    assert (profile["status_text"], profile["status_emoji"], profile["status_expiration"]) == ("", "", 0)
    assert slack_client.users_info(user="U0BOB")["user"]["profile"]["status_expiration"] == 0


def test_the_profile_fields_are_the_ones_slack_documents(slack: SlackStandIn, slack_client: WebClient) -> None:
    reference = find_reference_dir()
    assert reference is not None, "set DIBS_SLACK_REFERENCE to Slack's reference folder"
    documented = json.loads((reference / SPEC_FILE).read_text())["definitions"]["objs_user_profile"]["properties"]
    profile = slack_client.users_info(user="U0ALICE")["user"]["profile"]
    assert set(profile) <= set(documented)
    assert documented["status_expiration"]["type"] == "integer"
    assert isinstance(profile["status_expiration"], int)


def test_user_change_carries_the_whole_user_object(slack: SlackStandIn, slack_client: WebClient) -> None:
    event = slack.set_status("U0BOB", "Sick", ":face_with_thermometer:")
    assert event["type"] == "user_change"
    assert isinstance(event["cache_ts"], int) and isinstance(event["event_ts"], str)
    assert event["user"] == slack_client.users_info(user="U0BOB")["user"]
    cleared = slack.set_status("U0BOB")
    assert (cleared["user"]["profile"]["status_emoji"], cleared["user"]["profile"]["status_text"]) == ("", "")


@pytest.mark.parametrize(
    ("text", "emoji", "expiration", "problem"),
    [
        ("x" * 101, "", 0, "over 100 characters"),
        ("Out", "palm_tree", 0, "not an emoji name"),
        ("Out", ":Palm Tree:", 0, "not an emoji name"),
        ("Out", ":palm_tree:", -1, "Unix seconds"),
    ],
)
def test_a_status_slack_would_refuse_is_refused(
    slack: SlackStandIn, text: str, emoji: str, expiration: int, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        slack.set_status("U0ALICE", text, emoji, expiration)
