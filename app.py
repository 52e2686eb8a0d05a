"""Composition root and the `dibs` command line (DESIGN §2)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from bot import ownership
from bot.config import LIMIT_KEYS, Limits, load_config, resolve_secret
from bot.digest import compute_digest
from bot.digest_post import DigestState, digest_state, queue_digest
from bot.erasure import forget, leads_with_email
from bot.errors import Clash, Conflict, DibsError, Missing, NotFound
from bot.export import Dataset, Export, Format, count_rows, start_of
from bot.export import write as write_export
from bot.intake import import_rows, read_lead_csv
from bot.outbox import Kind
from bot.replay import recorded_world
from bot.simulation import Policy, simulate, standard_policies
from bot.teams import apply_config, effective_limits, get_team, show_config
from bot.world import WorldOptions, build_world
from handlers import doctor
from handlers.away_statuses import read_away_statuses
from handlers.channels import join_team_channels
from handlers.commands import parse_ref
from handlers.crm_health import check_crm
from handlers.crm_routes import register_crm_routes
from handlers.delivery import DATABASE_CONNECTIONS, Deliverer
from handlers.digest_commands import chosen_week
from handlers.digest_view import digest_text
from handlers.draw_view import draw_check_text
from handlers.intake_routes import register_intake
from handlers.metrics import Metrics
from handlers.pipeline import Clock
from handlers.probes import Readiness
from handlers.refusals import refusal_text
from handlers.server import BackgroundLoop, HttpServer
from handlers.simulation_view import report_chart, report_json, report_table
from handlers.slack_app import SlackUnreachable, build_bolt_app, identify, utc_now
from handlers.web import create_web_app
from infra.db import (
    DATABASE_UNAVAILABLE,
    make_engine,
    migrate,
    scratch_sessions,
    session_factory,
    startup_lock,
    why_unavailable,
)
from infra.logs import REDACT, LogFormat, configure_logging
from infra.settings import Settings, load_settings
from models import Lead, OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger("dibs")


class Role(StrEnum):
    """What one `dibs serve` process does; any number of each run on one PostgreSQL."""

    WEB = "web"  # Slack's requests and the intake webhook, behind the load balancer
    WORKER = "worker"  # the outbox delivery and the scheduler; /healthz and /metrics only
    ALL = "all"  # both, in one process

    @property
    def serves_requests(self) -> bool:
        return self != Role.WORKER

    @property
    def runs_background(self) -> bool:
        return self != Role.WEB


@dataclass
class Runtime:
    """Everything `dibs serve` runs, wired together; tests build one against a stand-in Slack."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    client: WebClient
    bolt_app: App | None  # None on a worker
    metrics: Metrics
    http: HttpServer
    loops: list[BackgroundLoop] = field(default_factory=list)
    socket_mode: SocketModeHandler | None = None
    deliverer: Deliverer | None = None

    def start(self) -> None:
        """Start everything in threads (tests, the demo)."""
        self._start_background()
        self.http.start()

    def serve_forever(self) -> None:
        """Start everything, serving HTTP on this thread until SIGTERM or Ctrl-C, then stop cleanly."""
        signal.signal(signal.SIGTERM, lambda *_: self.http.stop())
        self._start_background()
        try:
            self.http.serve_forever()
        finally:
            self.stop()

    def _start_background(self) -> None:
        for loop in self.loops:
            loop.start()
        if self.settings.socket_mode and self.bolt_app is not None:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            app_token = self.settings.slack_app_token
            assert app_token is not None  # that is what socket_mode means
            # Our client, so apps.connections.open goes to SLACK_API_URL like every other call.
            self.socket_mode = SocketModeHandler(self.bolt_app, app_token.get_secret_value(), web_client=self.client)
            self.socket_mode.connect()

    def stop(self) -> None:
        self.http.stop()
        if self.socket_mode is not None:
            self.socket_mode.close()
        for loop in self.loops:
            loop.stop()
        if self.deliverer is not None:
            self.deliverer.close()  # a web's answers being sent finish
        self.engine.dispose()


