"""Block Kit views named for what the user sees: lead cards, claim lists, App Home."""

from __future__ import annotations

from decimal import Decimal

from bot.claims import LimitUse
from bot.leads import LeadState
from handlers.blocks import (
    Block,
    button,
    context,
    divider,
    escape,
    mention,
    message,
    section,
)
from handlers.text import local_time
from models import Claim, Lead, LeadCard, LeadStatus

CLAIM_ACTION = "claim_lead"
CARDS_PER_MESSAGE = 10


def money(amount: Decimal | None) -> str:
    return f"${amount:,.0f}" if amount is not None else "—"


def _who(lead: Lead) -> str:
    name = f"*{escape(lead.name)}*"
    return f"{name} · {escape(lead.company)}" if lead.company else name


def _status_line(state: LeadState, tz: str) -> str:
    lead = state.lead
    if state.dispute_ref:
        mediator = f", mediator {mention(state.mediator)}" if state.mediator else ""
        return f":scales: Disputed — {state.dispute_ref}{mediator}"
    if lead.status == LeadStatus.OPEN:
        committed = f" · draw commitment `{lead.draw_commitment}`" if lead.draw_commitment else ""
        if state.pending:
            return f":hourglass_flowing_sand: Fair start: {state.pending} claim(s) so far — draw soon{committed}"
        return f":large_green_circle: Open — first to claim gets it{committed}"
    credit = " · ".join(f"{mention(uid)} {pct}%" for uid, pct in state.credit) if len(state.credit) > 1 else ""
    owner = mention(state.owner) if state.owner else "nobody"
    if lead.status == LeadStatus.WON:
        return f":trophy: Won by {credit or owner} · {money(state.amount)}"
    if lead.status == LeadStatus.LOST:
        reason = f" — {escape(state.outcome_reason)}" if state.outcome_reason else ""
        return f":x: Lost by {owner}{reason}"
    verb = {
        "auto": "Auto-assigned to",
        "assign": "Assigned to",
        "award": "Awarded to",
        "route": "Routed to account owner",
        "split": "Split between",
    }.get(state.how or "", "Claimed by")
    since = f" · {local_time(state.since, tz, '%H:%M %Z')}" if state.since else ""
    contacted = " · contacted :white_check_mark:" if state.contacted else ""
    if state.contact_due and not state.contacted:
        contacted = f" · contact due {local_time(state.contact_due, state.owner_zone or tz)}"
    return f":bust_in_silhouette: {verb} {credit or owner}{since}{contacted}"


def lead_card(state: LeadState, tz: str, hot_score: int) -> list[Block]:
    """One lead: who, company, territory, score, source, value, and a Claim button while open."""
    lead = state.lead
    hot = " :fire:" if lead.score is not None and lead.score >= hot_score else ""
    fields = [
        f"*Territory*\n{escape(lead.territory or '—')}",
        f"*Score*\n{lead.score if lead.score is not None else '—'}{hot}",
        f"*Source*\n{escape(lead.source or '—')}",
        f"*Value*\n{money(lead.value)}",
    ]
    contact = " · ".join(escape(v) for v in (lead.email, lead.phone) if v)
    if contact:
        fields.append(f"*Contact*\n{contact}")
    claim = button("Claim", CLAIM_ACTION, str(lead.id), style="primary") if state.claimable else None
    blocks = [section(f"*{lead.ref}* {_who(lead)}", fields=fields, accessory=claim), context(_status_line(state, tz))]
    return blocks


def retired_card(card: LeadCard) -> list[Block]:
    """What an old card says after the lead was re-announced (or sent up to the managers): how, by
    whom, and their reason."""
    by = f" by {mention(card.retired_by)}" if card.retired_by else ""
    reason = f" Reason: {escape(card.retired_reason)}" if card.retired_reason else ""
    if card.retired_as == "escalated":  # missed too often: the managers have it now
        return [context(f"*L-{card.lead_id}* expired{by} — sent to the managers.{reason}")]
    return [context(f"*L-{card.lead_id}* {card.retired_as or 'moved'}{by} — re-announced below.{reason}")]


def cards_message(rendered: list[list[Block]], refs: list[str]) -> dict:
    """Up to 10 cards in one channel message, divided; the fallback text lists the refs."""
    blocks: list[Block] = []
    for card in rendered[:CARDS_PER_MESSAGE]:
        if blocks:
            blocks.append(divider())
        blocks.extend(card)
    noun = "New lead" if len(refs) == 1 else f"{len(refs)} new leads"
    return message(f"{noun}: {', '.join(refs)}", blocks)


def lead_line(lead: Lead) -> str:
    score = f" · score {lead.score}" if lead.score is not None else ""
    territory = f" · {escape(lead.territory)}" if lead.territory else ""
    return f"*{lead.ref}* {_who(lead)}{territory}{score}"


def limit_summary(use: LimitUse) -> str:
    """`1/5 active · 0/10 today · 0/2 hot today`."""
    return (
        f"{use.active}/{use.max_active} active · {use.today}/{use.max_today} today · "
        f"{use.hot_today}/{use.max_hot_today} hot today"
    )


def claims_section(held: list[Claim], use: LimitUse) -> list[Block]:
    """A rep's own claims and how much of each limit they use (`/dibs mine`, App Home)."""
    lines = [
        f"{lead_line(c.lead)} — {'in the draw' if c.status == 'pending' else 'yours'}"
        + (" · contacted" if c.contacted_at else "")
        for c in held
    ]
    return [
        section("*Your claims*\n" + ("\n".join(lines) if lines else "None right now.")),
        context(f"Limits: {limit_summary(use)}"),
    ]
