"""Slack's Block Kit and message rules, as the stand-in enforces them (../shared/slack/README.md).

Pure functions over the JSON a Web API call, or the app's own HTTP answer to Slack, carries: each
returns one readable line per broken rule. Figures and surfaces are those of docs.slack.dev (Block
Kit blocks, block elements, composition objects, view objects); where the docs leave room, the rule
is the stricter reading. `slack_sdk.models` checks each block's own limits too; the README's
figures are checked here as well, with the path of what breaks them, and what slack_sdk cannot see
(uniqueness, message and view limits, plain_text-only fields, surfaces) only here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_ALT_TEXT = 2000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
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
VIEW_TYPES = {
    "views.open": {"modal"},
    "views.push": {"modal"},
    "views.update": {"modal", "home"},
    "views.publish": {"home"},
}

# Block types and where they may appear (an input block is for modals and App Home only).
BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section"}
    | {"table", "video"}
)
VIEW_ONLY_BLOCKS = frozenset({"input"})
MESSAGE_ONLY_BLOCKS = frozenset({"file", "markdown", "table"})

# Interactive elements by the part of a block that holds them.
SELECTS = frozenset(
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
)
ACTIONS_ELEMENTS = SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
ACCESSORY_ELEMENTS = (ACTIONS_ELEMENTS - {"datetimepicker"}) | {"image"}
INPUT_ELEMENTS = (ACTIONS_ELEMENTS - {"button", "overflow", "workflow_button"}) | {
    "email_text_input",
    "file_input",
    "number_input",
    "plain_text_input",
    "rich_text_input",
    "url_text_input",
}
CONTEXT_ELEMENTS = frozenset({"image", "plain_text", "mrkdwn"})

# Text objects Slack takes as plain_text only: under these keys anywhere, the `text` of these
# element types, and the option texts of menus (checkboxes and radio buttons may use mrkdwn).
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
PLAIN_ONLY_KEYS = frozenset({"placeholder", "label", "hint", "title", "confirm", "deny", "submit", "close"})
PLAIN_TEXT_OF = frozenset({"header", "button"})
PLAIN_OPTIONS_OF = SELECTS | {"overflow"}
OPTION_KEYS = frozenset({"options", "option_groups", "initial_option", "initial_options"})

# What plain_text shows literally to people: mentions and control sequences, and raw user ids.
CONTROL_SEQUENCE = re.compile(r"<[@#!][^>]*>")
RAW_USER_ID = re.compile(r"\b[UW][0-9][A-Z0-9]{3,}\b")

COMMAND = "command"
VIEW_SUBMISSION = "view_submission"
COMMAND_ANSWER_KEYS = frozenset(
    {"response_type", "text", "blocks", "attachments", "mrkdwn", "unfurl_links", "unfurl_media"}
)
RESPONSE_ACTIONS = frozenset({"errors", "update", "push", "clear"})


def block_kit_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Every Block Kit or message rule a call breaks, one readable line each."""
    if method in MESSAGE_METHODS:
        found = _message_text_problems(args.get("text"))
        found += _shown_raw(args["blocks"], "blocks") if "blocks" in args else []
    elif method in VIEW_METHODS and "view" in args:
        found = _shown_raw(args["view"], "view")
    else:
        found = []
    return [f"{method}: {p}" for p in found] + layout_problems(method, args)


def layout_problems(method: str, args: dict[str, Any]) -> list[str]:
    """Breaks of Block Kit rules for which Slack refuses the whole call.

    Slack answers `invalid_blocks` for a message and `invalid_arguments` for a view.
    """
    if method in MESSAGE_METHODS and "blocks" in args:
        found = _message_blocks_problems(args["blocks"], "blocks")
    elif method in VIEW_METHODS and "view" in args:
        found = _view_problems(args["view"], VIEW_TYPES[method])
    else:
        found = []
    return [f"{method}: {p}" for p in found]


def app_answer_problems(kind: str, body: bytes | str, submitted_view: dict[str, Any] | None = None) -> list[str]:
    """What Slack would refuse or show wrongly in the app's HTTP answer to Slack.

    `kind` is `command` (a slash command's immediate answer) or `view_submission` (a modal's
    `response_action`); `body` is the raw HTTP body, empty for a bare acknowledgement. An `errors`
    answer may only name input blocks of `submitted_view` (its blocks or its `state.values`).
    """
    if kind not in (COMMAND, VIEW_SUBMISSION):
        raise ValueError(f"unknown kind of answer {kind!r}")
    text = body.decode() if isinstance(body, bytes) else body
    if not text:
        return []
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if kind == COMMAND:
        found = _command_answer_problems(answer, text)
    else:
        found = _view_answer_problems(answer, submitted_view or {})
    return [f"{kind} answer: {p}" for p in found]


