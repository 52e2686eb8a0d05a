"""Claims and intakes in-process (no HTTP, no bolt, no worker): SQL statements, CPU time of this
process and wall time per operation, on PostgreSQL. Statements and CPU barely depend on how busy
the machine is, so this compares two versions of the code fairly on a loaded machine: run it in
each checkout, one after the other.

    python -m bench.inproc [--leads 600]
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select
from tqdm import tqdm

from bench import common
from bench.companies import World
from bot.claiming import claim_lead
from bot.config import parse_config
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from infra.db import make_engine, session_factory
from models import Member, Team

TEAM = "inproc"
LIMITS = common.HIGH_LIMITS | {"account_hold_days": 0}


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--hold-days", type=int, default=0, help="account_hold_days (0: no account look-up on a claim)")
    parser.add_argument("--share-ratio", type=float, help="max_share_ratio (the share cap, checked on every claim)")
    parser.add_argument("--share-period", choices=("week", "month"), help="fair_share_period the share cap counts over")
    args = parser.parse_args()
    common.say(f"in-process claims and intakes on {common.describe_machine()}")
    reps = [f"U0IN{i:03d}" for i in range(50)]
    world = World(5_000)
    limits: dict[str, int | bool | float | str] = LIMITS | {"account_hold_days": args.hold_days}
    if args.share_ratio is not None:
        limits["max_share_ratio"] = args.share_ratio
    if args.share_period is not None:
        limits["fair_share_period"] = args.share_period
    toml = common.team_toml(TEAM, channel="C0IN", token="t", reps=reps, managers=["U0INMGR"], limits=limits)
    with common.fresh_database(args.database_url) as database_url:
        engine = make_engine(database_url)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            apply_config(session, parse_config(toml), datetime.now(UTC))
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)

        def timed(run: Any, items: list[Any], desc: str) -> dict[str, float]:
            walls, cpus, counts = [], [], []
            for item in tqdm(items, desc=desc, unit="op", leave=False, file=sys.stderr):
                statements[0] = 0
                wall, cpu = time.perf_counter(), time.process_time()
                run(item)
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - wall)
                counts.append(statements[0])
            return {
                "wall_p50": statistics.median(walls),
                "cpu_mean": statistics.fmean(cpus),
                "statements": statistics.fmean(counts),
            }

        lead_ids: list[int] = []

        def intake(n: int) -> None:
            with sessions.begin() as session:
                fields = world.lead_json(n, "inproc")
                team = session.get_one(Team, TEAM)
                lead_ids.append(take_lead(session, team, LeadIn(**fields), datetime.now(UTC), "bench").lead.id)

        def claim(i: int) -> None:
            with sessions.begin() as session:
                member = session.scalar(select(Member).where(Member.slack_user_id == reps[i % len(reps)]))
                assert member is not None
                claim_lead(session, member, lead_ids[i], datetime.now(UTC))

        timed(intake, list(range(50)), "warm-up intakes")
        timed(claim, list(range(50)), "warm-up claims")
        intakes = timed(intake, list(range(50, 50 + args.leads)), "intakes")
        claims = timed(claim, list(range(50, 50 + args.leads)), "claims")
        engine.dispose()
    for label, m in (("intake", intakes), ("claim", claims)):
        common.say(
            f"  {label}: {m['statements']:.1f} statements (incl. the member look-up and COMMIT for a claim), "
            f"CPU of this process {m['cpu_mean'] * 1000:.2f} ms, wall p50 {common.ms(m['wall_p50'])}"
        )


if __name__ == "__main__":
    main()
