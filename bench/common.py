"""Shared pieces of the benchmarks: databases, servers, signed Slack requests, load and statistics.

Every benchmark prints its numbers as ratios to a baseline measured in the same run and never
asserts a timing; the targets of DESIGN §10 are printed beside the numbers for the reader.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tqdm import tqdm

from infra.db import make_engine, migrate, normalize_database_url
from sandbox.signing import block_actions_body, signed_headers

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/dibs_bench")
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"

__all__ = ["block_actions_body", "signed_headers"]


TOPOLOGIES = ("split", "all")


def say(message: str) -> None:
    print(message, flush=True)


def arg_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="PostgreSQL URL; its database is created, migrated and dropped "
        "(default: $BENCH_DATABASE_URL or %(default)s)",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="keep server logs and config here (default: a temporary directory)"
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="split",
        help="split: web processes plus one worker process, as the Procfile runs Dibs; "
        "all: each process serves requests and runs the outbox and scheduler (default: %(default)s)",
    )
    return parser


@contextmanager
def work_dir(chosen: Path | None) -> Iterator[Path]:
    """Where configs and server logs go: `--work-dir` (kept) or a temporary directory."""
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="dibs-bench-") as tmp:
        yield Path(tmp)


def describe_machine() -> str:
    """Cores, Python and the load average: other work on the machine skews every number."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}, load average {load}"


# ---- databases ------------------------------------------------------------------------------


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """Create the URL's database anew, migrate it, yield its URL, and drop it afterwards."""
    target = make_url(normalize_database_url(url))
    if target.get_backend_name() != "postgresql":
        raise SystemExit("the benchmarks need PostgreSQL (DESIGN §10)")
    name = target.database
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    drop()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        version = connection.scalar(text("SHOW server_version"))
    rendered = target.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    migrate(engine)
    engine.dispose()
    say(f"database {name} created and migrated (PostgreSQL {version})")
    try:
        yield rendered
    finally:
        drop()
        admin.dispose()
        say(f"database {name} dropped")


def team_toml(
    slug: str,
    *,
    channel: str,
    token: str,
    reps: Sequence[str],
    managers: Sequence[str],
    limits: Mapping[str, int | bool | float | str],
    timezone: str = "UTC",
) -> str:
    """A team config file (DESIGN §3) for one team."""
    rep_list = ", ".join(f'{{ id = "{uid}" }}' for uid in reps)
    limit_lines = "\n".join(f"{key} = {_toml_value(value)}" for key, value in limits.items())
    return (
        f'[teams.{slug}]\nname = "Bench {slug}"\nchannel = "{channel}"\ntimezone = "{timezone}"\n'
        f'intake_token = "{token}"\nmanagers = [{", ".join(json.dumps(m) for m in managers)}]\n'
        f"reps = [{rep_list}]\n\n[teams.{slug}.limits]\n{limit_lines}\n"
    )


def _toml_value(value: int | bool | float | str) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, str) else str(value)


HIGH_LIMITS: dict[str, int | bool] = {
    "max_active_claims": 1000,
    "max_claims_per_day": 10000,
    "max_hot_claims_per_day": 10000,
    "fair_start_seconds": 0,
    "contest_window_minutes": 0,
}


# ---- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server in its own process (so its GIL is not the load generator's), logging to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path, port: int):
        self.name, self.port = name, port
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, env=env, cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 90.0) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def tracebacks(self) -> int:
        self._log.flush()
        return self.log_path.read_text(errors="replace").count("Traceback")


def _python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SLACK_APP_TOKEN", None)
    return env


def start_dibs(
    name: str, database_url: str, config: Path, slack_api_url: str, workdir: Path, role: str = "all"
) -> Server:
    """A real `dibs serve --role ROLE` (waitress + bolt + PostgreSQL; with `all`, outbox worker and scheduler too)."""
    port = free_port()
    env = _python_env() | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url,
        "DIBS_CONFIG": str(config),
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    return Server(name, [sys.executable, str(ROOT / "app.py"), "serve", "--role", role], env, workdir, port)


def start_cluster(
    topology: str, webs: int, database_url: str, config: Path, slack_api_url: str, workdir: Path
) -> tuple[list[Server], list[Server]]:
    """`webs` processes that serve requests, and the processes to stop with them (the webs, plus
    the worker under the `split` topology)."""
    role = "web" if topology == "split" else "all"
    servers = [start_dibs(f"dibs-{i}", database_url, config, slack_api_url, workdir, role) for i in range(webs)]
    if topology == "split":
        return servers, [*servers, start_dibs("worker", database_url, config, slack_api_url, workdir, "worker")]
    return servers, servers


