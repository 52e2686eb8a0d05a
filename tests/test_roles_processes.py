"""Two `dibs serve --role web` and two `--role worker` processes on one PostgreSQL (issue 15):
50 reps click one lead through both webs; one owner, every click answered exactly once, the
card posted once by whichever worker took it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from infra.db import session_factory
from models import OWNING_CLAIM_STATUSES, Claim
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET, eventually
from tests.test_races import RACE_TOML, REPS, _everyone_clicks, _free_port, _new_lead, _wait_healthy

ROLES = ("web", "web", "worker", "worker")


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture
def split(pg_engine: Engine, pg_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[list[int]]:
    """The four processes; yields the webs' ports once both are ready."""
    slack.add_teams(RACE_TOML)
    config = tmp_path / "race.toml"
    config.write_text(RACE_TOML)
    dibs = Path(sys.executable).parent / "dibs"
    ports = [_free_port() for _ in ROLES]
    processes = []
    for role, port in zip(ROLES, ports, strict=True):
        env = os.environ | {
            "DATABASE_URL": pg_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DIBS_CONFIG": str(config),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_FORMAT": "json",
        }
        env.pop("SLACK_APP_TOKEN", None)
        processes.append(
            subprocess.Popen(
                [str(dibs), "serve", "--role", role],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_healthy(port, process)
        webs = [port for role, port in zip(ROLES, ports, strict=True) if role == "web"]
        for web in webs:
            assert eventually(partial(_ready, web), timeout=30), "the webs get ready"
        yield webs
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            _, stderr = process.communicate(timeout=30)
            assert b"Traceback" not in stderr, stderr.decode()[-3000:]
            lines = stderr.decode().splitlines()
            assert lines and all(json.loads(line)["event"] for line in lines), "LOG_FORMAT=json: one object a line"
            assert not [line for line in lines if SIGNING_SECRET in line or "xoxb-test" in line or "race-token" in line]


def test_fifty_clicks_over_two_webs_with_two_workers(pg_engine: Engine, split: list[int], slack: SlackStandIn) -> None:
    lead_id = _new_lead(pg_engine, "Everyone wants this")
    assert _everyone_clicks(slack, split, lead_id) == [200] * len(REPS)
    with session_factory(pg_engine)() as session:
        owners = session.scalars(
            select(Claim).where(Claim.lead_id == lead_id, Claim.status.in_(OWNING_CLAIM_STATUSES))
        ).all()
        assert len(owners) == 1
    slack.wait_for("response_url", count=len(REPS), timeout=30)

    def answered() -> Counter[str]:
        return Counter(c.args["user"] for c in slack.calls_to("response_url") if c.ok)

    assert eventually(lambda: answered() == dict.fromkeys(REPS, 1), timeout=10), f"each answered once: {answered()}"

    def cards() -> list[Any]:
        return [c for c in slack.calls_to("chat.postMessage") if c.ok and c.args.get("text", "").startswith("New lead")]

    # The card shares the channel's lane with last week's digest (due on the real clock), so it may come after it.
    assert eventually(lambda: len(cards()) >= 1, timeout=15), "the lead's card is posted"
    assert len(cards()) == 1, "the lead's card posted once, by one of the two workers"
    digests = [c for c in slack.calls_to("chat.postMessage") if c.ok and "Fairness digest" in c.args.get("text", "")]
    assert len(digests) <= 1, "last week's digest (due on a real clock) posted at most once"
