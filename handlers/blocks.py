"""Block Kit primitives and Slack's size limits, applied in one place."""

from __future__ import annotations

from typing import Any

from handlers.text import escape as escape
from handlers.text import mention as mention

Block = dict[str, Any]

# Slack's limits (../shared/slack/README.md); builders truncate rather than risk an API error.
MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
MESSAGE_TEXT_MAX = 40000


def truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters with an ellipsis, never splitting an `&amp;`-style entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def section(text: str, *, fields: list[str] | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": truncate(f, FIELD_TEXT_MAX)} for f in fields[:SECTION_FIELDS_MAX]]
    if accessory:
        block["accessory"] = accessory
    return block


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, HEADER_TEXT_MAX)}}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, SECTION_TEXT_MAX)} for t in texts[:CONTEXT_ELEMENTS_MAX]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_TEXT_MAX)},
        "action_id": action_id,
        "value": value[:BUTTON_VALUE_MAX],
    }
    if style:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id:
        block["block_id"] = block_id
    return block


def message(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    """A message payload: fallback `text` for notifications plus blocks within Slack's cap."""
    payload: dict[str, Any] = {"text": truncate(text, MESSAGE_TEXT_MAX)}
    if blocks:
        payload["blocks"] = blocks[:MESSAGE_BLOCKS_MAX]
    return payload
