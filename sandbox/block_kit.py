"""Slack's Block Kit and message rules, as the stand-in enforces them (../shared/slack/README.md).

Pure functions over the JSON a call carries: each returns one readable line per broken rule.
"""

from __future__ import annotations

import json
from typing import Any

# Block Kit and message limits (docs.slack.dev; /work/shared/slack/README.md).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_MODAL_LABEL = 24
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000
MAX_MESSAGE_TEXT = 40_000

MESSAGE_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.scheduleMessage",
        "files.completeUploadExternal",
    }
)
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})


def block_kit_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Every Block Kit or message-size limit a call breaks, one readable line each."""
    return _text_problems(method, args) + layout_problems(method, args)


def _text_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Over-long message text: Slack truncates it rather than refusing the call."""
    if method not in MESSAGE_METHODS:
        return []
    return [f"{method}: {p}" for p in _too_long("text", args.get("text"), MAX_MESSAGE_TEXT)]


def layout_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Breaks of Block Kit limits, for which Slack refuses the whole call."""
    if method in MESSAGE_METHODS and "blocks" in args:
        found = _blocks_problems(args["blocks"], MAX_MESSAGE_BLOCKS, "blocks")
    elif method in VIEW_METHODS and "view" in args:
        found = _view_problems(args["view"])
    else:
        found = []
    return [f"{method}: {p}" for p in found]


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["view is not a JSON object"]
    found = _blocks_problems(view.get("blocks", []), MAX_VIEW_BLOCKS, "view.blocks")
    for key in ("title", "submit", "close"):
        found += _too_long(f"view.{key}.text", _text_of(view.get(key)), MAX_MODAL_LABEL)
    found += _too_long("view.private_metadata", view.get("private_metadata"), MAX_PRIVATE_METADATA)
    size = len(json.dumps(view).encode())
    if size > MAX_VIEW_BYTES:
        found.append(f"view is {size} bytes (limit {MAX_VIEW_BYTES})")
    return found


def _blocks_problems(blocks: Any, max_blocks: int, where: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where} is not a JSON array of blocks"]
    found = []
    if len(blocks) > max_blocks:
        found.append(f"{where} has {len(blocks)} blocks (limit {max_blocks})")
    for i, block in enumerate(blocks):
        if isinstance(block, dict):
            found += _block_problems(block, f"{where}[{i}]")
    return found


def _block_problems(block: dict[str, Any], where: str) -> list[str]:
    found = _too_long(f"{where}.block_id", block.get("block_id"), MAX_ID)
    kind = block.get("type")
    if kind == "section":
        found += _too_long(f"{where}.text", _text_of(block.get("text")), MAX_SECTION_TEXT)
        fields = block.get("fields") or []
        if len(fields) > MAX_SECTION_FIELDS:
            found.append(f"{where}.fields has {len(fields)} fields (limit {MAX_SECTION_FIELDS})")
        for j, item in enumerate(fields):
            found += _too_long(f"{where}.fields[{j}]", _text_of(item), MAX_FIELD_TEXT)
    elif kind == "header":
        found += _too_long(f"{where}.text", _text_of(block.get("text")), MAX_HEADER_TEXT)
    elif kind == "actions" and len(block.get("elements") or []) > MAX_ACTIONS_ELEMENTS:
        count = len(block["elements"])
        found.append(f"{where}.elements has {count} elements (limit {MAX_ACTIONS_ELEMENTS})")
    for path, element in _interactive_elements(block):
        found += _element_problems(element, f"{where}.{path}")
    return found


def _interactive_elements(block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Elements that carry an action_id: actions elements, a section accessory, an input element."""
    if block.get("type") == "actions":
        found = [(f"elements[{j}]", e) for j, e in enumerate(block.get("elements") or [])]
    else:
        found = [(key, block[key]) for key in ("accessory", "element") if key in block]
    return [(path, element) for path, element in found if isinstance(element, dict)]


def _element_problems(element: dict[str, Any], where: str) -> list[str]:
    found = _too_long(f"{where}.action_id", element.get("action_id"), MAX_ID)
    if element.get("type") == "button":
        found += _too_long(f"{where}.text", _text_of(element.get("text")), MAX_BUTTON_TEXT)
        found += _too_long(f"{where}.value", element.get("value"), MAX_BUTTON_VALUE)
        found += _too_long(f"{where}.url", element.get("url"), MAX_URL)
    return found


def _text_of(text_object: Any) -> Any:
    return text_object.get("text") if isinstance(text_object, dict) else None


def _too_long(where: str, value: Any, limit: int) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"{where} is {len(value)} chars (limit {limit})"]
    return []
