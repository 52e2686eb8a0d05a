"""Block Kit for mediation: the case message, and the split, reassign and contest modals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.mediation import MAX_PARTNERS, Case
from handlers.blocks import (
    Block,
    actions,
    button,
    context,
    escape,
    header,
    mention,
    message,
    section,
)
from handlers.people import name_or_place
from handlers.text import local_time

AWARD_ACTION_PREFIX = "dispute_award:"  # + the party's user id: action_ids must differ within a block
SPLIT_ACTION = "dispute_split"
REASSIGN_ACTION = "dispute_reassign"
WITHDRAW_ACTION = "dispute_withdraw"
CONTEST_ACTION = "contest_lead"
SPLIT_CALLBACK = "dispute_split_form"
REASSIGN_CALLBACK = "dispute_reassign_form"
CONTEST_CALLBACK = "contest_form"
MAX_AWARD_BUTTONS = 10
FORM_ERROR_BLOCKS = {  # the input under which each form shows why it was refused
    SPLIT_CALLBACK: "percent_0",
    REASSIGN_CALLBACK: "rep",
    CONTEST_CALLBACK: "reason",
}


def _party_line(case: Case, index: int) -> str:
    party = case.parties[index]
    ratio = f"{party.ratio:.2f}" if party.ratio is not None else "—"
    order = " (first)" if index == 0 else ""
    gone = " — _withdrew_" if party.withdrawn else ""
    return (
        f"• {mention(party.user)}: claimed {local_time(party.claimed_at, case.timezone, '%a %H:%M')}{order}"
        f" · load {party.load.active}/{party.load.max_active} active"
        f" · fair-share ratio {ratio}{gone}"
    )


def _outcome_line(case: Case) -> str:
    dispute = case.dispute
    by = f" by {mention(case.resolved_by)}" if case.resolved_by else ""
    credit = " · ".join(f"{mention(uid)} {pct}%" for uid, pct in case.credit)
    why = f" — {escape(dispute.reason)}" if dispute.reason else ""
    return f":white_check_mark: {dispute.outcome or dispute.status}{by}: {credit}{why}"


def award_action(slack_user_id: str) -> str:
    """The action_id of the Award button for one party (its value still carries dispute and user)."""
    return AWARD_ACTION_PREFIX + slack_user_id


def dispute_case(case: Case, names: Mapping[str, str]) -> dict[str, Any]:
    """The mediation message: tags the mediator and parties, lays out the case, offers decisions.

    `names` (Slack user id → display name) label the Award buttons, whose plain text cannot show
    a mention; a party Slack gave no name for is "party N", N being their line in the case.
    """
    dispute, lead = case.dispute, case.lead
    kind = "the same lead" if dispute.kind == "same_lead" else "the same account"
    who = ", ".join(mention(p.user) for p in case.parties)
    ask = f"{mention(case.mediator)}, please decide." if case.mediator else "A manager of the team, please decide."
    company = f" · {escape(lead.company.rstrip('.'))}" if lead.company else ""
    blocks: list[Block] = [
        header(f"{dispute.ref}: {lead.ref} {lead.name}"),
        section(f"{ask} {who} both want {kind}: *{lead.ref}* {escape(lead.name)}{company}."),
        section("\n".join(_party_line(case, i) for i in range(len(case.parties)))),
    ]
    facts = []
    if case.account_holder:
        held = dispute.account_held_since
        since = local_time(held, case.timezone, "%d %b") if held else "earlier"
        facts.append(f"Account held by {mention(case.account_holder)} since {since}.")
    if case.suggestion:
        rule = "account owner" if case.account_holder == case.suggestion else "first claim"
        facts.append(f"Policy suggests: {mention(case.suggestion)} ({rule}).")
    if facts:
        blocks.append(section(" ".join(facts)))
    if dispute.status == "open":
        awards = [
            button(
                f"Award to {name_or_place(names, p.user, f'party {line}')}",
                award_action(p.user),
                f"{dispute.id}:{p.user}",
            )
            for line, p in enumerate(case.parties, 1)
            if not p.withdrawn
        ][:MAX_AWARD_BUTTONS]
        blocks.append(
            actions(
                *awards,
                button("Split credit…", SPLIT_ACTION, str(dispute.id)),
                button("Reassign…", REASSIGN_ACTION, str(dispute.id)),
                button("Withdraw", WITHDRAW_ACTION, str(dispute.id), style="danger"),
            )
        )
        blocks.append(context("Parties: state your case in this thread. Withdraw if you step back."))
    else:
        blocks.append(section(_outcome_line(case)))
    return message(f"{dispute.ref}: {lead.ref} is disputed by {who}", blocks)


def _input(block_id: str, label: str, element: dict[str, Any], optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def _modal(callback_id: str, title: str, submit: str, dispute_id: int, blocks: list[Block]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": str(dispute_id),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _reason() -> Block:
    return _input(
        "reason", "Reason", {"type": "plain_text_input", "action_id": "value", "multiline": True}, optional=True
    )


def split_form(dispute_id: int, parties: list[str]) -> dict[str, Any]:
    """Up to four partners with whole-number percentages; the parties are filled in."""
    blocks: list[Block] = []
    for i in range(MAX_PARTNERS):
        user: dict[str, Any] = {"type": "users_select", "action_id": "value"}
        if i < len(parties):
            user["initial_user"] = parties[i]
        blocks.append(_input(f"partner_{i}", f"Partner {i + 1}", user, optional=i >= 2))
        blocks.append(
            _input(
                f"percent_{i}",
                f"Partner {i + 1} %",
                {"type": "number_input", "action_id": "value", "is_decimal_allowed": False},
                optional=i >= 2,
            )
        )
    return _modal(SPLIT_CALLBACK, "Split credit", "Split", dispute_id, [*blocks, _reason()])


def reassign_form(dispute_id: int) -> dict[str, Any]:
    return _modal(
        REASSIGN_CALLBACK,
        "Reassign the lead",
        "Assign",
        dispute_id,
        [_input("rep", "Give it to", {"type": "users_select", "action_id": "value"}), _reason()],
    )


def contest_form(lead_id: int) -> dict[str, Any]:
    form = _modal(
        CONTEST_CALLBACK,
        "Contest a lead",
        "Contest",
        lead_id,
        [
            _input(
                "reason",
                "Why should it be yours?",
                {"type": "plain_text_input", "action_id": "value", "multiline": True},
            )
        ],
    )
    return form


def form_value(view: dict[str, Any], block_id: str) -> str | None:
    """What was entered in one input of a submitted modal (text, number or user)."""
    value = view.get("state", {}).get("values", {}).get(block_id, {}).get("value") or {}
    found = value.get("value") or value.get("selected_user")
    return str(found).strip() if found not in (None, "") else None
