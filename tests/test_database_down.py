"""Database trouble at the edge (issue 10): with the database down or stalled, every request
gets an answer quickly (Slack a 'try again', the webhook a JSON 503), and the log says so once."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing

import pytest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy import Engine, QueuePool, text

from handlers.intake_routes import register_intake
from handlers.metrics import Metrics
from handlers.outage import DATABASE_DOWN_TEXT, OUTAGE
from handlers.probes import Readiness
from handlers.server import BackgroundLoop, HttpServer
from handlers.slack_app import build_bolt_app
from handlers.web import create_web_app
from infra.db import make_engine, session_factory, startup_lock
from sandbox.clock import SteppingClock
from sandbox.signing import event_body, view_submission_body
from sandbox.slack_web import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET, AppDriver


def serve(engine: Engine, slack: SlackStandIn, clock: SteppingClock) -> HttpServer:
    """Dibs's HTTP side wired to `engine` (no migration: the database is not there)."""
    sessions = session_factory(engine)
    identity = AuthorizeResult(enterprise_id=None, team_id="T0DIBSTEST", bot_user_id="U0BOT", bot_token="xoxb-test")
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    bolt_app = build_bolt_app(client, sessions, identity=identity, signing_secret=SIGNING_SECRET, clock=clock)
    metrics = Metrics(sessions)
    web = create_web_app(engine, metrics, bolt_app, SIGNING_SECRET, readiness=Readiness(engine, slack_verified=True))
    register_intake(web, sessions, metrics, clock)
    server = HttpServer(web, "127.0.0.1", 0, threads=4)
    server.start()
    return server


@pytest.fixture
def down(slack: SlackStandIn, clock: SteppingClock) -> Iterator[AppDriver]:
    """Dibs whose PostgreSQL refuses connections (nothing listens on its port)."""
    engine = make_engine("postgresql://postgres@127.0.0.1:1/dibs")
    server = serve(engine, slack, clock)
    try:
        # no Runtime: only the HTTP side is served, around a dead database
        yield AppDriver(f"http://127.0.0.1:{server.port}", slack, clock, runtime=None)  # type: ignore[arg-type]
    finally:
        server.stop()
        engine.dispose()


@pytest.fixture
def fresh_outage_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    OUTAGE.recovered()  # end any outage an earlier test left behind
    caplog.clear()
    caplog.set_level(logging.INFO)
    return caplog


def test_every_request_gets_an_answer_and_the_log_one_line(
    down: AppDriver, fresh_outage_log: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        command = down.command("mine")
        assert (command.status, command.json()) == (200, {"response_type": "ephemeral", "text": DATABASE_DOWN_TEXT})

    form = {"name": {"value": {"type": "plain_text_input", "value": "Jane"}}}
    submitted = down.slack_request(
        view_submission_body("U0ALICE", "lead_add", form, trigger_id=down.slack.new_trigger_id())
    )
    assert submitted.json() == {"response_action": "errors", "errors": {"name": DATABASE_DOWN_TEXT}}

    home = event_body({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}, event_id="Ev0DOWN")
    assert down.slack_request(home, content_type="application/json").status == 200  # through bolt's listener

    lead = down.post_lead({"name": "Jane"})
    assert (lead.status, lead.json()) == (503, {"errors": {"database": "unreachable; retry in 60 s"}})
    assert urllib_headers(down, "/api/leads")["Retry-After"] == "60"

    started = time.monotonic()
    assert down.request("GET", "/healthz").status == 200, "alive: restarting would not bring the database back"
    assert down.request("GET", "/readyz").status == 503
    metrics = down.request("GET", "/metrics")
    assert (metrics.status, "dibs_database_up 0.0" in metrics.text) == (200, True)
    assert time.monotonic() - started < 2

    records = fresh_outage_log.records
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == [
        'database unreachable (connection failed: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused); answering 'try again in a minute' until it is back"
    ]
    assert not [r for r in records if r.exc_info], "no traceback"


def urllib_headers(driver: AppDriver, path: str) -> dict[str, str]:
    request = urllib.request.Request(driver.base_url + path, data=b'{"name": "Jane"}', method="POST")
    request.add_header("Authorization", "Bearer east-token-123")
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as err:
        return dict(err.headers)
    raise AssertionError("expected an error status")


def test_background_loops_log_an_outage_once(fresh_outage_log: pytest.LogCaptureFixture) -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1:1/dibs")

    def tick() -> bool:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    loop = BackgroundLoop("outbox", tick, interval=0.02)
    loop.start()
    time.sleep(0.5)
    loop.stop()
    engine.dispose()
    messages = [r.getMessage() for r in fresh_outage_log.records]
    assert len(messages) == 1 and messages[0].startswith("database unreachable"), messages
    assert not [r for r in fresh_outage_log.records if r.exc_info]


def test_a_stalled_database_cannot_hold_health_checks(slack: SlackStandIn, clock: SteppingClock) -> None:
    """A server that takes the connection and never answers (packets held, process stopped)."""
    with closing(socket.socket()) as stalled:
        stalled.bind(("127.0.0.1", 0))
        stalled.listen(16)  # the kernel completes handshakes; nobody ever reads or answers
        engine = make_engine(f"postgresql://postgres@127.0.0.1:{stalled.getsockname()[1]}/dibs")
        server = serve(engine, slack, clock)
        try:
            # no Runtime: only the HTTP side is served, around a dead database
            driver = AppDriver(f"http://127.0.0.1:{server.port}", slack, clock, runtime=None)  # type: ignore[arg-type]
            started = time.monotonic()
            assert driver.request("GET", "/readyz").status == 503
            assert driver.command("mine").json()["text"] == DATABASE_DOWN_TEXT
            assert time.monotonic() - started < 10
        finally:
            server.stop()
            engine.dispose()


def test_postgresql_connections_carry_a_statement_timeout(pg_engine: Engine) -> None:
    with startup_lock(pg_engine):  # the advisory lock may wait as long as it takes ...
        pass
    with pg_engine.connect() as connection:  # ... but ordinary work may not
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "10s"


def test_the_pool_has_a_connection_for_every_server_thread(dibs: AppDriver) -> None:
    pool = dibs.runtime.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.size() >= 16 + 2, "16 waitress threads and two background loops"
    assert pool.timeout() <= 2, "a request waits at most 2 s for a connection"
    assert json.loads(dibs.request("GET", "/readyz").body)["status"] == "ready"
