"""HTTP routes: Slack's endpoint, health and metrics (and, with intake, the lead webhook)."""

from __future__ import annotations

from flask import Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from sqlalchemy import Engine

from bot.db import database_reachable
from handlers.metrics import Metrics


def create_web_app(engine: Engine, metrics: Metrics, bolt_app: App | None) -> Flask:
    """The WSGI app; `bolt_app` is None in Socket Mode, where Slack does not call us over HTTP."""
    web = Flask("dibs")

    if bolt_app is not None:
        slack_handler = SlackRequestHandler(bolt_app)

        @web.post("/slack/events")
        def slack_events() -> Response:
            return slack_handler.handle(request)

    @web.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        if database_reachable(engine):
            return {"status": "ok"}, 200
        return {"status": "database unreachable"}, 503

    @web.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), content_type=CONTENT_TYPE_LATEST)

    return web
