"""The SQL floor of a claim and of an intake (issue 11): the least a database must do for each,
in plain psycopg on Dibs's own schema, no ORM, no HTTP, no Slack.

- A claim: one transaction that locks the lead, reads the rep's member row locked, counts every
  limit in one aggregate, inserts the claim (active), marks the lead claimed, credits the rep,
  queues the card refresh and the private answer, records the audit event, and commits.
- An intake: one transaction that inserts the lead (`ON CONFLICT DO NOTHING` on its external id),
  reads the account's other leads by their indexed keys, records the audit event, inserts the
  card, queues its announcement, and commits.

Each is timed on its own connection, one after another, so the figure is a round-trip floor that
the benchmarks put beside the bolt floor (`bench/floor_server.py`) in the same run. Used by
`bench.claim_click` and `bench.intake`; `python -m bench.sql_floor` measures both alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import make_url
from tqdm import tqdm

from bench import common
from bot.config import parse_config
from bot.teams import apply_config
from infra.db import make_engine, session_factory

_NEW_LEADS = """
INSERT INTO leads (team_id, external_id, name, tags, status, created_at, announced_at, account_key,
                   account_domain, account_name, name_block, territory)
SELECT %(team)s, %(prefix)s || n, 'Floor lead ' || n, '[]', 'open', now(), now(), 'floor' || n || '.com',
       'floor' || n || '.com', 'floor ' || n, 'floor', 'NY'
FROM generate_series(1, %(count)s) AS n
RETURNING id
"""

_LIMITS = """
SELECT count(*) FILTER (WHERE lead_id = %(lead)s AND status = 'pending'),
       count(*) FILTER (WHERE status IN ('pending', 'active')),
       count(*) FILTER (WHERE requested_at >= %(day)s),
       count(*) FILTER (WHERE requested_at >= %(day)s AND hot),
       count(*) FILTER (WHERE requested_at >= %(week)s),
       count(*) FILTER (WHERE requested_at >= %(month)s),
       max(ended_at) FILTER (WHERE lead_id = %(lead)s AND status = 'expired')
