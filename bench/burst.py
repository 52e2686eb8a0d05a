"""Burst (DESIGN §10): 300 leads at once against a Slack that takes 1 message/s per channel.

A real `dibs serve` gets 300 webhook leads from 16 concurrent clients; the Slack stand-in answers
429 to a second `chat.postMessage` to a channel within a second. The clock runs from the first
POST until every lead's card has been posted (cards are found by their `L-n` in the message
text). Also reported: each lead's delay from its 201 answer to its announcement, the messages
and 429s it took, leads announced twice and leads never announced.

    python -m bench.burst [--leads 300 --rate 1.0]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm

from bench import common
from sandbox.slack_web import SlackStandIn

TOKEN = "bench-burst-token"
CHANNEL = "C0BURST"
REF = re.compile(r"\bL-(\d+)\b")


def announced(standin: SlackStandIn) -> dict[int, list[float]]:
    """Lead id -> arrival times of the accepted channel messages that carried its card."""
    seen: dict[int, list[float]] = {}
    for call in standin.calls_to("chat.postMessage"):
        if call.ok and call.args.get("channel") == CHANNEL:
            for ref in set(REF.findall(call.args.get("text", ""))):
                seen.setdefault(int(ref), []).append(call.at)
    return seen


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per channel")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    common.say(f"burst benchmark on {common.describe_machine()}")
    with (
        common.work_dir(args.work_dir) as workdir,
        common.fresh_database(args.database_url) as database_url,
        SlackStandIn() as standin,
    ):
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml(
                "burst", channel=CHANNEL, token=TOKEN, reps=["U0BURSTREP"], managers=["U0BURSTMGR"], limits={}
            )
        )
        standin.add_teams(config.read_text())
        server = common.start_dibs("dibs", database_url, config, standin.api_url, workdir)
        try:
            server.wait_healthy()
            warm = common.send_all(server.port, [common.lead_request({"name": "Warm-up"}, TOKEN)], 1, "warm-up")
            warm_id = int(json.loads(warm[0].body)["id"].removeprefix("L-"))
            while warm_id not in announced(standin):
                time.sleep(0.1)
            time.sleep(args.rate and 1 / args.rate)  # the channel's next slot is free
            standin.limit_channel_rate(args.rate)
            calls_before = len(standin.calls_to("chat.postMessage"))
            requests = [
                common.lead_request({"name": f"Burst lead {i}", "external_id": f"burst-{i}", "source": "bench"}, TOKEN)
                for i in range(args.leads)
            ]
            began = time.monotonic()
            results = common.send_all(server.port, requests, args.clients, "posting")
            posted = time.monotonic()
            answered = {
                int(json.loads(r.body)["id"].removeprefix("L-")): r.at  # lead id -> its 201
                for r in results
                if r.status == 201
            }
            common.say(
                f"{len(answered)}/{args.leads} leads taken in {posted - began:.1f} s; "
                "waiting for their announcements..."
            )
            with tqdm(total=len(answered), desc="announced", unit="lead", file=sys.stderr) as bar:
                while time.monotonic() - began < args.timeout:
                    seen = announced(standin)
                    done = sum(lead in seen for lead in answered)
                    bar.update(done - bar.n)
                    if done == len(answered):
                        break
                    time.sleep(0.2)
            seen = announced(standin)
            calls = standin.calls_to("chat.postMessage")[calls_before:]
            tracebacks = server.tracebacks()
        finally:
            server.stop()
    times = [min(seen[lead]) for lead in answered if lead in seen]
    finished = max(times) - began if len(times) == len(answered) else float("inf")
    delays = [min(seen[lead]) - at for lead, at in answered.items() if lead in seen]
    lost = args.leads - len(times)
    twice = sum(len(seen[lead]) > 1 for lead in answered if lead in seen)
    accepted = sum(c.ok for c in calls)
    common.say(f"\nBurst of {args.leads} leads, Slack limited to {args.rate:g} message/s per channel:")
    common.say(
        f"  webhook took all {len(answered)} in {posted - began:.1f} s ({len(answered) / (posted - began):.0f} leads/s)"
    )
    common.say(
        f"  all announced {finished:.1f} s after the first POST (target < 60 s): "
        f"{common.verdict(finished < 60 and lost == 0)}"
    )
    common.say(
        f"  a lead's wait from its 201 to its card: median {common.percentile(delays, 50):.1f} s, "
        f"max {max(delays, default=float('nan')):.1f} s"
    )
    common.say(
        f"  channel messages: {accepted} posted, {sum(c.rate_limited for c in calls)} answered 429; "
        f"{len(times) / max(accepted, 1):.1f} cards a message at best {10 * args.rate:g} cards/s "
        f"-> floor {args.leads / (10 * args.rate):.0f} s"
    )
    common.say(f"  lost: {lost}, announced twice: {twice}, server tracebacks: {tracebacks}")


if __name__ == "__main__":
    main()
