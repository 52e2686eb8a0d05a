"""Slack payload fields checked before any listener runs (a bolt global middleware).

What Dibs itself put in a payload comes back from Slack as text: the ids behind its buttons and
in its modals' `private_metadata`. A value that is not such an id (edited, forged, too large for
an id column) is answered and stops here, as is text typed into a form that holds control
characters, or an event whose `event_id` is longer than Slack makes them. An unreadable button
is refused with ButtonRefused, which the pipeline's error handler answers like any refusal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.errors import DibsError
from handlers.dispute_views import (
    AWARD_ACTION_PREFIX,
    CONTEST_ACTION,
    CONTEST_CALLBACK,
    REASSIGN_ACTION,
    REASSIGN_CALLBACK,
    SPLIT_ACTION,
    SPLIT_CALLBACK,
    WITHDRAW_ACTION,
)
from handlers.views import CLAIM_ACTION
from models.bounds import EVENT_ID_LENGTH, MAX_ID, SLACK_ID_LENGTH, has_control_characters

log = logging.getLogger(__name__)

BUTTON_REFUSAL = "Dibs could not read that button; nothing was done."
FORM_REFUSAL = "This form was changed after Dibs opened it; close it and start again."
CONTROL_REFUSAL = "may not contain control characters"

_ID = r"(?P<id>[0-9]{1,10})"
_SLACK_ID = re.compile(rf"[A-Z0-9]{{1,{SLACK_ID_LENGTH}}}")
_ID_ONLY = re.compile(_ID)
_ID_AND_USER = re.compile(rf"{_ID}:[UW][A-Z0-9]{{1,{SLACK_ID_LENGTH - 1}}}")

BUTTON_VALUES: dict[str, re.Pattern[str]] = {  # what each of Dibs's buttons carries
    CLAIM_ACTION: _ID_ONLY,  # lead id
    CONTEST_ACTION: _ID_ONLY,  # lead id
    SPLIT_ACTION: _ID_ONLY,  # dispute id
    REASSIGN_ACTION: _ID_ONLY,  # dispute id
    WITHDRAW_ACTION: _ID_ONLY,  # dispute id
}
AWARD_VALUE = _ID_AND_USER  # each Award button (action_id AWARD_ACTION_PREFIX + user): dispute id and party
FORMS_OF_AN_ID = {SPLIT_CALLBACK, REASSIGN_CALLBACK, CONTEST_CALLBACK}  # private_metadata: dispute or lead id


def carries_an_id(value: Any, shape: re.Pattern[str] = _ID_ONLY) -> bool:
    """True when `value` has `shape` and its id fits an id column."""
    match = shape.fullmatch(value) if isinstance(value, str) else None
    return match is not None and 0 < int(match.group("id")) <= MAX_ID


class ButtonRefused(DibsError):
    """A click on a Dibs button whose value is not what Dibs gave it (its text says so)."""


def register(app: App) -> None:
    """Run the checks on every request, before the listeners."""

    @app.middleware
    def check_payload(body: dict[str, Any], context: BoltContext, next: Callable[[], None]) -> BoltResponse | None:
        ids = [i for i in (context.user_id, context.channel_id) if i is not None]
        event_id = str(body.get("event_id", ""))
        if not all(_SLACK_ID.fullmatch(i) for i in ids) or len(event_id) > EVENT_ID_LENGTH:
            log.warning("ignored a Slack request with a malformed user, channel or event id")
            return BoltResponse(status=200, body="")
        if body.get("type") == "block_actions" and not buttons_readable(body.get("actions") or []):
            raise ButtonRefused(BUTTON_REFUSAL)
        if body.get("type") == "view_submission":
            errors = form_errors(body.get("view") or {})
            if errors is not None:
                return _show_on_form(errors)
        next()
        return None


def buttons_readable(actions: list[dict[str, Any]]) -> bool:
    """Whether every clicked Dibs button carries the kind of value Dibs gives it."""
    return all(carries_an_id(action.get("value"), shape) for action in actions if (shape := _value_shape(action)))


def _value_shape(action: dict[str, Any]) -> re.Pattern[str] | None:
    """The value a Dibs button carries, by its action_id; None for anything else."""
    action_id = str(action.get("action_id", ""))
    return AWARD_VALUE if action_id.startswith(AWARD_ACTION_PREFIX) else BUTTON_VALUES.get(action_id)


def form_errors(view: dict[str, Any]) -> dict[str, str] | None:
    """What to show under a submitted modal's inputs, or None when it may go on.

    Control characters are shown under the input holding them; `private_metadata` that is
    not the id Dibs put there, under the first input (an empty dict: there is none, close it).
    """
    inputs: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}
    if view.get("callback_id") in FORMS_OF_AN_ID and not carries_an_id(view.get("private_metadata")):
        return {block: FORM_REFUSAL for block in list(inputs)[:1]}
    errors = {
        block: CONTROL_REFUSAL
        for block, elements in inputs.items()
        if any(has_control_characters(str(element.get("value") or "")) for element in elements.values())
    }
    return errors or None


def _show_on_form(errors: dict[str, str]) -> BoltResponse:
    """Keep the modal open with `errors` under their inputs (none: just close it)."""
    if not errors:
        return BoltResponse(status=200, body="")
    answer = {"response_action": "errors", "errors": errors}
    return BoltResponse(status=200, body=json.dumps(answer), headers={"content-type": "application/json"})
