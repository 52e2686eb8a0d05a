"""Teams and members in the database: applying config, effective limits, look-ups."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from bot import audit
from bot.config import LIMIT_KEYS, DibsConfig, Limits, TeamConfig, resolve_secret
from bot.errors import Clash, Conflict, Invalid, InvalidInput, Missing, NotFound
from models import AwayPeriod, Member, Role, Team

CONFIG_ACTOR = "config"


def token_hash(token: str) -> str:
    """What we store instead of an intake token."""
    return hashlib.sha256(token.encode()).hexdigest()


def effective_limits(team: Team) -> Limits:
    """Config limits with the managers' run-time overrides on top; defaults fill gaps."""
    return Limits.model_validate({**team.limits, **team.limit_overrides})


def team_for_token(session: Session, token: str) -> Team | None:
    """The team whose intake token this is, found by the token's hash (one indexed row, not every
    team); the stored hash is then compared in constant time."""
    presented = token_hash(token)
    team = session.scalar(select(Team).where(Team.intake_token_hash == presented))
    return team if team is not None and hmac.compare_digest(presented, team.intake_token_hash or "") else None


def get_team(session: Session, slug: str) -> Team:
    """A team by its config key, or NotFound naming the known ones."""
    team = session.get(Team, slug)
    if team is None:
        raise NotFound(Missing.TEAM, slug=slug, known=list(session.scalars(select(Team.id).order_by(Team.id))))
    return team


def find_member(session: Session, slack_user_id: str) -> Member | None:
    """The active member behind a Slack user id, if any."""
    return session.scalar(
        select(Member)
        .where(Member.slack_user_id == slack_user_id, Member.active.is_(True))
        .options(joinedload(Member.team))  # every request reads its team's settings
    )


def _team_fields(slug: str, cfg: TeamConfig, env: dict[str, str] | None) -> dict[str, Any]:
    token = resolve_secret(cfg.intake_token, env) if cfg.intake_token else None
    return {
        "name": cfg.name,
        "channel": cfg.channel,
        "mediation_channel": cfg.mediation_channel,
        "timezone": cfg.timezone,
        "intake_token_hash": token_hash(token) if token else None,
        "limits": cfg.limits.model_dump(),
        "digest_day": cfg.digest.day,
        "digest_time": cfg.digest.time,
        "hours": cfg.hours,
        "holidays": list(cfg.holidays),
        "crm": cfg.crm.model_dump(),
        "fallback": cfg.fallback,
        "away_statuses": list(cfg.away_statuses),
        "contact_retention_days": cfg.retention.contact_days,
    }


def _apply_team(session: Session, slug: str, fields: dict[str, Any], now: datetime) -> list[str]:
    team = session.get(Team, slug)
    if team is None:
        session.add(Team(id=slug, limit_overrides={}, updated_at=now, **fields))
        return [f"team {slug}: created"]
    changed = [key for key, value in fields.items() if getattr(team, key) != value]
    if not changed:
        return []
    if "limits" in changed:
        # The newest statement wins: a key the file changes drops the Slack override of it.
        moved = {k for k in LIMIT_KEYS if team.limits.get(k) != fields["limits"][k]}
        team.limit_overrides = {k: v for k, v in team.limit_overrides.items() if k not in moved}
    for key in changed:
        setattr(team, key, fields[key])
    team.updated_at = now
    shown = [("intake_token" if key == "intake_token_hash" else key) for key in changed]
    return [f"team {slug}: updated {', '.join(shown)}"]


def _wanted_members(cfg: TeamConfig) -> dict[str, dict[str, Any]]:
    wanted: dict[str, dict[str, Any]] = {
        uid: {
            "role": Role.MANAGER.value,
            "weight": 1.0,
            "territories": [],
            "skills": [],
            "timezone": None,
            "hours": None,
        }
        for uid in cfg.managers
    }
    for rep in cfg.reps:
        wanted[rep.id] = {
            "role": Role.REP.value,
            "weight": rep.weight,
            "territories": list(rep.territories),
            "skills": list(rep.skills),
            "timezone": rep.timezone,
            "hours": rep.hours,
        }
    return wanted


