"""The digest reaches Slack once per team and week: on schedule, by command, by CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import app
from bot import outbox
from bot.config import parse_config
from bot.digest_post import DigestState, digest_state, queue_digest, queue_due_digests
from bot.teams import apply_config
from infra.db import session_factory
from models import OutboxMessage, OutboxStatus, Team
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver
from tests.outbox_helpers import FakeClock, deliverer


def post_and_claim(dibs: AppDriver, n: int) -> None:
    for i in range(n):
        ref = dibs.post_lead({"name": f"Lead {i}", "external_id": f"x{i}", "source": "web"}).json()["id"]
        dibs.reply_text(f"claim {ref}", user="U0ALICE" if i % 2 else "U0BOB")


def test_scheduled_digest_posts_once_with_its_chart(dibs: AppDriver) -> None:
    dibs.slack.add_user("U0ALICE", display_name="Alice Adams")
    dibs.slack.add_user("U0BOB", real_name="Bob Brown")
    post_and_claim(dibs, 3)  # Monday of week 48
    dibs.clock.advance(days=11, hours=8)  # Friday 4 Dec, 18:00 New York: W48's digest is due
    text = dibs.message_to("C0EAST", "Fairness digest for Sales East, 2026-W48: 3 leads in", timeout=10)
    digest = next(c for c in dibs.slack.calls_to("chat.postMessage") if c.args.get("text") == text)
    blocks = json.dumps(digest.args["blocks"], ensure_ascii=False)
    assert "<@U0ALICE>" in blocks and "<@U0BOB>" in blocks and "<@U0CAROL>" in blocks
    completed = dibs.slack.wait_for("files.completeUploadExternal")
    assert completed[0].args["channel_id"] == "C0EAST"
    upload = dibs.slack.wait_for("files.getUploadURLExternal")[0]
    alt = upload.args["alt_txt"]
    assert alt.startswith("Bar chart of credited leads against fair share for 3 reps of Sales East, 2026-W48")
    assert all(name in alt for name in ("Alice Adams ", "Bob Brown ", "Carol Chen ")) and "U0" not in alt, alt
    assert next(iter(dibs.slack.uploads.values())).startswith(b"\x89PNG\r\n\x1a\n")
    assert not [c for c in dibs.slack.calls_to("chat.postMessage") if c.args["channel"] == "C0WEST"], (
        "West's Friday 17:00 is in Los Angeles, three hours later"
    )
    dibs.clock.advance(hours=3)
    dibs.message_to("C0WEST", "Fairness digest for Sales West, 2026-W48: 0 leads in")
    assert dibs.reply_text("digest post 2026-W48", user="U0MGR1") == (
        "The digest for 2026-W48 was already posted; not posting it again."
    )
    digests = [c for c in dibs.slack.calls_to("chat.postMessage") if "Fairness digest for Sales East" in c.args["text"]]
    assert len(digests) == 1


def test_managers_preview_and_post_by_command(dibs: AppDriver) -> None:
    post_and_claim(dibs, 2)
    preview = dibs.command("digest preview 2026-W48", user="U0MGR1").json()
    assert preview["text"].startswith("Fairness digest for Sales East, 2026-W48")
    assert preview["response_type"] == "ephemeral" and len(preview["blocks"]) <= 50
    assert dibs.reply_text("digest preview").startswith("`/dibs digest` is for managers")
    assert dibs.reply_text("digest post 2026-W48", user="U0MGR1") == ("Posting the digest for 2026-W48 in <#C0EAST>.")
    dibs.message_to("C0EAST", "Fairness digest for Sales East, 2026-W48")
    assert "2026 has no ISO week 99" in dibs.reply_text("digest preview 2026-W99", user="U0MGR1")


@pytest.fixture
def cli_env(database_url: str, engine, slack: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    env = {"DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert app.main(["config", "apply", str(config)]) == 0
    return env


def test_cli_preview_and_send_once(cli_env: dict, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["digest", "preview", "--team", "east", "--week", "2026-W47"]) == 0
    assert capsys.readouterr().out.startswith("Fairness digest")
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 0
    assert "posted the digest for east 2026-W47 to C0EAST" in capsys.readouterr().out
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 0
    assert "already posted; not posting it again" in capsys.readouterr().out
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W99"]) == 2
    assert "2026 has no ISO week 99" in capsys.readouterr().err


def test_cli_send_delivers_an_app_home_update_waiting_in_the_outbox(
    cli_env: dict, slack: SlackStandIn, engine: Engine
) -> None:
    """`digest send` runs the same worker as `serve`: whatever it takes from the outbox, it can send."""
    sessions = session_factory(engine)
    with sessions.begin() as session:
        home = outbox.enqueue(session, outbox.Kind.PUBLISH_HOME, datetime.now(UTC), user="U0ALICE")
        session.flush()
        home_id = home.id
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 0
    with sessions() as session:
        row = session.get_one(OutboxMessage, home_id)
        assert (row.status, row.last_error) == ("sent", None)
    [published] = slack.calls_to("views.publish")
    assert published.args["user_id"] == "U0ALICE" and published.args["view"]["type"] == "home"


def test_two_sends_at_once_post_once(pg_engine, pg_url: str, slack: SlackStandIn, tmp_path: Path) -> None:
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    dibs = str(Path(sys.executable).parent / "dibs")
    env = os.environ | {"DATABASE_URL": pg_url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url}
    subprocess.run([dibs, "config", "apply", str(config)], env=env, check=True, capture_output=True)
    sends = [
        subprocess.Popen(
            [dibs, "digest", "send", "--team", "east", "--week", "2026-W47"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in sends]
    assert [p.returncode for p in sends] == [0, 0], outputs
    said = sorted(out.decode().strip() for out, _ in outputs)
    queued_it = "posted the digest for east 2026-W47 to C0EAST"
    assert said[0] == queued_it, "one of them queued the digest and saw it posted"
    assert said[1] in (
        "the digest for east 2026-W47 was already posted; not posting it again",
        f"the digest for east 2026-W47 was queued already; not queueing it again\n{queued_it}",  # helped send it
    )
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_digest_slack_refused_is_not_taken_as_posted_and_is_sent_again(
    cli_env: dict, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: the week was taken when the digest was queued, so this said "already posted"."""
    slack.fail_next("chat.postMessage", error="is_archived", channel="C0EAST")
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 2
    assert "Slack refused the digest for east 2026-W47: chat_postMessage: HTTP 200 is_archived" in (
        capsys.readouterr().err
    )
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 0
    assert "posted the digest for east 2026-W47 to C0EAST" in capsys.readouterr().out
    digests = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert len(digests) == 1 and digests[0].args["text"].startswith("Fairness digest for Sales East, 2026-W47")
    assert len(slack.calls_to("files.completeUploadExternal")) == 1, "the chart was shared the first time"
    assert app.main(["digest", "send", "--team", "east", "--week", "2026-W47"]) == 0
    assert "already posted; not posting it again" in capsys.readouterr().out


