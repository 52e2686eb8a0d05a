"""Notices worded from their facts just before they are sent, one function per notice.

The domain queues a notice kind and JSON facts (bot/outbox.py `Notice`); the delivery worker
calls `notice_text`. User text in the facts (a statement, a reason) is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.errors import LimitReached
from bot.outbox import Notice
from handlers.refusals import limit_text
from handlers.text import escape, local_time, mention

Facts = dict[str, Any]


def _mark_contacted(lead: str) -> str:
    return f"Mark it contacted with `/dibs contacted {lead}`."


def draw_won(f: Facts) -> str:
    return f"{f['lead']} is yours: you won the fair-start draw among {f['claimants']}. {_mark_contacted(f['lead'])}"


def draw_lost(f: Facts) -> str:
    return (
        f"{f['lead']} went to {mention(f['winner'])} in the fair-start draw among {f['claimants']}. "
        f"`/dibs why {f['lead']}` shows how it was decided."
    )


def auto_assigned(f: Facts) -> str:
    return (
        f"{f['lead']} was unclaimed for {f['after_minutes']} minutes and is now yours "
        f"(you were furthest below your fair share). {_mark_contacted(f['lead'])}"
    )


def assigned_to_you(f: Facts) -> str:
    if f["by"] is None:
        return f"{f['lead']} was assigned to you in the CRM. {_mark_contacted(f['lead'])}"
    return f"{mention(f['by'])} assigned {f['lead']} to you. {_mark_contacted(f['lead'])}"


def reassigned_away(f: Facts) -> str:
    if f["by"] is None:
        return f"{f['lead']} was reassigned to {mention(f['to'])} in the CRM."
    return f"{mention(f['by'])} reassigned {f['lead']} to {mention(f['to'])}."


def routed_to_account_owner(f: Facts) -> str:
    return (
        f"{f['lead']} is yours: it belongs to the account you hold ({f['account_lead']}). {_mark_contacted(f['lead'])}"
    )


def contact_reminder(f: Facts) -> str:
    deadline = local_time(f["deadline"], f["timezone"]) if f.get("deadline") else "soon"
    return (
        f"Reminder: {f['lead']} has not been marked contacted. Do it by {deadline} "
        f"(`/dibs contacted {f['lead']}`) or it goes back to the team."
    )


def claim_expired(f: Facts) -> str:
    return f"{f['lead']} was not marked contacted in time, so it went back to the team."


def lead_escalated(f: Facts) -> str:
    missed = ", ".join(mention(uid) for uid in f["holders"])
    return (
        f"{f['lead']} missed its contact SLA {f['misses']} times ({missed}), so it comes to the managers "
        f"instead of the channel. Assign it with `/dibs assign {f['lead']} @rep`."
    )


def no_eligible_rep(f: Facts) -> str:
    """To the fallback (a DM: "to you"), and in the card's thread (`in_thread`: to whom)."""
    went_to = f.get("went_to", "managers")
    whom = "you" if not f.get("in_thread") else "the managers" if went_to == "managers" else mention(went_to)
    return (
        f"No rep can take {f['lead']} now, so it went to {whom} instead of waiting in the channel:"
        f"{passed_over(f['skipped'])}\nAssign it with `/dibs assign {f['lead']} @rep`."
    )


def passed_over(skipped: dict[str, Any]) -> str:
    """One line per rep passed over and the rule that said so (refusal records by Slack user id)."""
    return "".join(f"\n• {mention(uid)}: {limit_text(LimitReached.from_record(why))}" for uid, why in skipped.items())


def paused_for_misses(f: Facts) -> str:
    return (
        f"You missed {f['misses']} contact SLAs today, so auto-assign passes you over for now. "
        "`/dibs resume` when you are ready (or ask a manager); you can still claim leads yourself."
    )


def party_statement(f: Facts) -> str:
    return f"{mention(f['user'])} says: {escape(f['statement'])}"


def party_withdrew(f: Facts) -> str:
    return f"{mention(f['user'])} withdrew from {f['dispute']}."


def dispute_resolved(f: Facts) -> str:
    """The outcome as the thread and every party (and any new partner) read it."""
    first = mention(f["shares"][0][0])
    verdict = {
        "award": f"awarded to {first}",
        "assign": f"assigned to {first}",
        "split": "split: " + " · ".join(f"{mention(uid)} {pct}%" for uid, pct in f["shares"]),
        "withdrawn": f"goes to {first}, the only party left",
    }[f["outcome"]]
    by = f" by {mention(f['by'])}" if f.get("by") else ""
    why = f" Reason: {escape(f['reason'])}" if f.get("reason") else ""
    return f"{f['dispute']} resolved{by}: {f['lead']} {verdict}.{why}"


def dispute_reminder(f: Facts) -> str:
    return (
        f"Reminder: {f['dispute']} over {f['lead']} has been open for {f['hours']}h. "
        f"Resolve it with the buttons or `/dibs resolve {f['dispute']} award @rep`."
    )


NOTICES: dict[Notice, Callable[[Facts], str]] = {
    Notice.DRAW_WON: draw_won,
    Notice.DRAW_LOST: draw_lost,
    Notice.AUTO_ASSIGNED: auto_assigned,
    Notice.ASSIGNED_TO_YOU: assigned_to_you,
    Notice.REASSIGNED_AWAY: reassigned_away,
    Notice.ROUTED_TO_ACCOUNT_OWNER: routed_to_account_owner,
    Notice.CONTACT_REMINDER: contact_reminder,
    Notice.CLAIM_EXPIRED: claim_expired,
    Notice.LEAD_ESCALATED: lead_escalated,
    Notice.NO_ELIGIBLE_REP: no_eligible_rep,
    Notice.PAUSED_FOR_MISSES: paused_for_misses,
    Notice.PARTY_STATEMENT: party_statement,
    Notice.PARTY_WITHDREW: party_withdrew,
    Notice.DISPUTE_RESOLVED: dispute_resolved,
    Notice.DISPUTE_REMINDER: dispute_reminder,
}


def notice_text(payload: dict[str, Any]) -> str:
    """The message text of a queued notice (a thread post queued before notices existed has its text)."""
    if "text" in payload:
        return str(payload["text"])
    return NOTICES[Notice(payload["notice"])](payload["facts"])
