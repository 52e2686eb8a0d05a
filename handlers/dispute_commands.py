"""`/dibs contest`, `disputes` and `resolve`: thin parsing around bot/mediation.py."""

from __future__ import annotations

from bot import claiming, mediation
from handlers.answers import claim_text
from handlers.blocks import mention, section
from handlers.commands import Caller, Subcommand, UsageError, parse_percent, parse_ref, parse_user
from handlers.pipeline import Reply, reply
from handlers.text import local_time


def contest(caller: Caller, args: list[str]) -> Reply:
    if len(args) < 2:
        raise UsageError("Name the lead and say why it should be yours")
    result = claiming.contest(
        caller.session, caller.require_member(), parse_ref(args[0], "L"), " ".join(args[1:]), caller.now
    )
    return reply(claim_text(result))


def disputes(caller: Caller, args: list[str]) -> Reply:
    team = caller.require_member().team
    found = mediation.open_disputes(caller.session, team.id)
    if not found:
        return reply("No open disputes.")
    lines = [
        f"*{d.ref}* on {d.lead.ref} · opened {local_time(d.opened_at, team.timezone)} · "
        + ", ".join(mention(p.member.slack_user_id) for p in d.parties)
        + (f" · mediator {mention(d.mediator.slack_user_id)}" if d.mediator else "")
        for d in found
    ]
    return reply(f"{len(found)} open dispute(s)", [section("\n".join(lines))])


def parse_split(words: list[str]) -> tuple[list[tuple[str, int]], str | None]:
    """`@a 60 @b 40 [reason…]` as [(user, percent)] and the reason."""
    shares: list[tuple[str, int]] = []
    i = 0
    while i + 1 < len(words) and words[i].startswith("<@"):
        shares.append((parse_user(words[i]), parse_percent(words[i + 1])))
        i += 2
    return shares, " ".join(words[i:]) or None


def resolve(caller: Caller, args: list[str]) -> Reply:
    if len(args) < 3 or args[1].lower() not in ("award", "split"):
        raise UsageError("Say `resolve D-n award @rep` or `resolve D-n split @a 60 @b 40`")
    dispute_id, outcome = parse_ref(args[0], "D"), args[1].lower()
    if outcome == "award":
        shares, reason = [(parse_user(args[2]), 100)], " ".join(args[3:]) or None
    else:
        shares, reason = parse_split(args[2:])
    dispute = mediation.resolve(
        caller.session, caller.require_member(), dispute_id, caller.now, outcome=outcome, shares=shares, reason=reason
    )
    return reply(f"{dispute.ref} resolved: {outcome}. The parties have been told.")


SUBCOMMANDS = [
    Subcommand("contest", "/dibs contest L-n reason", "dispute who holds a lead", contest),
    Subcommand("disputes", "/dibs disputes", "open disputes in your team", disputes, manager_only=True),
    Subcommand(
        "resolve",
        "/dibs resolve D-n award @rep [reason] · /dibs resolve D-n split @a 60 @b 40 [reason]",
        "decide a dispute",
        resolve,
        manager_only=True,
    ),
]
