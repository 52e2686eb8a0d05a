"""The latency a rep feels (issue 11): from the Claim click to the moment Slack receives the
private answer (on the click's response_url) and the card update (`chat.update` of the channel
message showing the rep as owner), p50/p99 at concurrency 1 and 32.

A real `dibs serve` (its outbox worker and scheduler running) with the strict Slack stand-in in
this process, answering at once; the leads are created through the webhook and their cards
posted by Dibs itself (10 a message, 1 message a second per channel), then every rep clicks a
different lead. Times are taken on one monotonic clock: the click's start at the client, the
stand-in's arrival time of each call.

    python -m bench.felt [--clicks-1 100 --clicks-32 320]
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

TOKEN = "bench-felt-token"
CHANNEL = "C0FELT"
REF = re.compile(r"\bL-(\d+)\b")
LIMITS = common.HIGH_LIMITS | {"account_hold_days": 0}


def announced(standin: SlackStandIn) -> set[int]:
    return {
        int(ref)
        for call in standin.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == CHANNEL
        for ref in REF.findall(call.args.get("text", ""))
    }


def first_seen(standin: SlackStandIn, clicks: list[tuple[str, int]], since: float) -> tuple[dict, dict]:
    """(user, lead) -> arrival of its first answer; lead -> arrival of the first card update naming its owner."""
    answers: dict[tuple[str, int], float] = {}
    for call in standin.calls_to("response_url"):
        if call.ok and call.at >= since:
            for ref in set(REF.findall(call.args.get("text", ""))):
                key = (call.args["user"], int(ref))
                answers[key] = min(answers.get(key, call.at), call.at)
    owner_of = {lead: user for user, lead in clicks}
    updates: dict[int, float] = {}
    for call in standin.calls_to("chat.update"):
        if not call.ok or call.at < since:
            continue
        blocks = json.dumps(call.args.get("blocks", ""))
        for ref in set(REF.findall(call.args.get("text", ""))):
            lead = int(ref)
            if lead in owner_of and f"<@{owner_of[lead]}>" in blocks and lead not in updates:
                updates[lead] = call.at
    return answers, updates


def measure(server: common.Server, standin: SlackStandIn, clicks: list[tuple[str, int]], concurrency: int) -> dict:
    requests = [
        common.claim_click(user, lead, CHANNEL, response_url=standin.new_response_url(CHANNEL, user))
        for user, lead in clicks
    ]
    since = time.monotonic()
    results = common.send_all(server.port, requests, concurrency, f"clicking c={concurrency}")
    with tqdm(total=len(clicks), desc="answered and updated", unit="click", file=sys.stderr, leave=False) as bar:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answers, updates = first_seen(standin, clicks, since)
            done = sum((user, lead) in answers and lead in updates for user, lead in clicks)
            bar.update(done - bar.n)
            if done == len(clicks):
                break
            time.sleep(0.2)
    answer_waits, update_waits = [], []
    for (user, lead), result in zip(clicks, results, strict=True):
        began = result.at - result.seconds
        if (user, lead) in answers:
            answer_waits.append(answers[(user, lead)] - began)
        if lead in updates:
            update_waits.append(updates[lead] - began)
    http = [r.seconds for r in results]
    return {
        "n": len(clicks),
        "http": (common.percentile(http, 50), common.percentile(http, 99)),
        "answer": (common.percentile(answer_waits, 50), common.percentile(answer_waits, 99)),
        "update": (common.percentile(update_waits, 50), common.percentile(update_waits, 99)),
        "missing": (len(clicks) - len(answer_waits), len(clicks) - len(update_waits)),
    }


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--clicks-1", type=int, default=100)
    parser.add_argument("--clicks-32", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--reps", type=int, default=64)
    args = parser.parse_args()
    common.say(f"felt latency benchmark on {common.describe_machine()}")
    reps = [f"U0FELT{i:03d}" for i in range(args.reps)]
    total = args.clicks_1 + args.clicks_32
    with (
        common.work_dir(args.work_dir) as workdir,
        common.fresh_database(args.database_url) as database_url,
        SlackStandIn() as standin,
    ):
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml("felt", channel=CHANNEL, token=TOKEN, reps=reps, managers=["U0FELTMGR"], limits=LIMITS)
        )
        standin.add_teams(config.read_text())
        (server,), processes = common.start_cluster(args.topology, 1, database_url, config, standin.api_url, workdir)
        try:
            for process in processes:
                process.wait_healthy()
            requests = [
                common.lead_request({"name": f"Felt lead {i}", "external_id": f"felt-{i}"}, TOKEN) for i in range(total)
            ]
            created = common.send_all(server.port, requests, 8, "creating leads")
            leads = [int(json.loads(r.body)["id"].removeprefix("L-")) for r in created if r.status == 201]
            common.say(f"{len(leads)} leads; waiting for Dibs to post their cards (10 a message, 1/s)...")
            with tqdm(total=len(leads), desc="cards posted", unit="card", file=sys.stderr, leave=False) as bar:
                while not set(leads) <= (seen := announced(standin)):
                    bar.update(len(seen & set(leads)) - bar.n)
                    time.sleep(0.5)
            results = {}
            for concurrency, batch in ((1, leads[: args.clicks_1]), (args.concurrency, leads[args.clicks_1 :])):
                clicks = [(reps[i % len(reps)], lead) for i, lead in enumerate(batch)]
                common.say(f"{len(clicks)} clicks at concurrency {concurrency}...")
                results[concurrency] = measure(server, standin, clicks, concurrency)
            tracebacks = sum(process.tracebacks() for process in processes)
        finally:
            for process in processes:
                process.stop()
    common.say("\nThe wait a rep feels, from the click to Slack receiving (p50 / p99):")
    for concurrency, m in results.items():
        common.say(
            f"  c={concurrency:>2}, {m['n']} clicks: HTTP 200 {common.ms(m['http'][0])} / {common.ms(m['http'][1])} | "
            f"private answer {common.ms(m['answer'][0])} / {common.ms(m['answer'][1])} | "
            f"card update {common.ms(m['update'][0])} / {common.ms(m['update'][1])} | "
            f"missing answers {m['missing'][0]}, updates {m['missing'][1]}"
        )
    c1 = results[1]["answer"][0]
    common.say(f"  answer p50 at c=1 under 150 ms: {common.verdict(c1 < 0.150)}; server tracebacks: {tracebacks}")


if __name__ == "__main__":
    main()
