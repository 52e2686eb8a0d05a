"""A lone outbox worker in a process of its own, for the kill -9 tests:

    DATABASE_URL=… SLACK_API_URL=… python -m tests.outbox_worker

It takes what is due once (as `dibs serve`'s worker would) and sends it, then exits; the test
kills it while Slack holds an answer back.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from slack_sdk import WebClient

from handlers.delivery import Deliverer
from handlers.metrics import Metrics
from infra.db import make_engine, session_factory


def main() -> None:
    sessions = session_factory(make_engine(os.environ["DATABASE_URL"]))
    client = WebClient(token="xoxb-test", base_url=os.environ["SLACK_API_URL"], timeout=300)
    worker = Deliverer(client, sessions, Metrics(sessions), lambda: datetime.now(UTC), channel_interval=0.0)
    worker.tick()


if __name__ == "__main__":
    main()
