"""Buttons and modals of the mediation message and the Contest button.

Each listener is parse → call the service → render; a refusal raised here is answered by
handlers/pipeline.py (a form shows it under the input FORM_ERROR_BLOCKS names).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session

from bot import claiming, mediation
from bot.assignment import manager_assign
from bot.mediation import MAX_PARTNERS
from handlers.answers import claim_text
from handlers.commands import UsageError, team_member
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
from handlers.pipeline import Tell, open_after_ack, open_requested_form, reply
from models import Member

Payload = dict[str, Any]


def split_shares(view: Payload) -> list[tuple[str, int]]:
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


def _parties_form(session: Session, member: Member, dispute_id: int) -> Payload:
    """The split form of a dispute of the caller's team (another team's is not found)."""
    dispute = mediation.get_dispute(session, member.team_id, dispute_id)
    return split_form(dispute_id, [p.member.slack_user_id for p in dispute.parties if p.withdrawn_at is None])


def register(app: App) -> None:
    """Wire the dispute buttons and forms into the bolt app."""

    @app.action(re.compile(f"^{re.escape(AWARD_ACTION_PREFIX)}"))
    def award(
        ack: Ack, action: Payload, session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        dispute_id, user = action["value"].split(":", 1)
        dispute = mediation.resolve(
            session, team_member(member), int(dispute_id), now, outcome="award", shares=[(user, 100)]
        )
        tell_privately(reply(f"{dispute.ref} resolved: awarded to <@{user}>."))
        ack()

    @app.action(WITHDRAW_ACTION)
    def withdraw(
        ack: Ack, action: Payload, session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        dispute = mediation.withdraw(session, team_member(member), int(action["value"]), now)
        tell_privately(reply(f"You withdrew from {dispute.ref}."))
        ack()

    def ask_split(ack: Ack, action: Payload, context: BoltContext, session: Session, member: Member | None) -> None:
        open_after_ack(context, _parties_form(session, team_member(member), int(action["value"])))
        ack()

    def ask_reassign(ack: Ack, action: Payload, context: BoltContext) -> None:
        open_after_ack(context, reassign_form(int(action["value"])))
        ack()

    def ask_contest(ack: Ack, action: Payload, context: BoltContext) -> None:
        open_after_ack(context, contest_form(int(action["value"])))
        ack()

    app.action(SPLIT_ACTION)(ack=ask_split, lazy=[open_requested_form])
    app.action(REASSIGN_ACTION)(ack=ask_reassign, lazy=[open_requested_form])
    app.action(CONTEST_ACTION)(ack=ask_contest, lazy=[open_requested_form])

    @app.view(SPLIT_CALLBACK)
    def split_submitted(
        ack: Ack, view: Payload, session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        dispute = mediation.resolve(
            session,
            team_member(member),
            int(view["private_metadata"]),
            now,
            outcome="split",
            shares=split_shares(view),
            reason=form_value(view, "reason"),
        )
        tell_privately(reply(f"{dispute.ref} resolved: credit split."))
        ack()

    @app.view(REASSIGN_CALLBACK)
    def reassign_submitted(
        ack: Ack, view: Payload, session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        manager = team_member(member)
        dispute = mediation.get_dispute(session, manager.team_id, int(view["private_metadata"]))
        rep = form_value(view, "rep") or ""
        manager_assign(session, manager, dispute.lead_id, rep, now, form_value(view, "reason"))
        tell_privately(reply(f"{dispute.ref} resolved: {dispute.lead.ref} assigned to <@{rep}>."))
        ack()

    @app.view(CONTEST_CALLBACK)
    def contest_submitted(
        ack: Ack, view: Payload, session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        result = claiming.contest(
            session, team_member(member), int(view["private_metadata"]), form_value(view, "reason") or "", now
        )
        tell_privately(reply(claim_text(result)))
        ack()
