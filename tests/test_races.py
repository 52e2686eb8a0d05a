"""Races decided by PostgreSQL, across two real `dibs serve` processes (DESIGN §5, §10)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.claiming import claim_lead
from bot.config import parse_config
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from infra.db import session_factory
from models import OWNING_CLAIM_STATUSES, Claim, Dispute, Member, Team
from sandbox.signing import block_actions_body, signed_headers
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET

REPS = [f"U0REP{i:02d}" for i in range(50)]
RACE_TOML = f"""
[teams.race]
name = "Race team"
channel = "C0RACE"
intake_token = "race-token"
managers = ["U0RACEMGR"]
reps = [{", ".join(f'{{ id = "{uid}" }}' for uid in REPS)}]

[teams.race.limits]
fair_start_seconds = 0
contest_window_minutes = 0
max_active_claims = 1
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stderr is not None
            raise AssertionError(f"dibs serve exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("dibs serve did not become healthy")


@pytest.fixture
def replicas(pg_engine: Engine, pg_url: str, slack: SlackStandIn, tmp_path: Path) -> Iterator[list[int]]:
    """Two `dibs serve` processes on one PostgreSQL, started at the same moment."""
    slack.add_teams(RACE_TOML)
    config = tmp_path / "race.toml"
    config.write_text(RACE_TOML)
    ports = [_free_port(), _free_port()]
    dibs = Path(sys.executable).parent / "dibs"
    processes = []
    for port in ports:
        env = os.environ | {
            "DATABASE_URL": pg_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DIBS_CONFIG": str(config),
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
        env.pop("SLACK_APP_TOKEN", None)
        processes.append(
            subprocess.Popen(
                [str(dibs), "serve"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        )
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_healthy(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            _, stderr = process.communicate(timeout=30)
            assert b"Traceback" not in stderr, stderr.decode()[-3000:]


def _click(slack: SlackStandIn, port: int, user: str, lead_id: int) -> int:
    body = block_actions_body(
        user,
        "claim_lead",
        str(lead_id),
        channel_id="C0RACE",
        trigger_id=slack.new_trigger_id(),
        response_url=slack.new_response_url("C0RACE", user),
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events", data=body, method="POST", headers=signed_headers(body, SIGNING_SECRET)
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def _everyone_clicks(slack: SlackStandIn, replicas: list[int], lead_id: int) -> list[int]:
    """All 50 reps click Claim at the same moment, alternating between the two replicas."""
    start = threading.Barrier(len(REPS))

    def click(i: int) -> int:
        start.wait()
        return _click(slack, replicas[i % 2], REPS[i], lead_id)

    with ThreadPoolExecutor(len(REPS)) as pool:
        return list(pool.map(click, range(len(REPS))))


def _new_lead(pg_engine: Engine, name: str) -> int:
    with session_factory(pg_engine).begin() as session:
        return take_lead(session, session.get_one(Team, "race"), LeadIn(name=name), datetime.now(UTC), "test").lead.id


def test_fifty_clicks_over_two_replicas_make_one_owner(
    pg_engine: Engine, replicas: list[int], slack: SlackStandIn
) -> None:
    lead_id = _new_lead(pg_engine, "Everyone wants this")
    assert _everyone_clicks(slack, replicas, lead_id) == [200] * len(REPS), "every click acknowledged, no errors"
    with session_factory(pg_engine)() as session:
        owners = session.scalars(
            select(Claim).where(Claim.lead_id == lead_id, Claim.status.in_(OWNING_CLAIM_STATUSES))
        ).all()
        assert len(owners) == 1
        winner = owners[0].member.slack_user_id
    answers = {c.args["user"]: c.args["text"] for c in slack.wait_for("response_url", count=len(REPS), timeout=30)}
    assert len(answers) == len(REPS), "no click went unanswered"
    assert answers.pop(winner).startswith(f"L-{lead_id} is yours.")
    assert all(text.startswith(f"L-{lead_id} is held by <@{winner}>") for text in answers.values())


def test_fifty_clicks_inside_the_contest_window_make_one_dispute(
    pg_engine: Engine, replicas: list[int], slack: SlackStandIn
) -> None:
    with session_factory(pg_engine).begin() as session:
        session.get_one(Team, "race").limit_overrides = {"contest_window_minutes": 10}
    lead_id = _new_lead(pg_engine, "Everyone wants this")
    assert set(_everyone_clicks(slack, replicas, lead_id)) == {200}
    with session_factory(pg_engine)() as session:
        disputes = session.scalars(select(Dispute).where(Dispute.lead_id == lead_id)).all()
        assert len(disputes) == 1, "one dispute per lead, not one per click"
        assert len(disputes[0].parties) == len(REPS)
        assert (
            session.scalar(
                select(func.count())
                .select_from(Claim)
                .where(Claim.lead_id == lead_id, Claim.status.in_(OWNING_CLAIM_STATUSES))
            )
            == 1
        )
    assert len(slack.wait_for("response_url", count=len(REPS), timeout=30)) == len(REPS)


def test_a_rep_at_the_edge_of_the_limit_clicking_two_leads_at_once_gets_one(
    pg_engine: Engine, replicas: list[int], slack: SlackStandIn
) -> None:
    reps = REPS[:10]
    pairs = [(_new_lead(pg_engine, f"{uid} A"), _new_lead(pg_engine, f"{uid} B")) for uid in reps]
    start = threading.Barrier(2 * len(reps))

    def click(job: tuple[int, str, int]) -> int:
        port, user, lead_id = job
        start.wait()
        return _click(slack, port, user, lead_id)

    jobs = [(replicas[side], uid, pair[side]) for uid, pair in zip(reps, pairs, strict=True) for side in (0, 1)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        assert set(pool.map(click, jobs)) == {200}
    with session_factory(pg_engine)() as session:
        held = dict(
            session.execute(
                select(Member.slack_user_id, func.count())
                .join(Claim, Claim.member_id == Member.id)
                .where(Claim.status == "active")
                .group_by(Member.slack_user_id)
            )
            .tuples()
            .all()
        )
    assert held == dict.fromkeys(reps, 1), "max_active_claims = 1 holds under simultaneous clicks"


def test_concurrent_claims_in_one_process_are_serialized_per_rep(pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    with sessions.begin() as session:
        apply_config(session, parse_config(RACE_TOML), datetime.now(UTC))
    leads = [_new_lead(pg_engine, f"Lead {i}") for i in range(8)]
    start = threading.Barrier(len(leads))

    def claim(lead_id: int) -> bool:
        with sessions.begin() as session:
            rep = session.scalars(select(Member).where(Member.slack_user_id == REPS[0])).one()
            start.wait()
            return not claim_lead(session, rep, lead_id, datetime.now(UTC)).refused

    with ThreadPoolExecutor(len(leads)) as pool:
        granted = list(pool.map(claim, leads))
    assert granted.count(True) == 1
