"""The Slack stand-in (sandbox.slack_web) in a process of its own; prints its API URL.

python -m bench.standin --config teams.toml [--channel-rate 1.0]
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.slack_web import SlackStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="team config: its channels and people")
    parser.add_argument("--channel-rate", type=float, help="chat.postMessage per second per channel")
    args = parser.parse_args()
    standin = SlackStandIn().start()
    standin.add_teams(args.config.read_text(encoding="utf-8"))
    if args.channel_rate:
        standin.limit_channel_rate(args.channel_rate)
    print(standin.api_url, flush=True)
    threading.Event().wait()  # until terminated


if __name__ == "__main__":
    main()
