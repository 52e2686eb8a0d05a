"""Weekly digest at scale (DESIGN §10): a 200-rep team with 1,000,000 historical claims.

The measured week and the week before it are loaded first and `compute_digest` is timed with
only those (~10,000 historical claims: the baseline). Then older weeks are bulk-loaded until the
history holds `--history-claims` claims, and the same week is timed again. Last, the week's own
rows are doubled and timed once more: the cost should follow the week, not the history.

Every week holds leads, their claims and credit (won, lost, active, auto-assigned, expired),
resolved disputes, cap-hit and lead audit events, like a real team's.

    python -m bench.digest [--history-claims 1000000 --week-leads 10000]
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, select, text
from tqdm import tqdm

from bench import common
from bot.config import parse_config
from bot.digest import compute_digest
from bot.fairness import iso_week_bounds, week_containing
from bot.teams import apply_config
from infra.db import make_engine, session_factory
from models import Member

TEAM = "digest"
TZ = "America/New_York"
REPS = [f"U0DIG{i:03d}" for i in range(200)]

# One week of a team: leads :first..:last spread over [:start, :start + 7 days), one owning claim
# each with 100 % credit; statuses, how and contact times vary with the id.
WEEK_SQL = """
WITH g AS (
    SELECT n, CAST(:start AS timestamptz)
              + make_interval(secs => (n - :first) * 604800.0 / (:last - :first + 1)) AS created
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
), leads_in AS (
    INSERT INTO leads (team_id, external_id, name, tags, source, score, status, created_at, announced_at)
    SELECT CAST(:team AS varchar), 'h-' || n, 'Lead ' || n, '[]', (ARRAY['webform', 'csv', 'event', NULL])[n % 4 + 1],
           CASE WHEN n % 7 = 0 THEN NULL ELSE n % 101 END,
           CASE n % 10 WHEN 0 THEN 'won' WHEN 1 THEN 'lost' WHEN 2 THEN 'lost' ELSE 'claimed' END,
           created, created
    FROM g
    RETURNING id, status, created_at, score
), claims_in AS (
    INSERT INTO claims (lead_id, member_id, status, how, hot, over_limit, requested_at, started_at,
                        contacted_at, ended_at, amount)
    SELECT id, (CAST(:members AS int[]))[id::bigint * 7919 % cardinality(CAST(:members AS int[])) + 1],
           CASE status WHEN 'claimed' THEN 'active' ELSE status END,
           CASE WHEN id % 5 = 0 THEN 'auto' WHEN id % 11 = 0 THEN 'assign' ELSE 'claim' END,
           coalesce(score, 0) >= 80, false, created_at + interval '1 minute', created_at + interval '1 minute',
           CASE WHEN id % 6 <> 0 THEN created_at + (id % 240 + 2) * interval '1 minute' END,
           CASE WHEN status IN ('won', 'lost') THEN created_at + interval '3 days' END,
           CASE WHEN status = 'won' THEN id % 50000 END
    FROM leads_in
    RETURNING lead_id, member_id, started_at
), audit_in AS (
    INSERT INTO audit_events (team_id, at, actor, action, lead_id, details)
    SELECT CAST(:team AS varchar), started_at, 'webhook', 'lead.created', lead_id, '{}' FROM claims_in
)
INSERT INTO credit_shares (lead_id, member_id, percent, created_at)
SELECT lead_id, member_id, 100, started_at FROM claims_in
"""

# Extras on the week's leads: an expired earlier claim on 1 in 20, a cap hit on 1 in 50, and a
# resolved dispute (two parties) on 1 in 97.
EXTRAS_SQL = [
    """INSERT INTO claims (lead_id, member_id, status, how, hot, over_limit, requested_at, started_at, ended_at)
       SELECT l.id, (CAST(:members AS int[]))[(l.id + 1) % cardinality(CAST(:members AS int[])) + 1], 'expired',
              'claim', false, false, l.created_at, l.created_at, l.created_at + interval '2 hours'
       FROM leads l WHERE l.team_id = CAST(:team AS varchar)
         AND l.created_at >= :start AND l.created_at < :end AND l.id % 20 = 0""",
    """INSERT INTO audit_events (team_id, at, actor, action, lead_id, details)
       SELECT CAST(:team AS varchar), l.created_at, 'U0X', 'claim.refused_limit', l.id,
              json_build_object('member_id', (CAST(:members AS int[]))[l.id % 37 + 1], 'reason', 'limit')
       FROM leads l WHERE l.team_id = CAST(:team AS varchar)
         AND l.created_at >= :start AND l.created_at < :end AND l.id % 50 = 0""",
    """WITH d AS (
           INSERT INTO disputes (team_id, lead_id, kind, status, opened_at, resolved_at, outcome)
           SELECT CAST(:team AS varchar), l.id, 'same_lead', 'resolved', l.created_at + interval '5 minutes',
                  l.created_at + interval '1 day', CASE WHEN l.id % 2 = 0 THEN 'award' ELSE 'split' END
           FROM leads l WHERE l.team_id = CAST(:team AS varchar)
             AND l.created_at >= :start AND l.created_at < :end AND l.id % 97 = 0
           RETURNING id, lead_id, opened_at
       )
       INSERT INTO dispute_parties (dispute_id, member_id, claimed_at)
       SELECT d.id,
              (CAST(:members AS int[]))[(d.lead_id::bigint * 7919 + k) % cardinality(CAST(:members AS int[])) + 1],
              d.opened_at
       FROM d CROSS JOIN generate_series(0, 1) AS k""",
]


class Loader:
    def __init__(self, engine: Engine, members: list[int], week_leads: int):
        self.engine, self.members, self.week_leads = engine, members, week_leads
        self.next_id = 1

    def week(self, start: datetime, leads: int | None = None) -> None:
        count = leads or self.week_leads
        params = {
            "team": TEAM,
            "members": self.members,
            "start": start,
            "end": start + timedelta(days=7),
            "first": self.next_id,
            "last": self.next_id + count - 1,
        }
        self.next_id += count
        with self.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.execute(text(WEEK_SQL), params)
            for statement in EXTRAS_SQL:
                connection.execute(text(statement), params)

    def claims(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM claims"))

    def analyze(self) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")


def time_digest(engine: Engine, year: int, week: int, now: datetime, runs: int) -> tuple[float, float]:
    """(first run, median of the following runs) in seconds, each in a fresh session."""
    sessions = session_factory(engine)
    times = []
    for _ in range(runs + 1):
        with sessions() as session:
            began = time.perf_counter()
            digest = compute_digest(session, TEAM, year, week, now)
            times.append(time.perf_counter() - began)
    assert len(digest.reps) == len(REPS) and digest.leads.total > 0, "the digest saw the week"
    return times[0], statistics.median(times[1:])


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--history-claims", type=int, default=1_000_000)
    parser.add_argument("--week-leads", type=int, default=10_000, help="leads in each week")
    parser.add_argument("--runs", type=int, default=7, help="timed runs after the first")
    args = parser.parse_args()
    common.say(f"digest benchmark on {common.describe_machine()}")
    now = datetime.now(UTC)
    year, week = week_containing(TZ, now - timedelta(days=7))  # the last complete week
    start, end = iso_week_bounds(TZ, year, week)
    digest_now = end + timedelta(hours=1)
    with common.fresh_database(args.database_url) as database_url:
        engine = make_engine(database_url)
        config = parse_config(
            common.team_toml(
                TEAM,
                channel="C0DIGEST",
                token="t",
                reps=REPS,
                managers=["U0DIGMGR1", "U0DIGMGR2"],
                limits={},
                timezone=TZ,
            )
        )
        sessions = session_factory(engine)
        with sessions.begin() as session:
            apply_config(session, config, start - timedelta(days=7 * 200))
        with sessions() as session:
            members = list(session.scalars(select(Member.id).where(Member.role == "rep").order_by(Member.id)))
        loader = Loader(engine, members, args.week_leads)
        loader.week(start)
        loader.week(start - timedelta(days=7))
        loader.analyze()
        week_claims = loader.claims() // 2  # the measured week and the one before hold as many
        base_history = loader.claims() - week_claims
        common.say(
            f"week {year}-W{week:02d}: {args.week_leads:,} leads, {week_claims:,} claims; "
            f"history before it {base_history:,} claims"
        )
        base = time_digest(engine, year, week, digest_now, args.runs)
        weeks_back = 2
        with tqdm(
            total=args.history_claims, initial=base_history, desc="history", unit="claim", file=sys.stderr
        ) as bar:
            while (claims := loader.claims()) - week_claims < args.history_claims:
                loader.week(start - timedelta(days=7 * weeks_back))
                weeks_back += 1
                bar.update(loader.claims() - claims)
        loader.analyze()
        history = loader.claims() - week_claims
        common.say(f"history before the week now {history:,} claims over {weeks_back - 1} weeks")
        full = time_digest(engine, year, week, digest_now, args.runs)
        loader.week(start, args.week_leads)  # as many rows again in the measured week
        loader.analyze()
        double = time_digest(engine, year, week, digest_now, args.runs)
        engine.dispose()
    common.say(
        f"\nDigest of {year}-W{week:02d}, 200 reps, {args.week_leads:,} leads in the week "
        f"(median of {args.runs} runs; first run in brackets):"
    )
    common.say(f"  history {base_history:>9,} claims: {common.ms(base[1])} ({common.ms(base[0])})  <- baseline")
    common.say(
        f"  history {history:>9,} claims: {common.ms(full[1])} ({common.ms(full[0])})  "
        f"= {full[1] / base[1]:.2f}x the baseline"
    )
    common.say(
        f"  week rows doubled:         {common.ms(double[1])} ({common.ms(double[0])})  = {double[1] / full[1]:.2f}x"
    )
    common.say(
        f"  under 2 s with {history:,} claims: {common.verdict(max(full) < 2.0)}; "
        f"grows with history: {full[1] / base[1]:.2f}x for {history / base_history:.0f}x the claims"
    )


if __name__ == "__main__":
    main()
