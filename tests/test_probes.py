"""Probes (issue 15): `/healthz` says the process answers; `/readyz` says whether a load balancer
should send it traffic: the database answers, its schema is the newest, Slack took the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import Role
from handlers.metrics import Metrics
from handlers.probes import Readiness
from handlers.web import create_web_app
from infra.db import make_engine, migrate, newest_revision, session_factory
from sandbox.clock import SteppingClock
from sandbox.slack_web import SlackStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver, eventually, running_dibs, runtime_settings
from tests.tcp_proxy import CuttableProxy


def ready(driver: AppDriver) -> int:
    return driver.request("GET", "/readyz").status


def test_readiness_is_503_while_the_database_is_away_and_200_once_it_is_back(
    pg_url: str, slack: SlackStandIn, clock: SteppingClock, tmp_path: Path
) -> None:
    real = make_url(pg_url)
    proxy = CuttableProxy((real.host or "127.0.0.1", real.port or 5432))
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with running_dibs(runtime_settings(proxied, slack, config), slack, clock) as dibs:
            answer = dibs.request("GET", "/readyz")
            assert (answer.status, answer.json()) == (
                200,
                {"status": "ready", "checks": {"database": "ok", "schema": "ok", "slack": "ok"}},
            )

            proxy.cut()
            answer = dibs.request("GET", "/readyz")
            assert answer.status == 503
            assert answer.json()["status"] == "not ready"
            assert answer.json()["checks"]["database"].startswith("unreachable")
            assert dibs.request("GET", "/healthz").status == 200, "alive all along"

            proxy.restore()
            assert eventually(lambda: ready(dibs) == 200, timeout=10)
    finally:
        proxy.close()


def test_a_schema_behind_the_newest_revision_is_not_ready(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dibs.db'}")
    migrate(engine)
    web = create_web_app(engine, Metrics(session_factory(engine)), bolt_app=None, readiness=Readiness(engine))
    assert web.test_client().get("/readyz").status_code == 200
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'an0lder0rev0'"))
    answer = web.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["schema"] == f"at an0lder0rev0, newest is {newest_revision()}: run dibs migrate"
    engine.dispose()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "teams.toml"
    path.write_text(TEAM_TOML)
    return path


def test_a_worker_serves_health_and_metrics_only_and_runs_the_loops(
    pg_url: str, slack: SlackStandIn, clock: SteppingClock, config: Path
) -> None:
    with running_dibs(runtime_settings(pg_url, slack, config), slack, clock, Role.WORKER) as worker:
        assert worker.request("GET", "/healthz").status == 200
        assert worker.request("GET", "/metrics").status == 200
        for path in ("/readyz", "/slack/events", "/api/leads"):
            assert worker.request("POST" if path != "/readyz" else "GET", path).status in (404, 405), path
        assert {loop.name for loop in worker.runtime.loops} == {"outbox", "scheduler"}
        assert worker.runtime.bolt_app is None


def test_a_web_serves_requests_and_runs_no_loops(
    pg_url: str, slack: SlackStandIn, clock: SteppingClock, config: Path
) -> None:
    with running_dibs(runtime_settings(pg_url, slack, config), slack, clock, Role.WEB) as web:
        assert ready(web) == 200
        assert web.post_lead({"name": "Jane Doe"}).status == 201
        assert web.runtime.loops == []
