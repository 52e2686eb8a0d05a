"""Claim click latency (DESIGN §10): signed `block_actions` claims against a real `dibs serve`,
beside the framework floor (the same waitress/Flask/bolt stack with a listener that only acks).

Every click is a real claim: each goes to a different open lead, reps take turns, and the team's
limits are high enough that none is refused. The floor gets the very same requests. Latency is
measured at the client, from writing the request to reading the whole answer.

    python -m bench.claim_click [--clicks-1 300 --clicks-32 2000]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text

from bench import common, sql_floor
from bench.companies import World
from infra.db import make_engine

TOKEN = "bench-click-token"
CHANNEL = "C0CLICK"
# No account holds, so two leads of one company never turn a click into a dispute (the
# overlap look-up itself still runs on every claim).
LIMITS = common.HIGH_LIMITS | {"account_hold_days": 0}


def create_leads(port: int, world: World, count: int) -> list[int]:
    requests = [common.lead_request(world.lead_json(n, "click"), TOKEN) for n in range(count)]
    results = common.send_all(port, requests, 8, "creating leads")
    bad = [r for r in results if r.status != 201]
    if bad:
        raise SystemExit(f"{len(bad)} leads were not created: {bad[0].body[:300]!r}")
    return [int(json.loads(r.body)["id"].removeprefix("L-")) for r in results]


def settle_announcements(engine: Engine) -> None:
    """Steady state: the cards are in the channel (10 a message), so clicks update real messages.
    (Posting 10 cards a second would take minutes; this is what the worker would have done.)"""
    with engine.begin() as connection:
        connection.execute(text("UPDATE lead_cards SET ts = '1700000000.' || lpad((id / 10)::text, 6, '0')"))
        connection.execute(
            text(
                "UPDATE outbox_messages SET status = 'sent', sent_at = now() "
                "WHERE kind = 'announce_lead' AND status = 'pending'"
            )
        )


def wait_outbox_drained(engine: Engine, timeout: float = 120.0) -> None:
    """Let the worker finish the previous phase's replies and card updates before the next."""
    deadline = time.monotonic() + timeout
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            pending = connection.scalar(
                text(
                    "SELECT count(*) FROM outbox_messages "
                    "WHERE status = 'pending' AND available_at <= now() + interval '5 seconds'"
                )
            )
            connection.commit()
            if not pending:
                return
            time.sleep(0.5)
    common.say(f"  (outbox still had {pending} due messages after {timeout:.0f} s; going on)")


