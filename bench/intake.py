"""Intake at scale (DESIGN §10): webhook leads into a table of 1,000,000 against one of 10,000.

A real `dibs serve` takes `POST /api/leads` from several concurrent clients. The baseline batch
goes into a table of `--small` leads; then the table is bulk-loaded (generate_series) up to
`--large` leads of the same synthetic companies, and the measured batch follows. Per-lead cost
is wall time / leads at the same concurrency; the ratio large/small should stay ≤ 1.5.

    python -m bench.intake [--large 1000000 --batch 10000 --clients 8]
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, select, text
from tqdm import tqdm

from bench import common, sql_floor
from bench.companies import BULK_LEADS_SQL, World
from infra.db import make_engine
from models import Member

TOKEN = "bench-intake-token"
REPS = [f"U0INTAKE{i:03d}" for i in range(20)]
CHUNK = 50_000


def bulk_load(engine: Engine, world: World, first: int, last: int) -> None:
    """Leads `first`..`last` (history, each with its claim) in chunks, then VACUUM ANALYZE."""
    with engine.connect() as connection:
        members = list(connection.scalars(select(Member.id).where(Member.team_id == "intake", Member.role == "rep")))
        now = datetime.now(UTC)
        with tqdm(total=last - first + 1, desc="bulk load", unit="lead", file=sys.stderr) as bar:
            for low in range(first, last + 1, CHUNK):
                high = min(low + CHUNK - 1, last)
                connection.exec_driver_sql("SET synchronous_commit = off")
                connection.exec_driver_sql("SET statement_timeout = 0")  # a chunk may take longer on a busy machine
                connection.execute(
                    text(BULK_LEADS_SQL),
                    {
                        "first": low,
                        "last": high,
                        "accounts": len(world.accounts),
                        "team": "intake",
                        "now": now,
                        "member_ids": members,
                    },
                )
                connection.commit()
                bar.update(high - low + 1)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in ("leads", "claims"):
            connection.exec_driver_sql(f"VACUUM ANALYZE {table}")


def lead_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM leads"))


def post_batch(
    servers: list[common.Server],
    world: World,
    numbers: range,
    clients: int,
    desc: str,
    cpu: common.CpuMeter | None = None,
) -> dict:
    """The leads spread over the servers in turn (replicas behind a load balancer); with `cpu`,
    the CPU each process used per lead while they were taken."""
    requests = [
        replace(common.lead_request(world.lead_json(n, "wh"), TOKEN), port=servers[n % len(servers)].port)
        for n in numbers
    ]
    before = cpu.read() if cpu else {}
    began = time.perf_counter()
    results = common.send_all(servers[0].port, requests, clients, desc)
    wall = time.perf_counter() - began
    after = cpu.read() if cpu else {}
    created = [json.loads(r.body) for r in results if r.status == 201]
    latencies = [r.seconds for r in results]
    return {
        "leads": len(requests),
        "created": len(created),
        "errors": len(requests) - len(created),
        "wall": wall,
        "rate": len(created) / wall,
        "per_lead": wall / len(requests),
        "p50": common.percentile(latencies, 50),
        "p99": common.percentile(latencies, 99),
        "overlaps": sum(len(c.get("overlaps", [])) + c.get("more_overlaps", 0) for c in created) / max(len(created), 1),
        "cpu": common.CpuMeter.per_item(before, after, len(requests)) if cpu else "not measured",
    }


# How many rows the overlap look-up reads for a lead: those sharing an indexed key (domain, name,
# phone, or first word with territory), at most 200 counted, for a sample of the batch's leads.
CANDIDATES_SQL = """
SELECT avg(c), max(c) FROM (
    SELECT (SELECT count(*) FROM (
        SELECT 1 FROM leads o WHERE o.team_id = l.team_id AND o.id <> l.id
          AND (o.account_domain = l.account_domain OR o.account_name = l.account_name
               OR (o.name_block = l.name_block AND lower(o.territory) = lower(l.territory))
               OR o.phone_key = l.phone_key) LIMIT 200) AS x) AS c
    FROM leads l WHERE l.external_id LIKE :prefix ORDER BY l.id LIMIT 500) AS sample
