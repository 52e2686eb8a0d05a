"""`/dibs` subcommands about leads and claims, and the Claim button: thin parsing around bot/ services."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from bot import assignment, claiming, claims, escalation
from bot.availability import come_back, go_away
from bot.errors import Missing, NotFound
from bot.leads import active_claims, get_lead, open_leads
from bot.ownership import explain
from bot.teams import find_member
from handlers.answers import claim_text, why_text
from handlers.blocks import button, escape, mention, section
from handlers.commands import Caller, Subcommand, UsageError, parse_ref, parse_user, team_member
from handlers.dispute_views import CONTEST_ACTION
from handlers.pipeline import Reply, Tell, reply
from handlers.refusals import limit_text
from handlers.views import CLAIM_ACTION, claims_section, lead_line, limit_summary
from infra import logs
from models import Member
from models.bounds import MAX_AMOUNT

_AMOUNT = re.compile(r"^\$?([0-9][0-9,]{0,40}(?:\.[0-9]{1,20})?)([km]?)$", re.IGNORECASE)


def parse_amount(word: str) -> Decimal:
    """`12000`, `$12,000`, `12k`, `1.5m` as a Decimal, no larger than an amount column holds."""
    match = _AMOUNT.match(word)
    if not match:
        raise UsageError(f"{escape(word)} is not an amount such as 12000, $12,000 or 12k")
    try:
        amount = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        raise UsageError(f"{escape(word)} is not an amount") from None
    amount *= {"": 1, "k": 1000, "m": 1_000_000}[match.group(2).lower()]
    if amount > MAX_AMOUNT:
        raise UsageError(f"{escape(word)} is more than Dibs can record (at most {MAX_AMOUNT:,.2f})")
    return amount


def claim_reply(result: claiming.ClaimResult) -> Reply:
    """A claim's answer; a refusal on a held lead carries a Contest button."""
    text = claim_text(result)
    if result.offer_contest:
        return reply(text, [section(text, accessory=button("Contest…", CONTEST_ACTION, str(result.lead.id)))])
    return reply(text)


def _one_ref(args: list[str], *, rest: bool = False) -> tuple[int, str | None]:
    if not args or (len(args) > 1 and not rest):
        raise UsageError("Name one lead, like L-42")
    return parse_ref(args[0], "L"), " ".join(args[1:]) or None


def leads(caller: Caller, args: list[str]) -> Reply:
    member = caller.require_member()
    found = open_leads(caller.session, member.team_id)
    if not found:
        return reply("No open leads right now.")
    blocks = [
        section(lead_line(lead), accessory=button("Claim", CLAIM_ACTION, str(lead.id), style="primary"))
        for lead in found
    ]
    return reply(f"{len(found)} open lead(s)", blocks)


def mine(caller: Caller, args: list[str]) -> Reply:
    member = caller.require_member()
    held = active_claims(caller.session, member.id)
    use = claims.limit_use(caller.session, member, caller.now)
    return reply(f"Your claims: {len(held)}; {limit_summary(use)}", claims_section(held, use))


def claim(caller: Caller, args: list[str]) -> Reply:
    lead_id, _ = _one_ref(args)
    return claim_reply(claiming.claim_lead(caller.session, caller.require_member(), lead_id, caller.now))


def release(caller: Caller, args: list[str]) -> Reply:
    lead_id, reason = _one_ref(args, rest=True)
    lead = claims.release(caller.session, caller.require_member(), lead_id, caller.now, reason)
    return reply(f"{lead.ref} is back with the team and has been re-announced.")


def contacted(caller: Caller, args: list[str]) -> Reply:
    lead_id, _ = _one_ref(args)
    lead = claims.mark_contacted(caller.session, caller.require_member(), lead_id, caller.now)
    return reply(f"{lead.ref} marked contacted. Report the outcome with `won` or `lost` when you know it.")


def won(caller: Caller, args: list[str]) -> Reply:
    if not args or len(args) > 2:
        raise UsageError("Name one lead and, optionally, the amount")
    amount = parse_amount(args[1]) if len(args) == 2 else None
    lead = claims.close_lead(
        caller.session, caller.require_member(), parse_ref(args[0], "L"), caller.now, won=True, amount=amount
    )
    return reply(f":trophy: {lead.ref} closed as won" + (f" for ${amount:,.2f}." if amount is not None else "."))


