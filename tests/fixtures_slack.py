"""Pytest fixtures for the Slack stand-in (loaded as a plugin from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from sandbox.slack_web import REFERENCE_ENV, SlackStandIn, find_reference_dir
from tests.conftest import TEAM_TOML

# The people of TEAM_TOML by name (what users.info answers for them).
NAMES = {
    "U0MGR1": "Maya Morgan",
    "U0MGR2": "Omar Ortiz",
    "U0ALICE": "Alice Adams",
    "U0BOB": "Bob Brown",
    "U0CAROL": "Carol Chen",
    "U0WMGR": "Wendy Walsh",
    "U0WREP": "Wes Reyes",
}
OUTSIDER = "U0NOBODY"  # in the workspace, in no Dibs team
PRIVATE_CHANNEL = "C0SECRET"  # private, Alice and Maya in it, the bot not invited


def populate(standin: SlackStandIn) -> None:
    """TEAM_TOML's workspace: its channels public and not joined, its people by name; plus an
    outsider, a private channel and a DM between Alice and Bob (`standin.add_dm` gives its id)."""
    standin.add_teams(TEAM_TOML, NAMES)
    standin.add_user(OUTSIDER, display_name="Nora Nobody", real_name="Nora Nobody")
    standin.add_channel(PRIVATE_CHANNEL, "leadership", private=True, members=["U0ALICE", "U0MGR1"])
    standin.add_dm("U0ALICE", "U0BOB")


@pytest.fixture(scope="session")
def _slack_server() -> Iterator[SlackStandIn]:
    """One stand-in server per test session (per xdist worker); tests reset it."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def slack(_slack_server: SlackStandIn) -> Iterator[SlackStandIn]:
    """A fresh-looking stand-in with TEAM_TOML's workspace; the test fails if any call it saw
    broke Slack's rules."""
    _slack_server.reset()
    populate(_slack_server)
    yield _slack_server
    problems = _slack_server.take_problems()
    if problems:
        pytest.fail("Slack calls Slack would object to:\n  " + "\n  ".join(problems))


@pytest.fixture
def slack_client(slack: SlackStandIn) -> WebClient:
    """The real slack_sdk client, pointed at the stand-in."""
    return WebClient(token="xoxb-test", base_url=slack.api_url)


@pytest.fixture
def slack_reference() -> Path:
    """The Slack reference folder (`../shared/slack`), or skip when this clone lacks it."""
    folder = find_reference_dir()
    if folder is None:
        pytest.skip(f"Slack reference absent: no ../shared/slack beside the repo and no ${REFERENCE_ENV}")
    return folder
