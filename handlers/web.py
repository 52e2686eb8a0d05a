"""HTTP routes: Slack's endpoint, probes and metrics (and, with intake, the lead webhook)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine

from handlers.edge import SLACK_PATH, ReplayCache, SlackDoor
from handlers.metrics import Metrics
from handlers.outage import OUTAGE, webhook_answer
from handlers.probes import Readiness, register_probes
from handlers.request_log import RequestLog
from infra.db import DATABASE_UNAVAILABLE


def create_web_app(
    engine: Engine,
    metrics: Metrics,
    bolt_app: App | None,
    signing_secret: str | None = None,
    readiness: Readiness | None = None,
) -> Flask:
    """The WSGI app; `bolt_app` is None in Socket Mode, where Slack does not call us over HTTP,
    and on a worker; `readiness` None serves no `/readyz` (a worker takes no traffic).

    With a signing secret, `/slack/events` is behind the SlackDoor (size, signature, replay).
    A database outage is answered, never a 500: see handlers/outage.py.
    """
    web = Flask("dibs")
    OUTAGE.watch(engine)

    if bolt_app is not None:
        slack_handler = SlackRequestHandler(bolt_app)

        @web.post(SLACK_PATH)
        def slack_events() -> Response:
            return slack_handler.handle(request)

        verifier = SignatureVerifier(signing_secret) if signing_secret else None
        # Flask's documented way to wrap its WSGI app; its annotations declare wsgi_app a method
        web.wsgi_app = SlackDoor(web.wsgi_app, verifier, ReplayCache(engine) if verifier else None)  # type: ignore[method-assign]

    register_probes(web, readiness)
    web.wsgi_app = RequestLog(web.wsgi_app)  # type: ignore[method-assign]

    @web.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), content_type=CONTENT_TYPE_LATEST)

    def database_down(error: Exception) -> tuple[Response, int, dict[str, str]]:
        OUTAGE.failed(error)
        answer, status, headers = webhook_answer()
        return jsonify(answer), status, headers

    for kind in DATABASE_UNAVAILABLE:
        web.register_error_handler(kind, database_down)
    return web
