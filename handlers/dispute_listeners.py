"""Buttons and modals of the mediation message and the Contest button."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, mediation
from bot.assignment import manager_assign
from bot.errors import DibsError
from bot.mediation import MAX_PARTNERS
from handlers.answers import claim_text
from handlers.commands import Caller, Reply, UsageError, answer_privately, reply, tell_privately
from handlers.dispute_views import (
    AWARD_ACTION_PREFIX,
    CONTEST_ACTION,
    CONTEST_CALLBACK,
    REASSIGN_ACTION,
    REASSIGN_CALLBACK,
    SPLIT_ACTION,
    SPLIT_CALLBACK,
    WITHDRAW_ACTION,
    contest_form,
    form_value,
    reassign_form,
    split_form,
)
from handlers.refusals import refusal_text
from models import Dispute

Scoped = Callable[[Callable[..., None]], Callable[..., None]]
CallerOf = Callable[..., Caller]


def _submit(ack: Ack, caller: Caller, action: Callable[[], Reply], error_block: str) -> None:
    """A modal's submission: close it and answer privately, or show the problem on the form."""
    try:
        answer = action()
        tell_privately(caller, answer)
        caller.session.commit()
    except DibsError as exc:
        caller.session.rollback()
        ack(response_action="errors", errors={error_block: refusal_text(exc)[:300]})
        return
    ack()


def split_shares(view: dict[str, Any]) -> list[tuple[str, int]]:
    """The partners and percentages entered in the split form, in the order given."""
    shares = []
    for i in range(MAX_PARTNERS):
        user, percent = form_value(view, f"partner_{i}"), form_value(view, f"percent_{i}")
        if user is None and percent is None:
            continue
        if user is None or percent is None or not percent.isdigit():
            raise UsageError(f"Partner {i + 1} needs both a person and a whole percentage")
        shares.append((user, int(percent)))
    return sorted(shares, key=lambda s: -s[1])


def register_dispute_listeners(app: App, scoped: Scoped, caller_of: CallerOf, sessions: sessionmaker[Session]) -> None:
    """Wire the dispute buttons and forms into the bolt app."""

    @app.action(re.compile(f"^{re.escape(AWARD_ACTION_PREFIX)}"))
    @scoped
    def award(ack: Ack, action: dict, context: BoltContext) -> None:
        caller = caller_of(context)
        dispute_id, user = action["value"].split(":", 1)

        def decide() -> Reply:
            dispute = mediation.resolve(
                caller.session,
                caller.require_member(),
                int(dispute_id),
                caller.now,
                outcome="award",
                shares=[(user, 100)],
            )
            return reply(f"{dispute.ref} resolved: awarded to <@{user}>.")

        answer_privately(caller, decide)
        ack()

    @app.action(WITHDRAW_ACTION)
    @scoped
    def withdraw(ack: Ack, action: dict, context: BoltContext) -> None:
        caller = caller_of(context)

        def step_back() -> Reply:
            dispute = mediation.withdraw(caller.session, caller.require_member(), int(action["value"]), caller.now)
            return reply(f"You withdrew from {dispute.ref}.")

        answer_privately(caller, step_back)
        ack()

    def opener(form: Callable[[Session, int], dict[str, Any]]) -> Callable[..., None]:
        def open_form(body: dict, action: dict, client: WebClient) -> None:
            with sessions() as session:
                view = form(session, int(action["value"].split(":")[0]))
            client.views_open(trigger_id=body["trigger_id"], view=view)

        return open_form

    def parties_of(session: Session, dispute_id: int) -> dict[str, Any]:
        dispute = session.get(Dispute, dispute_id)
        parties = [p.member.slack_user_id for p in dispute.parties if p.withdrawn_at is None] if dispute else []
        return split_form(dispute_id, parties)

    def ack_now(ack: Ack) -> None:
        ack()

    app.action(SPLIT_ACTION)(ack=ack_now, lazy=[opener(parties_of)])
    app.action(REASSIGN_ACTION)(ack=ack_now, lazy=[opener(lambda _s, dispute_id: reassign_form(dispute_id))])
    app.action(CONTEST_ACTION)(ack=ack_now, lazy=[opener(lambda _s, lead_id: contest_form(lead_id))])

    @app.view(SPLIT_CALLBACK)
    @scoped
    def split_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
        caller = caller_of(context)

        def decide() -> Reply:
            dispute = mediation.resolve(
                caller.session,
                caller.require_member(),
                int(view["private_metadata"]),
                caller.now,
                outcome="split",
                shares=split_shares(view),
                reason=form_value(view, "reason"),
            )
            return reply(f"{dispute.ref} resolved: credit split.")

        _submit(ack, caller, decide, "percent_0")

    @app.view(REASSIGN_CALLBACK)
    @scoped
    def reassign_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
        caller = caller_of(context)

        def decide() -> Reply:
            dispute = mediation.get_dispute(
                caller.session, caller.require_member().team_id, int(view["private_metadata"])
            )
            rep = form_value(view, "rep") or ""
            manager_assign(
                caller.session, caller.require_member(), dispute.lead_id, rep, caller.now, form_value(view, "reason")
            )
            return reply(f"{dispute.ref} resolved: {dispute.lead.ref} assigned to <@{rep}>.")

        _submit(ack, caller, decide, "rep")

    @app.view(CONTEST_CALLBACK)
    @scoped
    def contest_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
        caller = caller_of(context)

        def file() -> Reply:
            result = claiming.contest(
                caller.session,
                caller.require_member(),
                int(view["private_metadata"]),
                form_value(view, "reason") or "",
                caller.now,
            )
            return reply(claim_text(result))

        _submit(ack, caller, file, "reason")