"""


def candidates(engine: Engine, first: int) -> tuple[float, int]:
    with engine.connect() as connection:
        mean, most = connection.execute(text(CANDIDATES_SQL), {"prefix": f"wh-{str(first)[:2]}%"}).one()
    return float(mean), int(most)


def report(label: str, table: int, m: dict) -> None:
    common.say(
        f"  {label}: table {table:,} leads -> {m['created']:,}/{m['leads']:,} created in "
        f"{m['wall']:.1f} s = {m['rate']:.0f} leads/s, {m['per_lead'] * 1000:.2f} ms/lead wall, "
        f"request p50 {common.ms(m['p50'])} p99 {common.ms(m['p99'])}, "
        f"{m['overlaps']:.2f} overlaps/lead, overlap candidates read {m['candidates'][0]:.0f}/lead "
        f"(max {m['candidates'][1]}), {m['errors']} errors"
    )
    floor = m["floor"]
    common.say(
        f"    SQL floor of an intake at this size (plain psycopg, c=1): p50 {common.ms(floor.p50)} "
        f"p99 {common.ms(floor.p99)}; request p50 / floor p50 = {m['p50'] / floor.p50:.1f}x; "
        f"floor throughput at c=1 {1 / floor.p50:.0f} leads/s; its CPU per intake {floor.cpu}"
    )
    common.say(f"    CPU per lead while they were taken: {m['cpu']}")


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--small", type=int, default=10_000, help="table size for the baseline batch")
    parser.add_argument("--large", type=int, default=1_000_000, help="table size for the measured batch")
    parser.add_argument("--baseline-batch", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=10_000, help="webhook leads into the large table")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--accounts", type=int, default=300_000, help="companies in the world")
    parser.add_argument("--replicas", type=int, default=1, help="dibs serve processes, leads spread over them")
    parser.add_argument("--sql-floor", type=int, default=300, help="intakes in each SQL floor measurement")
    args = parser.parse_args()
    common.say(f"intake benchmark on {common.describe_machine()}")
    world = World(args.accounts)
    with common.work_dir(args.work_dir) as workdir, common.fresh_database(args.database_url) as database_url:
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml("intake", channel="C0INTAKE", token=TOKEN, reps=REPS, managers=["U0INTAKEMGR"], limits={})
        )
        standin = common.StandInProcess(workdir, config)
        servers, processes = common.start_cluster(
            args.topology, args.replicas, database_url, config, standin.api_url, workdir
        )
        engine = make_engine(database_url)
        try:
            for server in processes:
                server.wait_healthy()
            cpu = common.CpuMeter({s.name: s.process.pid for s in processes} | {"stand-in": standin.process.pid})
            with engine.connect() as connection:
                world.copy_to(connection)
                connection.commit()
            bulk_load(engine, world, 1, args.small)
            post_batch(servers, world, range(5_000_000, 5_000_200), args.clients, "warm-up")
            small_table = lead_count(engine)
            common.say(f"baseline batch of {args.baseline_batch:,} into {small_table:,} leads...")
            small = post_batch(
                servers, world, range(6_000_000, 6_000_000 + args.baseline_batch), args.clients, "baseline", cpu
            )
            small["candidates"] = candidates(engine, 6_000_000)
            small["floor"] = sql_floor.intake_floor(database_url, "intake", "C0INTAKE", args.sql_floor)
            have = lead_count(engine)
            common.say(f"bulk-loading the table from {have:,} to {args.large:,} leads...")
            bulk_load(engine, world, args.small + 1, args.small + args.large - have)
            large_table = lead_count(engine)
            common.say(f"measured batch of {args.batch:,} into {large_table:,} leads...")
            large = post_batch(servers, world, range(7_000_000, 7_000_000 + args.batch), args.clients, "measured", cpu)
            large["candidates"] = candidates(engine, 7_000_000)
            large["floor"] = sql_floor.intake_floor(database_url, "intake", "C0INTAKE", args.sql_floor)
            tracebacks = sum(server.tracebacks() for server in processes)
        finally:
            for server in processes:
                server.stop()
            standin.stop()
            engine.dispose()
        ratio = large["per_lead"] / small["per_lead"]
        common.say(f"\nIntake, {args.clients} concurrent clients, {args.replicas} dibs serve process(es):")
        report("baseline", small_table, small)
        report("measured", large_table, large)
        common.say(
            f"  throughput at {large_table:,}: {large['rate']:.0f} leads/s (target >= 200): "
            f"{common.verdict(large['rate'] >= 200)}"
        )
        common.say(
            f"  per-lead cost ratio {large_table:,} / {small_table:,} = {ratio:.2f}x "
            f"(target <= 1.5x): {common.verdict(ratio <= 1.5)}"
        )
        common.say(f"  server tracebacks: {tracebacks}")


if __name__ == "__main__":
    main()