def _apply_members(session: Session, slug: str, cfg: TeamConfig, now: datetime) -> list[str]:
    changes: list[str] = []
    wanted = _wanted_members(cfg)
    existing = {
        m.slack_user_id: m
        for m in session.scalars(select(Member).where(Member.slack_user_id.in_(wanted) | (Member.team_id == slug)))
    }
    for uid, fields in wanted.items():
        member = existing.get(uid)
        if member is None:
            session.add(Member(team_id=slug, slack_user_id=uid, active=True, source="config", joined_at=now, **fields))
            changes.append(f"team {slug}: added {fields['role']} {uid}")
            continue
        updates = {k: v for k, v in fields.items() if getattr(member, k) != v}
        updates |= {k: v for k, v in (("team_id", slug), ("source", "config")) if getattr(member, k) != v}
        if not member.active:
            # Time between leaving and coming back is time away, so fair share stays honest.
            session.add(AwayPeriod(member_id=member.id, starts_at=member.left_at or now, ends_at=now))
            updates |= {"active": True, "left_at": None}
        for key, value in updates.items():
            setattr(member, key, value)
        if updates:
            changes.append(f"team {slug}: updated {uid} ({', '.join(sorted(updates))})")
    for uid, member in existing.items():
        if member.team_id == slug and member.active and member.source == "config" and uid not in wanted:
            member.active, member.left_at = False, now
            changes.append(f"team {slug}: removed {uid}")
    return changes


def apply_config(session: Session, config: DibsConfig, now: datetime, env: dict[str, str] | None = None) -> list[str]:
    """Make the database match the file; returns what changed (empty when already applied).

    Teams the file does not mention are left as they are; members added from Slack
    (`/dibs team add`) are kept unless the file lists them, in which case the file wins.
    """
    changes: list[str] = []
    for slug, cfg in config.teams.items():
        team_changes = _apply_team(session, slug, _team_fields(slug, cfg, env), now)
        session.flush()
        team_changes += _apply_members(session, slug, cfg, now)
        if team_changes:
            audit.record(
                session, at=now, actor=CONFIG_ACTOR, action="config.applied", team_id=slug, changes=team_changes
            )
        changes += team_changes
    return changes


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def _crm_lines(team: Team) -> list[str]:
    """`[teams.<slug>.crm]` when the team has one: its secrets appear as the variables they name."""
    crm = team.crm or {}
    shown = [(key, crm[key]) for key in ("intake", "webhooks", "webhook_secret", "hubspot_token") if crm.get(key)]
    if crm.get("fields"):
        pairs = ", ".join(f"{name} = {_toml_value(source)}" for name, source in crm["fields"].items())
        shown.append(("fields", f"{{ {pairs} }}"))
    if not shown or shown == [("intake", "generic")]:
        return []
    values = [f"{key} = {value if key == 'fields' else _toml_value(value)}" for key, value in shown]
    return ["", f"[teams.{team.id}.crm]", *values]