def test_the_week_counts_as_posted_only_when_slack_accepted_the_digest(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    clock = FakeClock()
    worker = deliverer(slack, teams, clock)
    with teams.begin() as session:
        east = session.get_one(Team, "east")
        assert queue_digest(session, east, 2026, 47, clock()) == DigestState.QUEUED
        assert queue_digest(session, east, 2026, 47, clock()) == DigestState.POSTING
    slack.fail_next("chat.postMessage", 503, channel="C0EAST")
    assert worker.tick()
    with teams() as session:
        assert digest_state(session, "east", 2026, 47) == DigestState.POSTING
    clock.advance(outbox.BACKOFF_BASE_SECONDS)
    assert worker.tick()
    with teams.begin() as session:
        assert digest_state(session, "east", 2026, 47) == DigestState.POSTED
        assert queue_digest(session, session.get_one(Team, "east"), 2026, 47, clock()) == DigestState.POSTED
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [False, True]


def test_the_scheduler_sends_a_failed_digest_again_an_hour_later(
    slack: SlackStandIn, teams: sessionmaker[Session]
) -> None:
    due = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # Friday 18:00 in New York: East's W48 digest is due
    clock = FakeClock(due)
    worker = deliverer(slack, teams, clock)
    WebClient(token="xoxb-test", base_url=slack.api_url).conversations_join(channel="C0EAST")  # to share the chart
    assert queue_due_digests(teams, clock()) == 1
    slack.fail_next("chat.postMessage", error="is_archived", channel="C0EAST")
    assert worker.tick()
    with teams() as session:
        assert digest_state(session, "east", 2026, 48) == DigestState.FAILED
    clock.advance(30 * 60)
    assert queue_due_digests(teams, clock()) == 0, "not before an hour has passed"
    clock.advance(31 * 60)
    assert queue_due_digests(teams, clock()) == 1
    assert worker.tick()
    clock.advance(50 * 60)  # (West's is due at 01:00 UTC)
    assert queue_due_digests(teams, clock()) == 0, "posted: never again"
    digests = [c for c in slack.calls_to("chat.postMessage") if "2026-W48" in c.args["text"]]
    assert [c.ok for c in digests] == [False, True]
    assert len(slack.calls_to("files.completeUploadExternal")) == 1, "the chart is not shared twice"


def test_two_replicas_queue_a_failed_digest_again_once(slack: SlackStandIn, pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    with sessions.begin() as session:
        apply_config(session, parse_config(TEAM_TOML), datetime.now(UTC))
        queue_digest(session, session.get_one(Team, "east"), 2026, 47, datetime.now(UTC))
    with sessions.begin() as session:
        for row in session.scalars(select(OutboxMessage)):
            row.status = OutboxStatus.FAILED  # refused, or given up after a day
    start = threading.Barrier(2)
    states: list[DigestState] = []

    def requeue() -> None:
        with sessions.begin() as session:
            team = session.get_one(Team, "east")
            start.wait()
            states.append(queue_digest(session, team, 2026, 47, datetime.now(UTC)))

    threads = [threading.Thread(target=requeue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(states) == [DigestState.POSTING, DigestState.QUEUED]
    with sessions() as session:
        pending = session.scalars(select(OutboxMessage.kind).where(OutboxMessage.status == OutboxStatus.PENDING))
        assert sorted(pending) == ["digest", "digest_chart"]