FROM claims
WHERE member_id = %(member)s AND (requested_at >= %(month)s OR status IN ('pending', 'active') OR lead_id = %(lead)s)
"""

_OUTBOX = """
INSERT INTO outbox_messages (team_id, kind, channel, lead_id, payload, status, attempts, created_at, available_at)
VALUES (%(team)s, %(kind)s, %(channel)s, %(lead)s, %(payload)s, 'sent', 0, now(), now())
"""


@dataclass(frozen=True)
class Floor:
    p50: float
    p99: float
    cpu: str  # the CPU the floor transaction cost PostgreSQL and this client, per transaction


def _dsn(database_url: str) -> str:
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _first(row: tuple[Any, ...] | None) -> Any:
    assert row is not None, "the statement returns a row"
    return row[0]


def _timed(count: int, desc: str, run: Callable[[int], None]) -> Floor:
    seconds = []
    meter = common.CpuMeter({})
    before = meter.read()
    for i in tqdm(range(count), desc=desc, unit="tx", leave=False, file=sys.stderr):
        began = time.perf_counter()
        run(i)
        seconds.append(time.perf_counter() - began)
    cpu = common.CpuMeter.per_item(before, meter.read(), count)
    return Floor(common.percentile(seconds, 50), common.percentile(seconds, 99), cpu)


def claim_floor(database_url: str, team: str, channel: str, count: int = 300) -> Floor:
    """p50/p99 of the claim transaction over `count` fresh open leads of `team`, by its first rep."""
    with psycopg.connect(_dsn(database_url)) as connection:
        member = _first(
            connection.execute(
                "SELECT id FROM members WHERE team_id = %s AND role = 'rep' ORDER BY id LIMIT 1", (team,)
            ).fetchone()
        )
        leads = [
            row[0]
            for row in connection.execute(
                _NEW_LEADS, {"team": team, "prefix": f"floor-c{time.time_ns()}-", "count": count}
            )
        ]
        connection.execute(
            "INSERT INTO lead_cards (lead_id, channel, ts, created_at) SELECT unnest(%s::int[]), %s, '1.0', now()",
            (leads, channel),
        )
        connection.commit()

        def claim(i: int) -> None:
            lead = leads[i]
            with connection.transaction():
                connection.execute("SELECT id, status FROM leads WHERE id = %s FOR UPDATE", (lead,))
                connection.execute("SELECT id, active FROM members WHERE id = %s FOR UPDATE", (member,))
                connection.execute(
                    _LIMITS,
                    {"lead": lead, "member": member, "day": "2026-01-01", "week": "2026-01-01", "month": "2026-01-01"},
                )
                connection.execute(
                    "INSERT INTO claims (lead_id, member_id, status, how, hot, over_limit, requested_at, started_at) "
                    "VALUES (%s, %s, 'active', 'claim', false, false, now(), now())",
                    (lead, member),
                )
                connection.execute("UPDATE leads SET status = 'claimed' WHERE id = %s", (lead,))
                connection.execute(
                    "INSERT INTO credit_shares (lead_id, member_id, percent, created_at) VALUES (%s, %s, 100, now())",
                    (lead, member),
                )
                connection.execute("SELECT id FROM lead_cards WHERE lead_id = %s AND retired_at IS NULL", (lead,))
                for kind in ("refresh_card", "respond"):
                    connection.execute(
                        _OUTBOX, {"team": team, "kind": kind, "channel": channel, "lead": lead, "payload": "{}"}
                    )
                connection.execute(
                    "INSERT INTO audit_events (team_id, at, actor, action, lead_id, details) "
                    "VALUES (%s, now(), 'floor', 'lead.owned', %s, '{}')",
                    (team, lead),
                )

        return _timed(count, "SQL floor: claims", claim)


def intake_floor(database_url: str, team: str, channel: str, count: int = 300) -> Floor:
    """p50/p99 of the intake transaction for `count` new leads of `team` (the table as it is)."""
    with psycopg.connect(_dsn(database_url)) as connection:
        stamp = time.time_ns()

        def intake(i: int) -> None:
            domain = f"floor-intake-{stamp}-{i}.com"
            with connection.transaction():
                lead = _first(
                    connection.execute(
                        "INSERT INTO leads (team_id, external_id, name, tags, status, created_at, announced_at, "
                        "account_key, account_domain, account_name, name_block, territory) "
                        "VALUES (%s, %s, 'Floor', '[]', 'open', now(), now(), %s, %s, %s, %s, 'NY') "
                        "ON CONFLICT (team_id, external_id) DO NOTHING RETURNING id",
                        (team, f"floor-i-{stamp}-{i}", domain, domain, f"floor intake {i}", "floor"),
                    ).fetchone()
                )
                connection.execute(
                    "SELECT id, account_domain, account_name, phone_key, territory FROM leads "
                    "WHERE team_id = %s AND id <> %s AND (account_domain = %s OR account_name = %s) "
                    "ORDER BY id DESC LIMIT 1000",
                    (team, lead, domain, f"floor intake {i}"),
                ).fetchall()
                connection.execute(
                    "INSERT INTO audit_events (team_id, at, actor, action, lead_id, details) "
                    "VALUES (%s, now(), 'floor', 'lead.created', %s, '{}')",
                    (team, lead),
                )
                card = _first(
                    connection.execute(
                        "INSERT INTO lead_cards (lead_id, channel, created_at) VALUES (%s, %s, now()) RETURNING id",
                        (lead, channel),
                    ).fetchone()
                )
                connection.execute(
                    _OUTBOX,
                    {
                        "team": team,
                        "kind": "announce_lead",
                        "channel": channel,
                        "lead": lead,
                        "payload": f'{{"card_id": {card}}}',
                    },
                )

        return _timed(count, "SQL floor: intakes", intake)


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    common.say(f"SQL floor on {common.describe_machine()}")
    with common.fresh_database(args.database_url) as database_url:
        toml = common.team_toml(
            "floor", channel="C0FLOOR", token="t", reps=["U0FLOOR1"], managers=["U0FM"], limits=common.HIGH_LIMITS
        )
        engine = make_engine(database_url)
        with session_factory(engine).begin() as session:
            apply_config(session, parse_config(toml), datetime.now(UTC))
        engine.dispose()
        claim = claim_floor(database_url, "floor", "C0FLOOR", args.count)
        intake = intake_floor(database_url, "floor", "C0FLOOR", args.count)
    common.say(f"SQL floor of a claim: p50 {common.ms(claim.p50)} p99 {common.ms(claim.p99)}")
    common.say(f"SQL floor of an intake: p50 {common.ms(intake.p50)} p99 {common.ms(intake.p99)}")


if __name__ == "__main__":
    main()
