"""Answer storm (issue 10, DESIGN §8): 276 Claim clicks at once against a Slack that takes 0.3 s
to answer every call. How long does a rep wait for the private answer to their click?

A real `dibs serve` with an in-process Slack stand-in: the leads are created through the webhook
and their cards posted by Dibs itself; then every call to Slack is answered 0.3 s late and 276
signed clicks (each with its own response_url) come from 32 concurrent clients, each rep clicking
a different lead. A click's wait runs from its HTTP 200 to the moment Slack received its answer
on the response_url. Also reported: answers missing or given twice, server tracebacks.

    python -m bench.answer_storm [--clicks 276 --latency 0.3 --reps 46]
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
from sandbox.slack_web import RecordedCall, SlackStandIn

TOKEN = "bench-storm-token"
CHANNEL = "C0STORM"
REF = re.compile(r"\bL-(\d+)\b")


def announced(standin: SlackStandIn) -> set[int]:
    """Leads whose card Slack took in the channel."""
    return {
        int(ref)
        for call in standin.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == CHANNEL
        for ref in REF.findall(call.args.get("text", ""))
    }


def answers(standin: SlackStandIn) -> dict[tuple[str, int], list[RecordedCall]]:
    """(user, lead) -> the response_url posts Slack took that answer that user about that lead."""
    found: dict[tuple[str, int], list[RecordedCall]] = {}
    for call in standin.calls_to("response_url"):
        if call.ok:
            for ref in set(REF.findall(call.args.get("text", ""))):
                found.setdefault((call.args["user"], int(ref)), []).append(call)
    return found


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--clicks", type=int, default=276)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds Slack takes to answer each call")
    parser.add_argument("--reps", type=int, default=46)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    common.say(f"answer storm benchmark on {common.describe_machine()}")
    reps = [f"U0STORM{i:03d}" for i in range(args.reps)]
    with (
        common.work_dir(args.work_dir) as workdir,
        common.fresh_database(args.database_url) as database_url,
        SlackStandIn() as standin,
    ):
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml(
                "storm", channel=CHANNEL, token=TOKEN, reps=reps, managers=["U0STORMMGR"], limits=common.HIGH_LIMITS
            )
        )
        standin.add_teams(config.read_text())
        server = common.start_dibs("dibs", database_url, config, standin.api_url, workdir)
        try:
            server.wait_healthy()
            requests = [
                common.lead_request({"name": f"Storm lead {i}", "external_id": f"storm-{i}"}, TOKEN)
                for i in range(args.clicks)
            ]
            created = common.send_all(server.port, requests, 8, "creating leads")
            leads = [int(json.loads(r.body)["id"].removeprefix("L-")) for r in created if r.status == 201]
            common.say(f"{len(leads)} leads created; waiting for Dibs to post their cards (10 a message, 1/s)...")
            deadline = time.monotonic() + args.timeout
            while not set(leads) <= announced(standin) and time.monotonic() < deadline:
                time.sleep(0.5)
            standin.set_latency(args.latency)
            clicks = [(reps[i % len(reps)], lead) for i, lead in enumerate(leads)]
            storm = [
                common.claim_click(user, lead, CHANNEL, response_url=standin.new_response_url(CHANNEL, user))
                for user, lead in clicks
            ]
            common.say(f"{len(storm)} clicks from {args.concurrency} clients, Slack answering in {args.latency} s...")
            began = time.monotonic()
            results = common.send_all(server.port, storm, args.concurrency, "clicking")
            clicked = time.monotonic() - began
            with tqdm(total=len(clicks), desc="answered", unit="click", file=sys.stderr) as bar:
                while time.monotonic() < began + args.timeout:
                    got = answers(standin)
                    done = sum((user, lead) in got for user, lead in clicks)
                    bar.update(done - bar.n)
                    if done == len(clicks):
                        break
                    time.sleep(0.1)
            got = answers(standin)
            tracebacks = server.tracebacks()
        finally:
            server.stop()
    waits = [
        min(call.at for call in got[(user, lead)]) - result.at
        for (user, lead), result in zip(clicks, results, strict=True)
        if (user, lead) in got
    ]
    missing = sum((user, lead) not in got for user, lead in clicks)
    twice = sum(len(got.get(click, [])) > 1 for click in clicks)
    click_times = [r.seconds for r in results]
    common.say(f"\nStorm of {len(clicks)} claim clicks, Slack answering every call in {args.latency} s:")
    common.say(
        f"  clicks answered over HTTP in {clicked:.1f} s: p50 {common.ms(common.percentile(click_times, 50))}, "
        f"max {common.ms(max(click_times))}; non-200: {sum(r.status != 200 for r in results)}"
    )
    median = common.percentile(waits, 50)
    common.say(
        f"  a rep's wait from the click's 200 to Slack receiving its answer: median {median:.2f} s "
        f"(target < 1 s: {common.verdict(median < 1)}), p90 {common.percentile(waits, 90):.2f} s, "
        f"max {max(waits, default=float('nan')):.2f} s"
    )
    common.say(f"  answers missing: {missing}, given twice: {twice}, server tracebacks: {tracebacks}")


if __name__ == "__main__":
    main()