def start_floor(workdir: Path, database_url: str, name: str = "floor") -> Server:
    """The framework floor: the same Flask/waitress/bolt stack with one listener that only acks."""
    port = free_port()
    command = [sys.executable, "-m", "bench.floor_server", "--port", str(port), "--database-url", database_url]
    return Server(name, command, _python_env(), workdir, port)


class StandInProcess:
    """The Slack stand-in in its own process, for benchmarks that do not inspect its calls;
    its workspace is the team config's (channels and people)."""

    def __init__(self, workdir: Path, config: Path):
        self._log = (workdir / "standin.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.standin", "--config", str(config)],
            env=_python_env(),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        assert self.process.stdout is not None  # stdout=PIPE
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http"):
            raise SystemExit(f"the Slack stand-in did not start: {line!r}")
        self.api_url = line

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._log.close()


# ---- CPU accounting ---------------------------------------------------------------------------


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU seconds process `pid` has used so far (Linux /proc), and with
    `with_children` what its exited children used (PostgreSQL's backends that ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if with_children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU seconds of every PostgreSQL process on this machine (the server is local)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() == "postgres":
                total += cpu_seconds(int(stat.parent.name), with_children=True)  # the server: its exited backends
        except (OSError, ValueError):
            continue  # a process that ended meanwhile
    return total


class CpuMeter:
    """CPU seconds used by each named process (and PostgreSQL, and this load generator) over a phase."""

    def __init__(self, processes: dict[str, int]):
        self._processes = processes

    def read(self) -> dict[str, float]:
        times = os.times()
        reading = {name: cpu_seconds(pid) for name, pid in self._processes.items()}
        return reading | {"postgres": postgres_cpu_seconds(), "load generator": times.user + times.system}

    @staticmethod
    def per_item(before: dict[str, float], after: dict[str, float], items: int) -> str:
        """Milliseconds of CPU per item by process, and their sum."""
        used = {name: (after[name] - before[name]) * 1000 / items for name in before}
        parts = ", ".join(f"{name} {ms:.1f}" for name, ms in used.items())
        return f"{sum(used.values()):.1f} ms ({parts})"


# ---- load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: Callable[[bytes], dict[str, str]]  # built just before sending (Slack signs with "now")
    port: int | None = None  # another server than send_all's


@dataclass(frozen=True)
class Result:
    status: int
    seconds: float
    body: bytes
    at: float = 0.0  # time.monotonic() when the answer was complete


def slack_request(body: bytes, port: int | None = None) -> Request:
    return Request("/slack/events", body, lambda b: signed_headers(b, SIGNING_SECRET), port)


# A claim opens no modal, so its trigger_id is never exchanged and need not be the stand-in's.
CLICK_TRIGGER_ID = "13345224609.738474920.8088930838d88f008e0"


def claim_click(
    user: str, lead_id: int, channel: str, port: int | None = None, response_url: str | None = None
) -> Request:
    """A Claim click; without a `response_url` (a stand-in in another process) Dibs answers by DM."""
    body = block_actions_body(
        user, "claim_lead", str(lead_id), channel_id=channel, trigger_id=CLICK_TRIGGER_ID, response_url=response_url
    )
    return slack_request(body, port)


def lead_request(fields: dict, token: str) -> Request:
    """`POST /api/leads` as a CRM sends it."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return Request("/api/leads", json.dumps(fields).encode(), lambda _body: headers)


def send_all(
    port: int, requests: Sequence[Request], concurrency: int, desc: str, start_together: bool = False
) -> list[Result]:
    """Send every request, `concurrency` at a time on kept-alive connections; results in order.

    Latency is measured from just before the request is written to the last byte of the answer.
    With `start_together`, every worker sends its first request at the same moment (a race).
    """
    results: list[Result | None] = [None] * len(requests)
    counter = itertools.count()
    lock = threading.Lock()
    barrier = threading.Barrier(concurrency) if start_together else None
    bar = tqdm(total=len(requests), desc=desc, unit="req", leave=False, file=sys.stderr)

    def worker() -> None:
        connections: dict[int, http.client.HTTPConnection] = {}
        if barrier is not None:
            barrier.wait()
        while True:
            with lock:
                index = next(counter)
            if index >= len(requests):
                break
            request = requests[index]
            target = request.port or port
            if target not in connections:
                connections[target] = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
            connection = connections[target]
            headers = request.headers(request.body)
            began = time.perf_counter()
            try:
                connection.request("POST", request.path, request.body, headers)
                answer = connection.getresponse()
                body = answer.read()
                results[index] = Result(answer.status, time.perf_counter() - began, body, time.monotonic())
            except (OSError, http.client.HTTPException) as exc:
                results[index] = Result(0, time.perf_counter() - began, repr(exc).encode())
                connections.pop(target).close()
            bar.update()
        for connection in connections.values():
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bar.close()
    return [r for r in results if r is not None]


# ---- statistics -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), interpolating between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"
