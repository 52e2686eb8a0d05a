"""Race (DESIGN §10): 50 simultaneous claims on one lead over 2 `dibs serve` processes.

Each round announces a fresh lead and releases 50 signed claim clicks at the same moment,
alternating between the two servers. A round passes when every click is answered 200, exactly
one claim owns the lead, and every rep gets their private answer (one "yours", the rest told
who holds it, or with `--contest-window` that they joined the lead's dispute). Neither server
may log a traceback.

    python -m bench.race [--rounds 5 --clicks 50]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench import common
from infra.db import make_engine
from sandbox.slack_web import SlackStandIn

TOKEN = "bench-race-token"
CHANNEL = "C0RACE"


def answers_about(standin: SlackStandIn, lead_id: int, expected: int, timeout: float = 60) -> dict[str, str]:
    """Each rep's private answer about the lead, waiting for all of them (or the timeout)."""
    ref = re.compile(rf"\bL-{lead_id}\b")
    deadline = time.monotonic() + timeout
    while True:
        found = {
            c.args["user"]: c.args.get("text", "")
            for c in standin.calls_to("response_url")
            if c.ok and ref.search(c.args.get("text", ""))
        }
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def new_lead(port: int, number: int) -> int:
    """A lead of its own account (no account overlap with earlier rounds' owners)."""
    fields = {"name": f"Everyone wants this {number}", "external_id": f"race-{number}"}
    answer = common.send_all(port, [common.lead_request(fields, TOKEN)], 1, "lead")[0]
    if answer.status != 201:
        raise SystemExit(f"the lead was not created: {answer.status} {answer.body[:300]!r}")
    return int(json.loads(answer.body)["id"].removeprefix("L-"))


def main() -> None:
    parser = common.arg_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument(
        "--contest-window",
        type=int,
        default=0,
        help="minutes; above 0 the late clicks open (and join) one dispute instead of being told who holds the lead",
    )
    args = parser.parse_args()
    common.say(f"race benchmark on {common.describe_machine()}")
    reps = [f"U0RACE{i:03d}" for i in range(args.clicks)]
    failures: list[str] = []
    latencies: list[float] = []
    with (
        common.work_dir(args.work_dir) as workdir,
        common.fresh_database(args.database_url) as database_url,
        SlackStandIn() as standin,
    ):
        config = workdir / "teams.toml"
        config.write_text(
            common.team_toml(
                "race",
                channel=CHANNEL,
                token=TOKEN,
                reps=reps,
                managers=["U0RACEMGR"],
                limits=common.HIGH_LIMITS | {"contest_window_minutes": args.contest_window},
            )
        )
        standin.add_teams(config.read_text())
        servers, processes = common.start_cluster(args.topology, 2, database_url, config, standin.api_url, workdir)
        engine = make_engine(database_url)
        try:
            for server in processes:
                server.wait_healthy()
            common.say(f"two dibs serve processes on ports {servers[0].port} and {servers[1].port}")
            common.say("warm-up: a few clicks on each server (first requests open connections)")
            for round_no in range(args.rounds + 1):
                lead_id = new_lead(servers[0].port, round_no)
                clicks = [
                    common.claim_click(
                        rep, lead_id, CHANNEL, servers[i % 2].port, standin.new_response_url(CHANNEL, rep)
                    )
                    for i, rep in enumerate(reps if round_no else reps[:4])
                ]
                results = common.send_all(
                    servers[0].port, clicks, len(clicks), f"round {round_no}", start_together=True
                )
                if round_no == 0:
                    continue
                latencies += [r.seconds for r in results]
                with engine.connect() as connection:
                    owners = connection.scalars(
                        text(
                            "SELECT m.slack_user_id FROM claims c JOIN members m ON m.id = c.member_id "
                            "WHERE c.lead_id = :lead AND c.status IN ('active', 'won', 'lost')"
                        ),
                        {"lead": lead_id},
                    ).all()
                answers = answers_about(standin, lead_id, len(reps))
                winner_told = len(owners) == 1 and "yours" in answers.get(owners[0], "")
                errors = [r for r in results if r.status != 200]
                problems = []
                if errors:
                    problems.append(f"{len(errors)} clicks answered {sorted({r.status for r in errors})}")
                if len(owners) != 1:
                    problems.append(f"{len(owners)} owners")
                if len(answers) != len(reps):
                    problems.append(f"{len(reps) - len(answers)} reps got no answer")
                if not winner_told:
                    problems.append("the winner was not told the lead is theirs")
                common.say(
                    f"  round {round_no}: L-{lead_id}, {len(results)} clicks over 2 servers -> "
                    f"{len(owners)} owner ({', '.join(owners)}), {len(errors)} errors, "
                    f"{len(answers)}/{len(reps)} answered" + (f"  PROBLEMS: {'; '.join(problems)}" if problems else "")
                )
                failures += [f"round {round_no}: {p}" for p in problems]
            tracebacks = {s.name: s.tracebacks() for s in processes}
        finally:
            for server in processes:
                server.stop()
            engine.dispose()
    if any(tracebacks.values()):
        failures.append(f"server tracebacks: {tracebacks}")
    common.say(
        f"\nRace: {args.rounds} rounds of {args.clicks} simultaneous clicks over 2 processes; "
        f"click latency p50 {common.ms(common.percentile(latencies, 50))}, "
        f"max {common.ms(max(latencies))}"
    )
    common.say(
        "  VERDICT: one owner per lead, zero errors"
        if not failures
        else "  VERDICT: FAILED\n    " + "\n    ".join(failures)
    )


if __name__ == "__main__":
    main()