# ----- what Slack accepts but shows wrongly


def _message_text_problems(text: Any) -> list[str]:
    """Slack truncates message text past its limit rather than refusing the call."""
    return _too_long("text", text, MAX_MESSAGE_TEXT)


def _shown_raw(node: Any, path: str) -> list[str]:
    """plain_text holding a mention, a control sequence or a user id: people see the characters."""
    found = []
    for where, text in _text_objects(node, path):
        if text["type"] != "plain_text" or not isinstance(text.get("text"), str):
            continue
        found += [
            f"{where}.text is plain_text, so {seq!r} shows as typed" for seq in CONTROL_SEQUENCE.findall(text["text"])
        ]
        outside = CONTROL_SEQUENCE.sub("", text["text"])
        found += [f"{where}.text shows the raw user id {uid!r}" for uid in RAW_USER_ID.findall(outside)]
    return found


def _text_objects(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every text object (plain_text or mrkdwn) in `node`, with its path."""
    if isinstance(node, list):
        return [found for i, item in enumerate(node) for found in _text_objects(item, f"{path}[{i}]")]
    if not isinstance(node, dict):
        return []
    if node.get("type") in TEXT_TYPES:
        return [(path, node)]
    return [found for key, value in node.items() for found in _text_objects(value, f"{path}.{key}")]


def _empty_texts(node: Any, path: str) -> list[str]:
    """Slack refuses a text object without text."""
    return [f"{where}.text is empty" for where, text in _text_objects(node, path) if not text.get("text")]


# ----- messages and views


def _message_blocks_problems(blocks: Any, where: str) -> list[str]:
    return _blocks_problems(blocks, where, MAX_MESSAGE_BLOCKS, in_view=False)


def _view_problems(view: Any, types: set[str]) -> list[str]:
    if not isinstance(view, dict):
        return ["view is not a JSON object"]
    kind = view.get("type")
    if kind not in types:
        return [f"view.type is {kind!r}, not {' or '.join(sorted(types))}"]
    found = _blocks_problems(view.get("blocks"), "view.blocks", MAX_VIEW_BLOCKS, in_view=True)
    outside_blocks = {k: v for k, v in view.items() if k != "blocks"}
    found += _plain_only_problems(outside_blocks, "view") + _empty_texts(outside_blocks, "view")
    if kind == "modal":
        found += _modal_problems(view)
    elif "submit" in view or "close" in view:
        found.append("a home view cannot have submit or close")
    found += _too_long("view.private_metadata", view.get("private_metadata"), MAX_PRIVATE_METADATA)
    for key in ("callback_id", "external_id"):
        found += _too_long(f"view.{key}", view.get(key), MAX_ID)
    size = len(json.dumps(view).encode())
    if size > MAX_VIEW_BYTES:
        found.append(f"view is {size} bytes (limit {MAX_VIEW_BYTES})")
    return found


def _modal_problems(view: dict[str, Any]) -> list[str]:
    found = [] if isinstance(view.get("title"), dict) else ["view.title is missing (a modal needs one)"]
    for key in ("title", "submit", "close"):
        found += _too_long(f"view.{key}.text", _text_of(view.get(key)), MAX_MODAL_LABEL)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        found.append("view.submit is missing (a modal with input blocks needs one)")
    return found


def _blocks_problems(blocks: Any, where: str, max_blocks: int, *, in_view: bool) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{where} is not a JSON array of blocks"]
    found = []
    if len(blocks) > max_blocks:
        found.append(f"{where} has {len(blocks)} blocks (limit {max_blocks})")
    for i, block in enumerate(blocks):
        if isinstance(block, dict):
            found += _block_problems(block, f"{where}[{i}]", in_view=in_view)
        else:
            found.append(f"{where}[{i}] is not a JSON object")
    ids = Counter(b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id") is not None)
    found += [
        f"{where} has block_id {bid!r} on {n} blocks (unique per message or view)" for bid, n in ids.items() if n > 1
    ]
    return found


# ----- one block


def _block_problems(block: dict[str, Any], where: str, *, in_view: bool) -> list[str]:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"{where} has unknown block type {kind!r}"]
    if kind in VIEW_ONLY_BLOCKS and not in_view:
        return [f"{where} is an {kind} block, which only modals and App Home take"]
    if kind in MESSAGE_ONLY_BLOCKS and in_view:
        return [f"{where} is a {kind} block, which only messages take"]
    found = _too_long(f"{where}.block_id", block.get("block_id"), MAX_ID)
    found += _BLOCK_RULES.get(kind, _no_rules)(block, where)
    elements = _interactive_elements(block)
    for path, element, allowed in elements:
        found += _element_problems(element, f"{where}.{path}", allowed)
    ids = Counter(e.get("action_id") for _, e, _ in elements if e.get("action_id") is not None)
    found += [f"{where} has action_id {aid!r} on {n} elements (unique per block)" for aid, n in ids.items() if n > 1]
    found += _plain_only_problems(block, where) + _empty_texts(block, where)
    return found or _slack_sdk_problems(block, where)


def _no_rules(block: dict[str, Any], where: str) -> list[str]:
    return []


def _section_rules(block: dict[str, Any], where: str) -> list[str]:
    found = _too_long(f"{where}.text", _text_of(block.get("text")), MAX_SECTION_TEXT)
    fields = block.get("fields") or []
    if len(fields) > MAX_SECTION_FIELDS:
        found.append(f"{where}.fields has {len(fields)} fields (limit {MAX_SECTION_FIELDS})")
    for j, item in enumerate(fields):
        found += _too_long(f"{where}.fields[{j}]", _text_of(item), MAX_FIELD_TEXT)
    return found


def _header_rules(block: dict[str, Any], where: str) -> list[str]:
    return _too_long(f"{where}.text", _text_of(block.get("text")), MAX_HEADER_TEXT)


def _context_rules(block: dict[str, Any], where: str) -> list[str]:
    elements = block.get("elements") or []
    found = _count("elements", elements, MAX_CONTEXT_ELEMENTS, where)
    for j, element in enumerate(elements):
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in CONTEXT_ELEMENTS:
            found.append(f"{where}.elements[{j}] is a {kind!r}; a context block takes images and text only")
        elif kind == "image":
            found += _too_long(f"{where}.elements[{j}].alt_text", element.get("alt_text"), MAX_ALT_TEXT)
    return found


def _actions_rules(block: dict[str, Any], where: str) -> list[str]:
    return _count("elements", block.get("elements") or [], MAX_ACTIONS_ELEMENTS, where)


def _image_rules(block: dict[str, Any], where: str) -> list[str]:
    found = _too_long(f"{where}.alt_text", block.get("alt_text"), MAX_ALT_TEXT)
    return found + _too_long(f"{where}.image_url", block.get("image_url"), MAX_URL)


def _input_rules(block: dict[str, Any], where: str) -> list[str]:
    missing = [key for key in ("label", "element") if not isinstance(block.get(key), dict)]
    return [f"{where}.{key} is missing (an input block needs one)" for key in missing]


_BLOCK_RULES = {
    "section": _section_rules,
    "header": _header_rules,
    "context": _context_rules,
    "actions": _actions_rules,
    "image": _image_rules,
    "input": _input_rules,
}


def _interactive_elements(block: dict[str, Any]) -> list[tuple[str, dict[str, Any], frozenset[str]]]:
    """(path, element, element types allowed there) for an actions block, an accessory, an input."""
    kind = block.get("type")
    if kind == "actions":
        found = [(f"elements[{j}]", e, ACTIONS_ELEMENTS) for j, e in enumerate(block.get("elements") or [])]
    elif kind == "section" and "accessory" in block:
        found = [("accessory", block["accessory"], ACCESSORY_ELEMENTS)]
    elif kind == "input" and "element" in block:
        found = [("element", block["element"], INPUT_ELEMENTS)]
    else:
        found = []
    return [(path, element, allowed) for path, element, allowed in found if isinstance(element, dict)]


def _element_problems(element: dict[str, Any], where: str, allowed: frozenset[str]) -> list[str]:
    kind = element.get("type")
    if kind not in allowed:
        return [f"{where} is a {kind!r}, which this block cannot hold"]
    found = _too_long(f"{where}.action_id", element.get("action_id"), MAX_ID)
    if kind == "button":
        found += _too_long(f"{where}.text", _text_of(element.get("text")), MAX_BUTTON_TEXT)
        found += _too_long(f"{where}.value", element.get("value"), MAX_BUTTON_VALUE)
        found += _too_long(f"{where}.url", element.get("url"), MAX_URL)
    elif kind == "image":
        found += _too_long(f"{where}.alt_text", element.get("alt_text"), MAX_ALT_TEXT)
    options = element.get("options") or []
    found += _count("options", options, MAX_OPTIONS, where)
    for g, group in enumerate(element.get("option_groups") or []):
        group_options = (group.get("options") or []) if isinstance(group, dict) else []
        found += _count("options", group_options, MAX_OPTIONS, f"{where}.option_groups[{g}]")
        found += _options_problems(group_options, f"{where}.option_groups[{g}]")
    return found + _options_problems(options, where)


def _options_problems(options: list[Any], where: str) -> list[str]:
    found = []
    for j, option in enumerate(options):
        if isinstance(option, dict):
            found += _too_long(f"{where}.options[{j}].text", _text_of(option.get("text")), MAX_OPTION_TEXT)
            found += _too_long(f"{where}.options[{j}].value", option.get("value"), MAX_OPTION_VALUE)
    return found


def _plain_only_problems(node: Any, path: str, plain_text: bool = False) -> list[str]:
    """Text objects given as mrkdwn (or as a bare string) where Slack takes plain_text only.

    `plain_text` says that the `text` of `node` (an option of a menu) is plain_text only.
    """
    if isinstance(node, list):
        return [p for i, item in enumerate(node) for p in _plain_only_problems(item, f"{path}[{i}]", plain_text)]
    if not isinstance(node, dict) or node.get("type") in TEXT_TYPES:
        return []
    kind = node.get("type")
    found = []
    for key, value in node.items():
        plain_only = key in PLAIN_ONLY_KEYS or (key == "text" and (plain_text or kind in PLAIN_TEXT_OF))
        is_text = isinstance(value, dict) and value.get("type") in TEXT_TYPES
        if plain_only and (is_text or isinstance(value, str)) and _type_of(value) != "plain_text":
            found.append(f"{path}.{key} must be a plain_text object, not {_type_of(value)}")
        elif not is_text:
            options_plain = key in OPTION_KEYS and (kind in PLAIN_OPTIONS_OF or (kind is None and plain_text))
            found += _plain_only_problems(value, f"{path}.{key}", options_plain)
    return found


def _type_of(value: Any) -> str | None:
    return value.get("type") if isinstance(value, dict) else "a bare string"


def _slack_sdk_problems(block: dict[str, Any], where: str) -> list[str]:
    """What slack_sdk's models find wrong with one block (each element's own limits)."""
    try:
        parsed = Block.parse(block)
        if parsed is not None:
            parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{where}: {exc} (slack_sdk)"]
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        return [f"{where}: slack_sdk cannot read it ({exc!r})"]
    return []


# ----- the app's answers to Slack


def _command_answer_problems(answer: Any, text: str) -> list[str]:
    if answer is None:  # a plain-text body is shown as the message text
        return _message_text_problems(text)
    if not isinstance(answer, dict):
        return ["is not a JSON object"]
    found = [
        f"has {key!r}, which a slash command answer does not take" for key in answer if key not in COMMAND_ANSWER_KEYS
    ]
    if answer.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        found.append(f"response_type is {answer['response_type']!r}, not 'ephemeral' or 'in_channel'")
    if not answer.get("text") and not answer.get("blocks"):
        found.append("has neither text nor blocks")
    if "text" in answer and not isinstance(answer["text"], str):
        found.append("text is not a string")
    found += _message_text_problems(answer.get("text"))
    if "blocks" in answer:
        found += _shown_raw(answer["blocks"], "blocks") + _message_blocks_problems(answer["blocks"], "blocks")
    return found


def _view_answer_problems(answer: Any, submitted: dict[str, Any]) -> list[str]:
    if not isinstance(answer, dict):
        return ["is not a JSON object"]
    action = answer.get("response_action")
    if action not in RESPONSE_ACTIONS:
        return [f"response_action is {action!r}, not one of {', '.join(sorted(RESPONSE_ACTIONS))}"]
    takes = {"errors": {"errors"}, "update": {"view"}, "push": {"view"}, "clear": set()}[action]
    found = [
        f"has {key!r}, which response_action {action!r} does not take"
        for key in answer
        if key not in takes | {"response_action"}
    ]
    if action == "errors":
        found += _errors_problems(answer.get("errors"), _input_block_ids(submitted))
    elif action in ("update", "push"):
        view = answer.get("view")
        found += _shown_raw(view, "view") + _view_problems(view, {"modal"})
    return found


def _errors_problems(errors: Any, input_ids: set[str]) -> list[str]:
    if not isinstance(errors, dict) or not errors:
        return ["errors is not a JSON object of messages by block_id"]
    found = []
    for block_id, message in errors.items():
        if block_id not in input_ids:
            found.append(f"errors names {block_id!r}, which is no input block of the submitted view")
        if not isinstance(message, str) or not message:
            found.append(f"errors[{block_id!r}] is not a message")
    return found


def _input_block_ids(view: dict[str, Any]) -> set[str]:
    blocks = view.get("blocks") or []
    ids = {b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"}
    return {str(i) for i in ids if i} | set((view.get("state") or {}).get("values") or {})


# ----- small helpers


def _text_of(text_object: Any) -> Any:
    return text_object.get("text") if isinstance(text_object, dict) else None


def _count(key: str, items: Any, limit: int, where: str) -> list[str]:
    if isinstance(items, list) and len(items) > limit:
        return [f"{where}.{key} has {len(items)} {key} (limit {limit})"]
    return []


def _too_long(where: str, value: Any, limit: int) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"{where} is {len(value)} chars (limit {limit})"]
    return []
