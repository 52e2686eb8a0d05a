"""`dibs export` memory: the peak Python heap (tracemalloc) exporting 10,000 and then 100,000
audit rows as CSV; constant memory means the ratio stays near 1, not near 10.

    .venv/bin/python -m bench.export_memory            # 10k vs 100k rows   (~1 min)
    .venv/bin/python -m bench.export_memory --rows 1000000   # the large run of docs/operations.md
"""

from __future__ import annotations

import io
import sys
import time
import tracemalloc
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import arg_parser, describe_machine, fresh_database, say, team_toml
from bot.config import parse_config
from bot.export import Dataset, Export, Format, write
from bot.teams import apply_config
from infra.db import make_engine, session_factory
from models import AuditEvent

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ROW = {"team_id": "bench", "at": NOW, "actor": "dibs", "action": "bench.row", "details": {"lead": "L-1", "x": "y" * 60}}


class Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def fill_to(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        have = connection.scalar(select(func.count()).select_from(AuditEvent)) or 0
        while have < rows:
            batch = min(10_000, rows - have)
            connection.execute(insert(AuditEvent), [ROW] * batch)
            have += batch
            print(f"\r  {have:,} audit rows", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def peak(sessions: sessionmaker[Session]) -> tuple[int, int, float]:
    tracemalloc.start()
    started = time.monotonic()
    with sessions() as session:
        written = write(session, Export(Dataset.AUDIT, "bench"), Format.CSV, Discard())
    elapsed = time.monotonic() - started
    high = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return written, high, elapsed


def main() -> None:
    parser = arg_parser(__doc__ or "")
    parser.add_argument("--rows", type=int, default=100_000, help="the large run (the small one is a tenth)")
    args = parser.parse_args()
    say(describe_machine())
    with fresh_database(args.database_url) as url:
        engine = make_engine(url)
        sessions = session_factory(engine)
        toml = team_toml("bench", channel="C0BENCH", token="bench-token", reps=["U0REP"], managers=["U0MGR"], limits={})
        with sessions.begin() as session:
            apply_config(session, parse_config(toml), NOW)
        results = []
        for rows in (args.rows // 10, args.rows):
            fill_to(engine, rows)
            results.append(peak(sessions))
            written, high, elapsed = results[-1]
            say(f"{written:>9,} rows: peak {high / 1e6:6.2f} MB traced, {elapsed:5.1f} s")
        engine.dispose()
    ratio = results[1][1] / results[0][1]
    say(f"peak memory ratio, {args.rows:,} rows to {args.rows // 10:,}: {ratio:.2f} (constant: near 1, target < 1.5)")


if __name__ == "__main__":
    main()