def lost(caller: Caller, args: list[str]) -> Reply:
    lead_id, reason = _one_ref(args, rest=True)
    lead = claims.close_lead(caller.session, caller.require_member(), lead_id, caller.now, won=False, reason=reason)
    return reply(f"{lead.ref} closed as lost.")


def why(caller: Caller, args: list[str]) -> Reply:
    lead_id, _ = _one_ref(args)
    return reply(why_text(explain(get_lead(caller.session, caller.require_member().team_id, lead_id))))


def away(caller: Caller, args: list[str]) -> Reply:
    member = caller.require_member()
    until = None
    if args:
        if len(args) != 2 or args[0].lower() != "until":
            raise UsageError("Say `away` or `away until 2026-12-01`")
        try:
            until = date.fromisoformat(args[1])
        except ValueError:
            raise UsageError(f"{escape(args[1])} is not a date like 2026-12-01") from None
    go_away(caller.session, member, caller.now, until)
    when = f" until {until.isoformat()}" if until else " until you say `/dibs back`"
    return reply(f"You're away{when}: no leads come your way and your fair share pauses.")


def back(caller: Caller, args: list[str]) -> Reply:
    come_back(caller.session, caller.require_member(), caller.now)
    return reply("Welcome back: you can claim leads again.")


def resume_auto_assign(caller: Caller, args: list[str]) -> Reply:
    member = caller.require_member()
    if len(args) > 1:
        raise UsageError("Say `resume`, or `resume @rep` for a rep of your team")
    rep = member
    if args:
        user = parse_user(args[0])
        found = find_member(caller.session, user)
        if found is None or found.team_id != member.team_id:
            raise NotFound(Missing.MEMBER, user=user)
        rep = found
    if not escalation.resume(caller.session, member, rep, caller.now):
        return reply(f"{mention(rep.slack_user_id)} was not paused.")
    return reply(f"{mention(rep.slack_user_id)} gets auto-assigned leads again.")


def assign(caller: Caller, args: list[str]) -> Reply:
    if len(args) < 2:
        raise UsageError("Name the lead and the rep")
    lead, over = assignment.manager_assign(
        caller.session,
        caller.require_member(),
        parse_ref(args[0], "L"),
        parse_user(args[1]),
        caller.now,
        " ".join(args[2:]) or None,
    )
    note = f"\n:warning: This is over their limits: {limit_text(over)}" if over else ""
    return reply(f"{lead.ref} is now assigned to <@{parse_user(args[1])}>.{note}")


SUBCOMMANDS = [
    Subcommand("leads", "/dibs leads", "open leads in your team", leads),
    Subcommand("mine", "/dibs mine", "your active claims and limit use", mine),
    Subcommand("claim", "/dibs claim L-n", "claim a lead", claim),
    Subcommand("release", "/dibs release L-n [reason]", "give a lead back to the team", release),
    Subcommand("contacted", "/dibs contacted L-n", "you reached the contact (stops the SLA clock)", contacted),
    Subcommand("won", "/dibs won L-n [amount]", "close a lead as won", won),
    Subcommand("lost", "/dibs lost L-n [reason]", "close a lead as lost", lost),
    Subcommand("why", "/dibs why L-n", "how a lead was assigned", why),
    Subcommand("away", "/dibs away [until YYYY-MM-DD]", "take no leads until you're back", away),
    Subcommand("back", "/dibs back", "take leads again", back),
    Subcommand("resume", "/dibs resume [@rep]", "take auto-assigned leads again after missed SLAs", resume_auto_assign),
    Subcommand(
        "assign",
        "/dibs assign L-n @rep [reason]",
        "give a lead to a rep (may exceed limits)",
        assign,
        manager_only=True,
    ),
]


def register(app: App) -> None:
    """The Claim button on lead cards and lists: claimed as `/dibs claim` is, answered privately."""

    @app.action(CLAIM_ACTION)
    def claim_button(
        ack: Ack, action: dict[str, Any], session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        logs.bind(lead=f"L-{action['value']}")
        result = claiming.claim_lead(session, team_member(member), int(action["value"]), now)
        tell_privately(claim_reply(result))
        ack()