def slack_client(settings: Settings) -> WebClient:
    """The one WebClient; retries connection errors (429 pacing is the outbox's job)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )


def wait_for_slack(client: WebClient, sleep: Callable[[float], None] = time.sleep) -> AuthorizeResult:
    """`identify` the bot, waiting out a Slack outage (5xx, 429, no connection) with capped backoff."""
    delay = 1.0
    while True:
        try:
            return identify(client)
        except SlackUnreachable as exc:
            log.warning("Slack unreachable (%s), retrying in %.0f s", exc, delay)
            sleep(delay)
            delay = min(delay * 2, 60.0)


BACKGROUND_CONNECTIONS = DATABASE_CONNECTIONS + 3  # the outbox worker's, the scheduler, bolt's lazy listeners, spare


def build_runtime(
    settings: Settings, *, clock: Clock = utc_now, http_threads: int = 16, role: Role = Role.ALL
) -> Runtime:
    """Migrate, apply the team config and wire the app for `role`; nothing is started yet.

    The connection pool has a connection for every server thread and background loop, so no
    request waits for one while the database is healthy. A web still sends a click's answer
    right after its transaction commits (taken as it is queued, `Deliverer.lease_new`), the
    workers' loop being the fallback.
    """
    engine = make_engine(
        settings.database_url, pool_size=http_threads + BACKGROUND_CONNECTIONS, max_overflow=BACKGROUND_CONNECTIONS
    )
    sessions = session_factory(engine)
    with startup_lock(engine):
        migrate(engine)
        if settings.dibs_config is not None:
            _apply_config_file(sessions, settings.dibs_config, clock)
    client = slack_client(settings)
    secret = None if settings.socket_mode else settings.slack_signing_secret
    metrics = Metrics(sessions, clock)
    deliverer = Deliverer(client, sessions, metrics, clock, hubspot_url=settings.hubspot_api_url)
    bolt_app = readiness = None
    if role.serves_requests:
        bolt_app = build_bolt_app(
            client,
            sessions,
            identity=wait_for_slack(client),
            signing_secret=secret.get_secret_value() if secret else None,
            clock=clock,
            answers=deliverer,
            on_refusal=lambda rule: metrics.refusals.labels(rule).inc(),
        )
        readiness = Readiness(engine, slack_verified=True)  # wait_for_slack returned: auth.test took the token
    if role.runs_background:
        for problem in join_team_channels(client, sessions):
            log.warning("%s", problem)  # start goes on: the other channels work
        for problem in read_away_statuses(client, sessions, clock):
            log.warning("%s", problem)  # start goes on: statuses are read as they change
    web = create_web_app(
        engine,
        metrics,
        None if settings.socket_mode else bolt_app,
        secret.get_secret_value() if secret else None,
        readiness=readiness,
    )
    if role.serves_requests:
        register_intake(web, sessions, metrics, clock)
        register_crm_routes(web, sessions, metrics, clock)
    http = HttpServer(web, settings.host, settings.port, threads=http_threads)
    loops = []
    if role.runs_background:
        loops = [
            BackgroundLoop("outbox", deliverer.pump, interval=0.1, on_stop=deliverer.close),
            BackgroundLoop("scheduler", lambda: metrics.run_scheduler(sessions, clock()), interval=1.0),
        ]
    return Runtime(settings, engine, sessions, client, bolt_app, metrics, http, loops, deliverer=deliverer)


def _apply_config_file(sessions: sessionmaker[Session], path: Path, clock: Clock) -> list[str]:
    config = load_config(path)
    for team in config.teams.values():
        REDACT.register(resolve_secret(team.intake_token) if team.intake_token else None)
    with sessions.begin() as session:
        return apply_config(session, config, clock())


# ---- command line -------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    settings = load_settings()
    role = Role(args.role)
    if role.serves_requests:
        settings.require_slack()
    else:
        settings.require_bot_token()
    runtime = build_runtime(settings, role=role)
    mode = "Socket Mode" if settings.socket_mode else "HTTP /slack/events"
    if not role.serves_requests:
        mode = "outbox and scheduler; /healthz and /metrics"
    log.info("dibs %s serving on %s:%s (%s)", role, settings.host, runtime.http.port, mode)
    runtime.serve_forever()
    return 0


def _database(settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions on an up-to-date schema, for commands other than `serve`."""
    engine = make_engine((settings or load_settings()).database_url)
    with startup_lock(engine):
        migrate(engine)
    return session_factory(engine)


def cmd_migrate(args: argparse.Namespace) -> int:
    _database()
    print("database is at the newest schema")
    return 0


