"""The sentence a person reads for each domain error: the one place refusals are worded.

User text in the facts (a week typed, a territory, a key) is escaped here; refs, numbers and
statuses are the domain's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.errors import (
    Clash,
    Conflict,
    DibsError,
    Forbidden,
    Invalid,
    InvalidInput,
    Limit,
    LimitReached,
    Missing,
    NotAllowed,
    NotFound,
    Refusal,
)
from handlers.text import duration, escape, local_time, mention
from models import LeadStatus

Facts = dict[str, Any]
Sentences = dict[Any, Callable[[Facts], str]]


def _resets(f: Facts) -> str:
    return f"the count resets at midnight ({f['timezone']}), in {duration(f['frees_in'])}"


def _frees(f: Facts) -> str:
    return f"it frees up {local_time(f['frees_at'], f['timezone'])}, in {duration(f['frees_in'])}"


def _away(f: Facts) -> str:
    until = f" until {local_time(f['until'], f['timezone'])}" if f.get("until") else ""
    if f.get("by_status"):
        return f"Your Slack status says you are away{until}; change it (or `/dibs back`) to take leads again."
    return f"You are marked away{until}; `/dibs back` to take leads again."


LIMITS: Sentences = {
    Limit.LEFT_TEAM: lambda f: "You are no longer in this team.",
    Limit.AWAY: _away,
    Limit.TERRITORY: lambda f: (
        f"{f['lead']} is in territory {escape(f['territory'])} and this team requires a territory match "
        f"(yours: {', '.join(escape(t) for t in f['yours']) or 'none'})."
    ),
    Limit.ACTIVE: lambda f: (
        f"You hold {f['held']} of {f['limit']} active claims; release one or close one as won/lost."
    ),
    Limit.DAILY: lambda f: f"You have taken {f['held']} of {f['limit']} leads today; {_resets(f)}.",
    Limit.HOT: lambda f: (
        f"You have taken {f['held']} of {f['limit']} hot leads (score ≥ {f['hot_score']}) today; {_resets(f)}."
    ),
    Limit.WEEKLY: lambda f: f"You have taken {f['held']} of {f['limit']} leads this week; {_frees(f)}.",
    Limit.MONTHLY: lambda f: f"You have taken {f['held']} of {f['limit']} leads this month; {_frees(f)}.",
    Limit.SHARE: lambda f: (
        f"You have {f['credited']:g} leads this {f.get('period', 'week')} against a fair share of "
        f"{f['fair_share']:g} (×{f['ratio']:.2f}; this team allows ×{f['limit']:g} before others catch up). "
        f"You can claim again once teammates catch up, or when the {f.get('period', 'week')} turns: {_frees(f)}."
    ),
    Limit.OFF_HOURS: lambda f: f"Outside working hours; back {local_time(f['back_at'], f['timezone'])}.",
    Limit.PAUSED: lambda f: (
        f"Paused from auto-assign since {local_time(f['since'], f['timezone'])} after missed contact SLAs; "
        "`/dibs resume` (or a manager) takes leads again."
    ),
    Limit.PAST_HOLDER: lambda f: (
        f"You missed the contact SLA of {f['lead']}; it goes to someone else until "
        f"{local_time(f['until'], f['timezone'])}."
    ),
}

NOT_FOUND: Sentences = {
    Missing.LEAD: lambda f: f"There is no lead {f['ref']} in your team. `/dibs leads` lists the open ones.",
    Missing.DISPUTE: lambda f: f"There is no dispute {f['ref']} in your team. `/dibs disputes` lists the open ones.",
    Missing.OPEN_DISPUTE: lambda f: f"{f['lead']} has no open dispute.",
    Missing.MEMBER: lambda f: f"{mention(f['user'])} is not in your team.",
    Missing.TEAM: lambda f: (
        f"no team '{escape(f['slug'])}' (known teams: {', '.join(f['known']) or 'none yet'}); "
        "apply a config with `dibs config apply`"
    ),
}


def _reps_only(f: Facts) -> str:
    if f["yourself"]:
        who = f"You are mediating {f['dispute']}" if f.get("dispute") else "You are a manager"
    else:
        who = f"{mention(f['user'])} is a manager"
    if f["partner"]:
        rule = "a mediator is never a split partner" if f["yourself"] else "credit goes to reps only"
        return f"{who}, and {rule}: split {f['lead']} between reps."
    return f"{who}, and leads go to reps only: give {f['lead']} to a rep."


NOT_ALLOWED: Sentences = {
    Forbidden.NOT_IN_TEAM: lambda f: (
        "You are not in a Dibs team yet: ask a manager to run `/dibs team add` "
        "for you, or to add you to the team config."
    ),
    Forbidden.MANAGER_COMMAND: lambda f: f"`/dibs {f['command']}` is for managers of the team.",
    Forbidden.MANAGERS_DO_NOT_CLAIM: lambda f: (
        "Managers hand leads out with `/dibs assign L-n @rep`; claiming is for reps."
    ),
    Forbidden.MANAGERS_DO_NOT_CONTEST: lambda f: "Managers decide disputes; reps contest leads.",
    Forbidden.ASSIGN_NEEDS_MANAGER: lambda f: "Only a manager of the team can assign leads.",
    Forbidden.RESOLVE_NEEDS_MANAGER: lambda f: "Only a manager of the team can resolve a dispute.",
    Forbidden.NOT_THE_HOLDER: lambda f: f"{f['lead']} is held by {mention(f['holder'])}, not you.",
    Forbidden.PARTY_CANNOT_DECIDE: lambda f: f"You are a party to {f['dispute']}; another manager has to decide it.",
    Forbidden.NOT_A_PARTY: lambda f: f"You are not a party to {f['dispute']}.",
    Forbidden.REPS_ONLY: _reps_only,
}

INVALID: Sentences = {
    Invalid.NOT_IN_FUTURE: lambda f: f"{f['date']} is not in the future",
    Invalid.REASON_NEEDED: lambda f: "Say why the lead should be yours",
    Invalid.NOT_A_MEMBER: lambda f: f"{mention(f['user'])} is not a member of this team",
    Invalid.SPLIT_PARTNERS: lambda f: f"A split needs {f['min']} to {f['max']} partners, not {f['count']}",
    Invalid.SPLIT_REPEATED_PARTNER: lambda f: "Each partner may appear once",
    Invalid.SPLIT_EMPTY_SHARE: lambda f: "Every partner needs a share above 0%",
    Invalid.SPLIT_TOTAL: lambda f: f"The shares add up to {f['total']}%, not 100%",
    Invalid.AWARD_TO_OUTSIDER: lambda f: (
        f"{mention(f['user'])} is not a party to {f['dispute']}; "
        f"use `/dibs assign {f['lead']} @rep` to give it to someone else"
    ),
    Invalid.NOT_A_WEEK: lambda f: f"'{escape(f['text'])}' is not an ISO week; write it like 2026-W47",
    Invalid.NO_SUCH_WEEK: lambda f: f"{f['year']} has no ISO week {f['week']}; weeks run from 1 to 52 or 53",
    Invalid.WEEK_OUT_OF_RANGE: lambda f: f"Dibs keeps weeks of the years {f['first']} to {f['last']} only",
    Invalid.WEEK_NOT_STARTED: lambda f: f"{f['week']} has not started yet for {escape(f['team'])}",
    Invalid.UNKNOWN_LIMIT: lambda f: f"'{escape(f['key'])}' is not a limit; the limits are: {', '.join(f['known'])}",
    Invalid.BAD_LIMIT_VALUE: lambda f: f"{f['key']} {escape(f['problem'].lower())}",  # key: a known limit
    Invalid.UNKNOWN_ROLE: lambda f: f"'{escape(f['role'])}' is not a role; use rep or manager",
    Invalid.REMOVE_YOURSELF: lambda f: "You can't remove yourself; ask another manager or change the config file",
}


def _not_held(f: Facts) -> str:
    state = "closed" if f["status"] in (LeadStatus.WON, LeadStatus.LOST) else "not held by anyone"
    return f"{f['lead']} is {state}."


def _nothing_to_contest(f: Facts) -> str:
    claim = f" Claim it with `/dibs claim {f['lead']}`." if f["status"] == LeadStatus.OPEN else ""
    return f"{f['lead']} is {f['status']}: there is no holder to contest.{claim}"


def _already_member(f: Facts) -> str:
    where = f"team {f['team']}" if f.get("team") else "your team"
    return f"{mention(f['user'])} is already in {where} as a {f['role']}."


def _dispute_decided(f: Facts) -> str:
    by = f" by {mention(f['by'])}" if f.get("by") else ""
    return f"{f['dispute']} was already {f['status']}{by}: {f.get('outcome') or 'withdrawn'}."


CONFLICTS: Sentences = {
    Clash.LEAD_CLOSED: lambda f: f"{f['lead']} is closed ({f['status']}).",
    Clash.NOT_HELD: _not_held,
    Clash.ALREADY_HOLDS: lambda f: f"{mention(f['user'])} already holds {f['lead']}.",
    Clash.YOU_HOLD: lambda f: f"You already hold {f['lead']}.",
    Clash.NOTHING_TO_CONTEST: _nothing_to_contest,
    Clash.ALREADY_CONTACTED: lambda f: f"{f['lead']} was already marked contacted.",
    Clash.NOT_AWAY: lambda f: "You are not marked away.",
    Clash.DISPUTE_DECIDED: _dispute_decided,
    Clash.DISPUTE_CLOSED: lambda f: f"{f['dispute']} is already {f['status']}.",
    Clash.ALREADY_MEMBER: _already_member,
    Clash.IN_DISPUTE: lambda f: f"{f['lead']} is in dispute ({f['dispute']}): its mediator decides the owner in Slack.",
    Clash.NO_VERIFIABLE_DRAW: lambda f: (
        f"{f['lead']}'s owner was not chosen by a fair-start draw with a published commitment; nothing to verify."
    ),
}

_BY_KIND: dict[type[Refusal], Sentences] = {
    LimitReached: LIMITS,
    NotFound: NOT_FOUND,
    NotAllowed: NOT_ALLOWED,
    InvalidInput: INVALID,
    Conflict: CONFLICTS,
}


def refusal_text(error: DibsError) -> str:
    """What the person who caused `error` reads (mrkdwn; user text in it escaped).

    Errors that are not refusals (a usage line handlers/ wrote, a setting or file named on the
    terminal) carry their own text.
    """
    if not isinstance(error, Refusal):
        return str(error)
    return _BY_KIND[type(error)][error.why](error.facts)


def limit_text(refusal: LimitReached | str) -> str:
    """A limit rule as a sentence; a refusal stored before facts were is its own (escaped) text."""
    return refusal_text(refusal) if isinstance(refusal, LimitReached) else escape(refusal)