def active_claims(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM claims WHERE status = 'active'"))


def measure(
    servers: list[common.Server],
    clicks: list[tuple[str, int]],
    concurrency: int,
    label: str,
    cpu: common.CpuMeter | None = None,
) -> dict:
    """The clicks spread over the servers in turn (replicas behind a load balancer); with `cpu`,
    the CPU each process used while they were answered, per click."""
    requests = [
        common.claim_click(user, lead, CHANNEL, servers[i % len(servers)].port) for i, (user, lead) in enumerate(clicks)
    ]
    before = cpu.read() if cpu else {}
    results = common.send_all(servers[0].port, requests, concurrency, label)
    used = common.CpuMeter.per_item(before, cpu.read(), len(results)) if cpu else ""
    latencies = [r.seconds for r in results]
    return {
        "cpu": used,
        "n": len(results),
        "errors": sum(r.status != 200 for r in results),
        "p50": common.percentile(latencies, 50),
        "p99": common.percentile(latencies, 99),
        "max": max(latencies),
    }


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--clicks-1", type=int, default=300, help="clicks at concurrency 1")
    parser.add_argument("--clicks-32", type=int, default=2000, help="clicks at concurrency 32")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--sql-floor", type=int, default=300, help="claims in each SQL floor measurement")
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="dibs serve processes (and as many floor processes), clicks spread over them",
    )
    args = parser.parse_args()
    common.say(f"claim click benchmark on {common.describe_machine()}")
    reps = [f"U0CLICK{i:03d}" for i in range(args.reps)]
    world = World(50_000)
    with common.work_dir(args.work_dir) as workdir, common.fresh_database(args.database_url) as database_url:
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml("click", channel=CHANNEL, token=TOKEN, reps=reps, managers=["U0CLICKMGR"], limits=LIMITS)
        )
        standin = common.StandInProcess(workdir, config)
        dibs, processes = common.start_cluster(
            args.topology, args.replicas, database_url, config, standin.api_url, workdir
        )
        floor = [common.start_floor(workdir, database_url, f"floor-{i}") for i in range(args.replicas)]
        engine = make_engine(database_url)
        try:
            for server in processes + floor:
                server.wait_healthy()
            cpu = common.CpuMeter({s.name: s.process.pid for s in processes} | {"stand-in": standin.process.pid})
            total = args.warm_up + args.clicks_1 + args.clicks_32
            common.say(f"creating {total:,} open leads through the webhook...")
            leads = iter(create_leads(dibs[0].port, world, total))
            settle_announcements(engine)
            wait_outbox_drained(engine)

            def clicks(count: int) -> list[tuple[str, int]]:
                return [(reps[i % len(reps)], next(leads)) for i in range(count)]

            common.say(f"warming up {args.replicas} dibs and {args.replicas} floor server(s)...")
            warm = clicks(args.warm_up)
            measure(floor, warm, 1, "floor warm-up")
            measure(dibs, warm, 1, "dibs warm-up")
            wait_outbox_drained(engine)
            common.say("the SQL floor of a claim (plain psycopg, one transaction)...")
            sql = [sql_floor.claim_floor(database_url, "click", CHANNEL, args.sql_floor)]
            results = {}
            for concurrency, count in ((1, args.clicks_1), (args.concurrency, args.clicks_32)):
                batch = clicks(count)
                common.say(f"{count:,} clicks at concurrency {concurrency}...")
                results[concurrency] = (
                    measure(floor, batch, concurrency, f"floor c={concurrency}"),
                    measure(dibs, batch, concurrency, f"dibs c={concurrency}", cpu),
                )
                wait_outbox_drained(engine)
            sql.append(sql_floor.claim_floor(database_url, "click", CHANNEL, args.sql_floor))
            owned = active_claims(engine) - 2 * args.sql_floor
            tracebacks = sum(server.tracebacks() for server in processes)
        finally:
            for server in processes + floor:
                server.stop()
            standin.stop()
            engine.dispose()
    common.say(
        f"\nClaim click, signed block_actions over HTTP (client-side latency), {args.replicas} server process(es) each"
        f" (topology {args.topology}):"
    )
    sql_p50 = min(floor.p50 for floor in sql)
    common.say(
        "  SQL floor of a claim (plain psycopg, c=1, before and after): "
        + ", ".join(f"p50 {common.ms(f.p50)} p99 {common.ms(f.p99)}" for f in sql)
    )
    common.say(f"    CPU per SQL floor claim (no HTTP, no Slack call): {sql[-1].cpu}")
    for concurrency, (low, real) in results.items():
        floor = low["p50"] + sql_p50
        ratio = real["p50"] / floor
        target = 2 if concurrency == 1 else 3
        common.say(
            f"  concurrency {concurrency:>2}: bolt floor p50 {common.ms(low['p50'])} p99 {common.ms(low['p99'])} | "
            f"dibs p50 {common.ms(real['p50'])} p99 {common.ms(real['p99'])} max {common.ms(real['max'])} "
            f"| p50 / (bolt + SQL floor {common.ms(floor)}) {ratio:.2f}x "
            f"(bolt alone {real['p50'] / low['p50']:.1f}x) | errors floor {low['errors']} dibs {real['errors']}"
        )
        common.say(
            f"    p50 within {target}x (bolt + SQL) floor: {common.verdict(ratio <= target)}; "
            f"p99 under 250 ms: {common.verdict(real['p99'] < 0.250)}; "
            f"max under 3 s: {common.verdict(real['max'] < 3)}"
        )
        common.say(f"    CPU per click while they were answered: {real['cpu']}")
    expected = args.warm_up + args.clicks_1 + args.clicks_32
    common.say(f"  clicks that became owning claims: {owned:,} of {expected:,}; server tracebacks: {tracebacks}")


if __name__ == "__main__":
    main()