def cmd_config_apply(args: argparse.Namespace) -> int:
    settings = load_settings()
    sessions = _database(settings)
    changes = _apply_config_file(sessions, Path(args.file), utc_now)
    print("\n".join(changes) if changes else "already applied: nothing changed")
    if settings.slack_bot_token is None:
        print("SLACK_BOT_TOKEN is not set: Dibs joins the teams' channels when `dibs serve` starts")
    else:
        for problem in join_team_channels(slack_client(settings), sessions):
            print(problem)
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    with _database()() as session:
        print(show_config(session, args.team))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    sessions = _database()
    with sessions() as session:
        get_team(session, args.team)
    rows = read_lead_csv(Path(args.file))
    with tqdm(total=len(rows), unit="row", desc=f"importing into {args.team}", file=sys.stderr) as bar:
        report = import_rows(sessions, args.team, rows, utc_now, on_row=bar.update)
    for line, problem in report.errors:
        print(f"line {line}: {problem}")
    print(report.summary())
    return 1 if report.errors else 0


def cmd_digest(args: argparse.Namespace) -> int:
    settings = load_settings()
    sessions = _database(settings)
    now = utc_now()
    with sessions() as session:
        team = get_team(session, args.team)
        year, week = chosen_week(team.timezone, now, args.week)
        digest = compute_digest(session, team.id, year, week, now)
    if args.action == "preview":
        print(digest_text(digest))
        return 0
    settings.require_bot_token()
    with sessions.begin() as session:
        state = queue_digest(session, get_team(session, args.team), year, week, now)
    if state == DigestState.POSTED:
        print(f"the digest for {args.team} {digest.label} was already posted; not posting it again")
        return 0
    client = slack_client(settings)
    deliverer = Deliverer(client, sessions, Metrics(sessions), utc_now)
    if state == DigestState.POSTING:  # queued before (another replica, an earlier send): help it along
        print(f"the digest for {args.team} {digest.label} was queued already; not queueing it again")
    delivered = deliverer.drain(lambda: _digest_state(sessions, args.team, year, week) != DigestState.POSTING)
    deliverer.close()
    if not delivered:
        raise DibsError("Slack did not take the digest within 2 minutes; `dibs serve` will keep trying")
    if _digest_state(sessions, args.team, year, week) != DigestState.POSTED:
        raise DibsError(
            f"Slack refused the digest for {args.team} {digest.label}: {_digest_error(sessions, args.team)}"
        )
    print(f"posted the digest for {args.team} {digest.label} to {team.channel}")
    return 0


def _digest_state(sessions: sessionmaker[Session], team_id: str, year: int, week: int) -> DigestState:
    with sessions() as session:
        return digest_state(session, team_id, year, week)


