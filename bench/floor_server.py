"""The framework floor for the claim benchmark: Dibs's own server stack with a listener that only acks.

Same bolt `App` options as `handlers.slack_app.build_bolt_app` (signature checks, fixed
authorization, `process_before_response`), the same Flask app (`handlers.web.create_web_app`)
and the same waitress server (`handlers.server.HttpServer`, 16 threads). Nothing touches the
database on the click path, so the difference to `dibs serve` is Dibs's own work.

    python -m bench.floor_server --port 3001 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_bolt import Ack, App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

from bench.common import BOT_TOKEN, SIGNING_SECRET
from handlers.metrics import Metrics
from handlers.server import HttpServer
from handlers.views import CLAIM_ACTION
from handlers.web import create_web_app
from infra.db import make_engine, session_factory


def floor_app() -> App:
    identity = AuthorizeResult(
        enterprise_id=None, team_id="T0DIBSTEST", bot_user_id="U0DIBSBOT", bot_id="B0DIBSBOT", bot_token=BOT_TOKEN
    )
    app = App(
        client=WebClient(),
        authorize=lambda: identity,
        signing_secret=SIGNING_SECRET,
        request_verification_enabled=True,
        process_before_response=True,
    )

    @app.action(CLAIM_ACTION)
    def no_op(ack: Ack) -> None:
        ack()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True, help="only for /healthz, as in dibs serve")
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    web = create_web_app(engine, Metrics(session_factory(engine)), floor_app())
    HttpServer(web, "127.0.0.1", args.port, threads=16).serve_forever()


if __name__ == "__main__":
    main()
