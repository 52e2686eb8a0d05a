"""`/dibs lead add`: the modal, the subcommand that opens it, and its submission."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App
from sqlalchemy.orm import Session

from bot.intake import LeadIn, field_errors, take_lead, typed_length
from handlers.commands import Caller, Subcommand, UsageError, team_member
from handlers.pipeline import Reply, Tell, reply
from models import Member

CALLBACK_ID = "lead_add"
SLACK_MAX_INPUT = 3000  # the largest max_length Slack accepts on a plain_text_input
FIELDS: list[tuple[str, str, bool, bool]] = [  # (field, label, required, multiline)
    ("name", "Contact name", True, False),
    ("company", "Company", False, False),
    ("email", "Email", False, False),
    ("phone", "Phone", False, False),
    ("website", "Website", False, False),
    ("territory", "Territory", False, False),
    ("score", "Score (0–100)", False, False),
    ("value", "Estimated value", False, False),
    ("source", "Source", False, False),
    ("notes", "Notes", False, True),
]


def lead_form() -> dict[str, Any]:
    """The modal a person fills in to add a lead by hand."""
    blocks = []
    for name, label, required, multiline in FIELDS:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "value",
            "multiline": multiline,
            "max_length": min(typed_length(name), SLACK_MAX_INPUT),
        }
        if name == "source":
            element["initial_value"] = "manual"
        blocks.append(
            {
                "type": "input",
                "block_id": name,
                "optional": not required,
                "label": {"type": "plain_text", "text": label},
                "element": element,
            }
        )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Add a lead"},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def submitted_fields(view_state: dict[str, Any]) -> dict[str, str]:
    """The form's values keyed by lead field, empty ones left out."""
    values = view_state.get("values", {})
    fields = {}
    for name, *_ in FIELDS:
        value = (values.get(name, {}).get("value") or {}).get("value")
        if value:
            fields[name] = value
    return fields


def lead(caller: Caller, args: list[str]) -> Reply:
    caller.require_member()
    if [a.lower() for a in args] != ["add"]:
        raise UsageError("The only lead command is `lead add`")
    caller.open_form(lead_form())
    return reply("Opening the lead form…")


def register(app: App) -> None:
    """Take a submitted lead form: bad fields shown on the form, the answer told privately."""

    @app.view(CALLBACK_ID)
    def lead_form_submitted(
        ack: Ack, view: dict[str, Any], session: Session, now: datetime, member: Member | None, tell_privately: Tell
    ) -> None:
        try:
            data = LeadIn.model_validate(submitted_fields(view.get("state", {})))
        except ValidationError as exc:
            ack(response_action="errors", errors=field_errors(exc))
            return
        adder = team_member(member)
        result = take_lead(session, adder.team, data, now, adder.slack_user_id)
        tell_privately(reply(f"{result.lead.ref} added and announced."))
        ack()


SUBCOMMANDS = [
    Subcommand("lead", "/dibs lead add", "enter a lead by hand", lead),
]