def _digest_error(sessions: sessionmaker[Session], team_id: str) -> str:
    """What Slack said to the team's last failed digest."""
    with sessions() as session:
        return str(
            session.scalar(
                select(OutboxMessage.last_error)
                .where(
                    OutboxMessage.team_id == team_id,
                    OutboxMessage.status == OutboxStatus.FAILED,
                    OutboxMessage.kind == Kind.DIGEST,
                )
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
        )


def cmd_export(args: argparse.Namespace) -> int:
    """Stream a team's dataset to stdout (or --output) with a progress bar on stderr."""
    sessions = _database()
    with sessions() as session:
        team = get_team(session, args.team)
        since = start_of(args.since, team.timezone) if args.since else None
        export = Export(Dataset(args.dataset), team.id, since)
        total = count_rows(session, export)
        out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        try:
            desc = f"exporting {args.dataset} of {team.id}"
            with tqdm(total=total, unit="row", desc=desc, file=sys.stderr, mininterval=0.5) as bar:
                written = write_export(session, export, Format(args.format), out, on_row=lambda: bar.update())
        finally:
            if out is not sys.stdout:
                out.close()
    print(f"{written} row(s) of {args.dataset} exported", file=sys.stderr)
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase a person's contact details: every lead with the e-mail address, or one lead."""
    sessions = _database()
    with sessions.begin() as session:
        if args.email:
            leads = leads_with_email(session, args.email)
            erased = forget(session, leads, utc_now(), "cli", also=[args.email.strip()])
        else:
            lead = session.get(Lead, args.lead, with_for_update=True)
            if lead is None:
                raise DibsError(f"no lead L-{args.lead}: check the reference (dibs export leads lists them)")
            erased = forget(session, [lead], utc_now(), "cli")
    if erased == 0:
        print(f"no lead has the e-mail address {args.email}; any other mention of it was removed")
    else:
        print(f"erased the contact details of {erased} lead(s); their cards in Slack show (removed) shortly")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check token, scopes, channels, database and deliveries; non-zero exit on any problem."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    findings = list(doctor.check_database(engine))
    sessions = session_factory(engine) if all(f.ok for f in findings) else None
    findings += doctor.check_slack(slack_client(settings), sessions)
    if sessions is not None:
        findings += doctor.check_deliveries(sessions)
        findings += check_crm(sessions, utc_now())
    engine.dispose()
    for finding in findings:
        print(finding)
    problems = sum(not f.ok for f in findings)
    print(f"{problems} problem(s) found" if problems else "all checks passed")
    return 1 if problems else 0


def cmd_verify_draw(args: argparse.Namespace) -> int:
    """Recompute a lead's fair-start draw from its published commitment, seed and entrants."""
    lead_id = parse_ref(args.lead, "L")
    with _database()() as session:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise NotFound(Missing.LEAD, ref=f"L-{lead_id}")
        check = ownership.draw_check(lead)
        if check is None:
            raise Conflict(Clash.NO_VERIFIABLE_DRAW, lead=lead.ref)
    print(draw_check_text(check))
    return 0 if check.ok else 1


class _NoSecrets(dict[str, str]):
    """Config secrets as `simulate` and `preview` see them: present, never read (no Slack, no intake)."""

    def get(self, key: str, default: object = None) -> str:
        return "unused"


def _config_limits(path: Path, team: str | None) -> tuple[str, Limits]:
    """The limits of one team of a config file (the first when `team` is None), named for the file."""
    config = load_config(path, env=_NoSecrets())
    slug = team or next(iter(config.teams))
    if slug not in config.teams:
        raise NotFound(Missing.TEAM, slug=slug, known=sorted(config.teams))
    return f"{path.name} ({slug})", config.teams[slug].limits


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else a message saying so."""

    def parse(text: str) -> int:
        if not text.isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from {low} to {high}")
        return int(text)

    return parse


def _share(text: str) -> float:
    """An argparse type: a share from 0 to 1 (`0.1`)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to 1")
    return value


def cmd_simulate(args: argparse.Namespace) -> int:
    """Play a synthetic month under each policy through the real services; compare how fair each was."""
    options = WorldOptions(reps=args.reps, days=args.days, seed=args.seed, slow_contact_share=args.slow_contact)
    world = build_world(options)
    others = tuple(_config_limits(Path(f), args.team) for f in args.config)
    policies = standard_policies(Limits(), others)
    total = len(world.leads) * len(policies)
    with tqdm(total=total, unit="lead", desc="simulating", file=sys.stderr) as bar:

        def step() -> None:
            bar.update()

        reports = simulate(world, policies, scratch_sessions, on_lead=step)
    heading = (
        f"Simulated {options.days} days, {options.reps} reps, {len(world.leads)} leads (seed {options.seed}); "
        "'dibs' is the default config"
    )
    if args.json:
        print(report_json(reports, dataclasses.asdict(options)))
    else:
        print(report_table(reports, heading))
    if args.chart:
        Path(args.chart).write_bytes(report_chart(reports, heading.split(";")[0]))
        print(f"chart written to {args.chart}", file=sys.stderr)
    return 0


def _changed(current: Limits, proposed: Limits) -> str:
    """The limits a proposed config changes, as `key: old → new`."""
    changes = [
        f"{key}: {getattr(current, key)} → {getattr(proposed, key)}"
        for key in LIMIT_KEYS
        if getattr(current, key) != getattr(proposed, key)
    ]
    return "; ".join(changes) or "no limit changes"


def cmd_preview(args: argparse.Namespace) -> int:
    """Replay the team's last weeks under its current limits and a proposed config's."""
    sessions = _database()
    name, proposed = _config_limits(Path(args.config), args.team)
    with sessions() as session:
        team = get_team(session, args.team)
        current = effective_limits(team)
        world = recorded_world(session, team, args.weeks, utc_now())
    policies = [Policy("current", current), Policy(f"proposed ({name})", proposed)]
    with tqdm(total=len(world.leads) * len(policies), unit="lead", desc="replaying", file=sys.stderr) as bar:

        def step() -> None:
            bar.update()

        reports = simulate(world, policies, scratch_sessions, on_lead=step)
    heading = (
        f"{args.team}: the last {args.weeks} complete week(s), {len(world.leads)} leads, replayed under "
        f"the current limits and {name} ({_changed(current, proposed)})"
    )
    print(report_table(reports, heading))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from sandbox.demo import run_demo  # the stand-in is loaded only for the demo

    return run_demo(Path(args.out), build_runtime)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, such as 2026-11-01"
        ) from None


