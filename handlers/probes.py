"""Probes for the platform: `/healthz` (liveness) and `/readyz` (readiness).

Liveness says only that the process answers HTTP: a database outage must not get every replica
restarted. Readiness says whether this replica should get traffic now: the database answers,
its schema is at the newest revision (an upgrade rolled out before its migration ran is not
ready), and a `web` replica verified its Slack token at start.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine

from infra.db import DATABASE_UNAVAILABLE, newest_revision, schema_revision, why_unavailable

Answer = tuple[dict[str, object], int]


@dataclass
class Readiness:
    """What `/readyz` checks; `slack_verified` is None for a role that does not serve Slack."""

    engine: Engine
    slack_verified: bool | None = None

    def __post_init__(self) -> None:
        self._newest = newest_revision()

    def checks(self) -> dict[str, str]:
        """Each check's finding: "ok" or what is wrong."""
        found: dict[str, str] = {}
        try:
            at = schema_revision(self.engine)
        except DATABASE_UNAVAILABLE as exc:
            found["database"] = f"unreachable ({why_unavailable(exc)})"
        else:
            found["database"] = "ok"
            found["schema"] = "ok" if at == self._newest else f"at {at}, newest is {self._newest}: run dibs migrate"
        if self.slack_verified is not None:
            found["slack"] = "ok" if self.slack_verified else "token not verified"
        return found


def register_probes(web: Flask, readiness: Readiness | None) -> None:
    """`/healthz` always; `/readyz` where a load balancer sends traffic (not on a worker)."""

    @web.get("/healthz")
    def healthz() -> Answer:
        return {"status": "ok"}, 200

    if readiness is None:
        return

    @web.get("/readyz")
    def readyz() -> Answer:
        checks = readiness.checks()
        ready = all(finding == "ok" for finding in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
