"""Pytest fixtures for the Slack stand-in (loaded as a plugin from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from sandbox.slack_web import REFERENCE_ENV, SlackStandIn, find_reference_dir


@pytest.fixture(scope="session")
def _slack_server() -> Iterator[SlackStandIn]:
    """One stand-in server per test session (per xdist worker); tests reset it."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def slack(_slack_server: SlackStandIn) -> Iterator[SlackStandIn]:
    """A fresh-looking stand-in; the test fails if any call it saw broke Slack's rules."""
    _slack_server.reset()
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