def _lead_ref(text: str) -> int:
    if not re.fullmatch(r"[Ll]-[0-9]{1,10}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a lead reference: write it as L-42")
    return int(text.strip()[2:])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dibs", description="Hands sales leads to reps fairly.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "serve Slack, the intake webhook, probes and metrics; deliver and run timers")
    serve.add_argument(
        "--role",
        choices=[role.value for role in Role],
        default=Role.ALL.value,
        help="web: HTTP only; worker: outbox delivery and scheduler (with /healthz, /metrics); all: both",
    )
    add("migrate", cmd_migrate, "bring the database schema up to date")
    config = commands.add_parser("config", help="apply or show the team config")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    apply_parser = config_commands.add_parser("apply", help="apply a team config file (idempotent)")
    apply_parser.add_argument("file")
    apply_parser.set_defaults(handler=cmd_config_apply)
    show_parser = config_commands.add_parser("show", help="show the teams as configured now")
    show_parser.add_argument("--team")
    show_parser.set_defaults(handler=cmd_config_show)
    importer = add("import", cmd_import, "import leads from a CSV file (same rules as the webhook)")
    importer.add_argument("file")
    importer.add_argument("--team", required=True)
    digest = add("digest", cmd_digest, "preview or send a team's weekly fairness digest")
    digest.add_argument("action", choices=["preview", "send"])
    digest.add_argument("--team", required=True)
    digest.add_argument("--week", help="ISO week such as 2026-W47 (default: the last complete week)")
    exporter = add("export", cmd_export, "export a team's leads, claims, disputes or audit trail as CSV or JSON lines")
    exporter.add_argument("dataset", choices=[d.value for d in Dataset])
    exporter.add_argument("--team", required=True)
    exporter.add_argument(
        "--since", type=_day, help="a date such as 2026-11-01 (from midnight in the team's time zone)"
    )
    exporter.add_argument("--format", choices=[f.value for f in Format], default=Format.CSV.value)
    exporter.add_argument("--output", help="a file to write (default: standard output)")
    forgetter = add("forget", cmd_forget, "erase a person's contact details from leads, audit trail and Slack cards")
    person = forgetter.add_mutually_exclusive_group(required=True)
    person.add_argument("--email", help="every lead with this e-mail address")
    person.add_argument("--lead", type=_lead_ref, help="one lead, such as L-42")
    add("doctor", cmd_doctor, "check token, scopes, channels, database and deliveries; one line per problem")
    verify = add("verify-draw", cmd_verify_draw, "recompute a lead's fair-start draw from what was published")
    verify.add_argument("lead", help="the lead, like L-42")
    sim = add("simulate", cmd_simulate, "compare first click, rotation and Dibs on a simulated month")
    sim.add_argument("--reps", type=_count(1, 5000), default=WorldOptions.reps, help="reps in the team (default 20)")
    sim.add_argument("--days", type=_count(1, 366), default=WorldOptions.days, help="days simulated (default 28)")
    sim.add_argument(
        "--seed", type=_count(0, 2**63), default=WorldOptions.seed, help="the world's random seed (default 1)"
    )
    sim.add_argument(
        "--slow-contact",
        type=_share,
        default=WorldOptions.slow_contact_share,
        help="share of reps who often miss the contact SLA (default 0.1)",
    )
    sim.add_argument("--config", action="append", default=[], help="also simulate this config file's limits")
    sim.add_argument("--team", help="which team of --config (default: its first)")
    sim.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sim.add_argument("--chart", help="write a PNG chart of each rep's ratio to this file")
    preview = add("preview", cmd_preview, "replay a team's last weeks under a proposed config, beside the current")
    preview.add_argument("--config", required=True, help="the proposed config file")
    preview.add_argument("--team", required=True)
    preview.add_argument("--weeks", type=_count(1, 26), default=4, help="complete weeks replayed (default 4)")
    demo = add("demo", cmd_demo, "play a week of a team against a local Slack stand-in")
    demo.add_argument("--out", default="demo-out", help="where to write the demo's files")
    return parser


def _log_format() -> LogFormat:
    """LOG_FORMAT, or text while the settings are wrong (the command then says what is)."""
    try:
        return load_settings().log_format
    except DibsError:
        return "text"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dibs` console script; every expected failure (settings, config, an
    unreachable database, a port in use) prints one line, no traceback."""
    configure_logging(_log_format())
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except DibsError as exc:
        print(f"dibs: {refusal_text(exc)}", file=sys.stderr)
        return 2
    except DATABASE_UNAVAILABLE as exc:
        print(f"dibs: cannot use the database ({why_unavailable(exc)}); check DATABASE_URL", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