def show_config(session: Session, slug: str | None = None) -> str:
    """The teams as they are now, in the config file's own format; secrets never shown."""
    teams = [get_team(session, slug)] if slug else list(session.scalars(select(Team).order_by(Team.id)))
    if not teams:
        return "# no teams yet: apply a config with `dibs config apply FILE`"
    blocks = []
    for team in teams:
        members = [m for m in team.members if m.active]
        lines = [
            f"[teams.{team.id}]",
            f"name = {_toml_value(team.name)}",
            f"channel = {_toml_value(team.channel)}",
        ]
        if team.mediation_channel:
            lines.append(f"mediation_channel = {_toml_value(team.mediation_channel)}")
        lines.append(f"timezone = {_toml_value(team.timezone)}")
        if team.hours:
            lines.append(f"hours = {_toml_value(team.hours)}")
        if team.holidays:
            lines.append(f"holidays = {_toml_value(team.holidays)}")
        lines.append(f"fallback = {_toml_value(team.fallback)}")
        if team.away_statuses is not None:
            lines.append(f"away_statuses = {_toml_value(team.away_statuses)}")
        lines.append(f"intake_token = {_toml_value('(set)' if team.intake_token_hash else '(none)')}")
        lines.append(f"managers = {_toml_value([m.slack_user_id for m in members if m.is_manager])}")
        reps = [m for m in members if not m.is_manager]
        lines.append("reps = [")
        for rep in reps:
            note = "  # added in Slack" if rep.source == "slack" else ""
            own = "".join(
                f", {key} = {_toml_value(value)}"
                for key, value in (("timezone", rep.timezone), ("hours", rep.hours))
                if value
            )
            lines.append(
                f"  {{ id = {_toml_value(rep.slack_user_id)}, weight = {rep.weight}, "
                f"territories = {_toml_value(rep.territories)}, "
                f"skills = {_toml_value(rep.skills)}{own} }},{note}"
            )
        lines += ["]", "", f"[teams.{team.id}.limits]"]
        limits = effective_limits(team).model_dump()
        for key, value in limits.items():
            note = "  # set in Slack" if key in team.limit_overrides else ""
            setting = f"{key} = {_toml_value(value)}" if value is not None else f"# {key} = (no cap)"
            lines.append(f"{setting}{note}")
        lines += [
            "",
            f"[teams.{team.id}.digest]",
            f"day = {_toml_value(team.digest_day)}",
            f"time = {_toml_value(team.digest_time)}",
        ]
        lines += _crm_lines(team)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def with_limit(team: Team, key: str, raw: str) -> Limits:
    """The team's limits with `key` set to `raw` as typed in Slack, validated like the config file."""
    if key not in LIMIT_KEYS:
        raise InvalidInput(Invalid.UNKNOWN_LIMIT, key=key, known=list(LIMIT_KEYS))
    value: object = raw
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif re.fullmatch(r"-?[0-9]{1,9}", raw):  # no limit is a number of ten digits
        value = int(raw)
    elif re.fullmatch(r"-?[0-9]{1,9}\.[0-9]{1,9}", raw):  # a ratio such as max_share_ratio
        value = float(raw)
    try:
        return Limits.model_validate({**team.limits, **team.limit_overrides, key: value})
    except ValidationError as exc:
        raise InvalidInput(Invalid.BAD_LIMIT_VALUE, key=key, problem=exc.errors()[0]["msg"]) from None


def set_limit(session: Session, manager: Member, key: str, raw: str, now: datetime) -> object:
    """`/dibs limits set KEY VALUE`: validated like the config file, kept as an override."""
    team = manager.team
    limits = with_limit(team, key, raw)
    old = getattr(effective_limits(team), key)
    team.limit_overrides = {**team.limit_overrides, key: getattr(limits, key)}
    audit.record(
        session,
        at=now,
        actor=manager.slack_user_id,
        action="limits.set",
        team_id=team.id,
        key=key,
        old=old,
        new=getattr(limits, key),
    )
    return getattr(limits, key)


def add_member(session: Session, manager: Member, user_id: str, role: str, now: datetime) -> Member:
    """`/dibs team add @user rep|manager`: joins the manager's team now (fair share counts from now)."""
    if role not in (Role.REP, Role.MANAGER):
        raise InvalidInput(Invalid.UNKNOWN_ROLE, role=role)
    member = session.scalar(select(Member).where(Member.slack_user_id == user_id))
    if member is not None and member.active:
        team = None if member.team_id == manager.team_id else member.team_id
        raise Conflict(Clash.ALREADY_MEMBER, user=user_id, team=team, role=member.role)
    if member is None:
        member = Member(slack_user_id=user_id, weight=1.0, territories=[], skills=[], joined_at=now)
        session.add(member)
    elif member.left_at is not None:
        session.add(AwayPeriod(member_id=member.id, starts_at=member.left_at, ends_at=now))
    member.team_id, member.role, member.active, member.left_at, member.source = (
        manager.team_id,
        Role(role),
        True,
        None,
        "slack",
    )
    audit.record(
        session,
        at=now,
        actor=manager.slack_user_id,
        action="member.added",
        team_id=manager.team_id,
        user=user_id,
        role=role,
    )
    return member


def remove_member(session: Session, manager: Member, user_id: str, now: datetime) -> Member:
    """`/dibs team remove @user`: they stop taking leads; their history stays."""
    member = session.scalar(
        select(Member).where(
            Member.slack_user_id == user_id, Member.team_id == manager.team_id, Member.active.is_(True)
        )
    )
    if member is None:
        raise NotFound(Missing.MEMBER, user=user_id)
    if member.id == manager.id:
        raise InvalidInput(Invalid.REMOVE_YOURSELF)
    member.active, member.left_at = False, now
    audit.record(
        session, at=now, actor=manager.slack_user_id, action="member.removed", team_id=manager.team_id, user=user_id
    )
    return member
