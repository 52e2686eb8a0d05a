"""The team config file (DESIGN §3): its schema, defaults and validation."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.crm_config import CrmConfig, crm_problems
from bot.errors import ConfigError, FileRefused
from bot.working_time import parse_hours

SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackChannelId = Annotated[str, Field(pattern=r"^[CGD][A-Z0-9]{2,}$")]
TeamSlug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SharePeriod = Literal["week", "month"]  # what fair share is balanced over (`fair_share_period`)
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


def _hours(value: str) -> str:
    parse_hours(value)
    return value


def _iso_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date like 2026-12-25") from None
    return value


def _fallback(value: str) -> str:
    if value in ("managers", "wait") or re.fullmatch(r"[UW][A-Z0-9]{2,}", value):
        return value
    raise ValueError(f'{value!r} is not a fallback: say "managers", "wait" or a person\'s Slack user id')


Zone = Annotated[str, AfterValidator(_known_zone)]
Hours = Annotated[str, AfterValidator(_hours)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
Fallback = Annotated[str, AfterValidator(_fallback)]
AwayStatus = Annotated[str, Field(min_length=1, max_length=100)]
DEFAULT_AWAY_STATUSES: tuple[str, ...] = (":palm_tree:", ":face_with_thermometer:", "Out of office", "Vacationing")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Limits(_Strict):
    """Per-team claim rules; the defaults are the policy when a key is left out."""

    max_active_claims: int = Field(5, ge=0, le=1000)
    max_claims_per_day: int = Field(10, ge=0, le=10000)
    max_hot_claims_per_day: int = Field(2, ge=0, le=10000)
    hot_score: int = Field(80, ge=0, le=100)
    fair_start_seconds: int = Field(30, ge=0, le=3600)
    contest_window_minutes: int = Field(10, ge=0, le=10080)
    contact_sla_minutes: int = Field(120, ge=1, le=43200)
    auto_assign_after_minutes: int = Field(30, ge=1, le=43200)
    account_hold_days: int = Field(90, ge=0, le=3650)
    route_to_account_owner: bool = False
    require_territory_match: bool = False
    dispute_sla_hours: int = Field(24, ge=1, le=720)
    max_claims_per_week: int | None = Field(None, ge=0, le=100000)  # None: no weekly cap
    max_claims_per_month: int | None = Field(None, ge=0, le=400000)  # None: no monthly cap
    exclude_past_holders_hours: int = Field(24, ge=0, le=720)
    escalate_after_misses: int = Field(3, ge=0, le=100)  # 0: never escalate
    pause_after_misses: int = Field(3, ge=0, le=100)  # misses in a day; 0: never pause
    # A rep whose credited leads this period exceed this multiple of their fair share may not claim
    # (auto-assign and managers still may give them leads); None: no share cap.
    max_share_ratio: float | None = Field(None, ge=1.0, le=100.0)
    # What draws, auto-assign and the share cap balance credit over: the team-local ISO week
    # (a surplus is forgotten each Monday) or the calendar month (it is carried to month end).
    fair_share_period: SharePeriod = "week"


LIMIT_KEYS: tuple[str, ...] = tuple(Limits.model_fields)


class RepConfig(_Strict):
    id: SlackUserId
    weight: float = Field(1.0, gt=0, le=100)
    territories: list[str] = []
    skills: list[str] = []
    timezone: Zone | None = None  # None: the team's
    hours: Hours | None = None  # None: the team's


class DigestConfig(_Strict):
    day: Weekday = "mon"
    time: str = "09:00"

    @field_validator("time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a 24-hour HH:MM time")
        return value


class RetentionConfig(_Strict):
    contact_days: int | None = Field(None, ge=1, le=36500)  # closed leads' contact details erased after; None: kept


class TeamConfig(_Strict):
    name: str = Field(min_length=1, max_length=200)
    channel: SlackChannelId
    mediation_channel: SlackChannelId | None = None
    timezone: Zone = "UTC"
    intake_token: str | None = Field(None, min_length=1)
    managers: list[SlackUserId] = []
    reps: list[RepConfig] = []
    limits: Limits = Limits()
    digest: DigestConfig = DigestConfig()
    hours: Hours | None = None  # every rep's unless they say otherwise; None: around the clock
    holidays: list[IsoDate] = []  # dates nobody works, in each rep's own zone
    crm: CrmConfig = CrmConfig()  # webhooks out, HubSpot owner sync, the shape of incoming leads
    fallback: Fallback = "wait"  # where a lead no eligible rep can take goes at once
    away_statuses: list[AwayStatus] = list(DEFAULT_AWAY_STATUSES)  # Slack statuses (emoji or text) meaning away
    retention: RetentionConfig = RetentionConfig()


class DibsConfig(_Strict):
    teams: dict[TeamSlug, TeamConfig] = Field(min_length=1)


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _describe(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return f"{_key_path(error['loc'])}: unknown key"
    message = error["msg"].removeprefix("Value error, ")
    return f"{_key_path(error['loc'])}: {message}"


def resolve_secret(value: str, env: dict[str, str] | None = None) -> str | None:
    """`env:NAME` reads the variable NAME; anything else is the literal secret."""
    if not value.startswith("env:"):
        return value
    return (os.environ if env is None else env).get(value.removeprefix("env:")) or None


def _people(slug: str, team: Any) -> list[tuple[str, str]]:
    """(key path, user id) of everyone a raw team table lists, skipping malformed entries."""
    people: list[tuple[str, str]] = []
    managers = team.get("managers")
    for i, uid in enumerate(managers if isinstance(managers, list) else []):
        if isinstance(uid, str):
            people.append((f"teams.{slug}.managers[{i}]", uid))
    reps = team.get("reps")
    for i, rep in enumerate(reps if isinstance(reps, list) else []):
        if isinstance(rep, dict) and isinstance(rep.get("id"), str):
            people.append((f"teams.{slug}.reps[{i}].id", rep["id"]))
    return people


def _cross_checks(raw: dict[str, Any], env: dict[str, str] | None) -> list[str]:
    """Rules that span keys: one team and role per person, resolvable and distinct tokens.

    Runs on the raw table so these problems are listed alongside the schema's own.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    tokens: dict[str, str] = {}
    teams = raw.get("teams")
    for slug, team in teams.items() if isinstance(teams, dict) else []:
        if not isinstance(team, dict):
            continue
        for path, uid in _people(slug, team):
            if uid in seen:
                problems.append(f"{path}: {uid} is already listed at {seen[uid]} (one team, one role per person)")
            else:
                seen[uid] = path
        secret = team.get("intake_token")
        if isinstance(secret, str) and secret:
            token = resolve_secret(secret, env)
            path = f"teams.{slug}.intake_token"
            if token is None:
                problems.append(f"{path}: environment variable {secret.removeprefix('env:')} is not set")
            elif token in tokens:
                problems.append(f"{path}: same token as {tokens[token]} (each team needs its own)")
            else:
                tokens[token] = path
        problems += crm_problems(slug, team.get("crm"), env)
    return problems


def parse_config(text: str, env: dict[str, str] | None = None) -> DibsConfig:
    """Validate a TOML config; raise ConfigError listing every problem by key path."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"]) from None
    problems: list[str] = []
    config = None
    try:
        config = DibsConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors()]
    problems += _cross_checks(raw, env)
    if problems or config is None:
        raise ConfigError(problems)
    return config


def load_config(path: Path, env: dict[str, str] | None = None) -> DibsConfig:
    """Read and validate a config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileRefused(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    return parse_config(text, env)
