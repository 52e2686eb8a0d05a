"""`dibs serve` end to end: Slack's signed requests, health, metrics, help and usage."""

from __future__ import annotations

import time

from handlers.metrics import Metrics
from handlers.probes import Readiness
from handlers.web import create_web_app
from infra.db import make_engine
from tests.fixtures_app import AppDriver


def test_health_is_200_with_the_database_up(dibs: AppDriver) -> None:
    response = dibs.request("GET", "/healthz")
    assert (response.status, response.json()) == (200, {"status": "ok"})


def test_readiness_is_503_when_the_database_is_unreachable_and_health_stays_200(sessions) -> None:
    unreachable = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    web = create_web_app(unreachable, Metrics(sessions), bolt_app=None, readiness=Readiness(unreachable))
    response = web.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unreachable (connection failed")
    assert web.test_client().get("/healthz").status_code == 200


def test_metrics_are_prometheus_text(dibs: AppDriver) -> None:
    response = dibs.request("GET", "/metrics")
    assert response.status == 200
    assert 'dibs_outbox_messages{status="failed"} 0.0' in response.text


def test_signed_help_lists_the_commands(dibs: AppDriver) -> None:
    at_start = len(dibs.slack.calls)
    text = dibs.reply_text("help")
    for command in (
        "/dibs claim L-n",
        "/dibs release L-n [reason]",
        "/dibs why L-n",
        "/dibs away",
        "/dibs lead add",
        "/dibs assign L-n @rep [reason]",
        "/dibs limits",
    ):
        assert command in text
    assert "(you are not one)" in text
    assert "(you are not one)" not in dibs.reply_text("help", user="U0MGR1")
    assert dibs.slack.calls[at_start:] == [], "answering a command makes no Web API call"


def test_unknown_subcommand_gets_usage(dibs: AppDriver) -> None:
    assert dibs.reply_text("frobnicate now") == (
        "I don't know `frobnicate`. Try `/dibs help` for the list of commands."
    )
    assert dibs.reply_text("claim").startswith("Name one lead, like L-42. Usage: `/dibs claim L-n`")
    assert "is not a L-number reference" in dibs.reply_text("claim D-4")


def test_unsigned_or_stale_requests_get_401(dibs: AppDriver) -> None:
    body = b"command=%2Fdibs&text=help&user_id=U0ALICE&channel_id=C0EAST"
    assert dibs.slack_request(body, signed=False).status == 401
    stale = int(time.time()) - 6 * 60
    assert dibs.slack_request(body, timestamp=stale).status == 401


def test_a_body_changed_after_signing_gets_401(dibs: AppDriver) -> None:
    from sandbox.signing import signed_headers
    from tests.fixtures_app import SIGNING_SECRET

    body = b"command=%2Fdibs&text=help&user_id=U0ALICE&channel_id=C0EAST"
    headers = signed_headers(body, SIGNING_SECRET)
    tampered = body.replace(b"help", b"mine")
    assert dibs.request("POST", "/slack/events", tampered, headers).status == 401


def test_socket_mode_keeps_health_and_intake_but_not_the_slack_endpoint(
    database_url: str, engine, slack, clock, tmp_path
) -> None:
    from app import build_runtime
    from infra.settings import Settings

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_api_url=slack.api_url,
        host="127.0.0.1",
        port=0,
    )
    runtime = build_runtime(settings)
    runtime.http.start()  # HTTP only: the socket itself needs Slack's websocket service
    try:
        driver = AppDriver(f"http://127.0.0.1:{runtime.http.port}", slack, clock, runtime)
        assert driver.request("GET", "/healthz").status == 200
        assert driver.request("POST", "/slack/events", b"x").status == 404, "Slack comes over the socket instead"
        assert driver.post_lead({"name": "x"}).status == 401, "no intake token configured"
    finally:
        runtime.http.stop()
        runtime.engine.dispose()


def test_a_bad_setting_is_one_line_without_a_traceback(tmp_path, monkeypatch, capsys) -> None:
    import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "mysql://nope/db")
    assert app.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err == "dibs: DATABASE_URL: must look like postgresql://user@host/db or sqlite:///path/to/dibs.db\n"
