"""Requests to the app built and signed exactly as Slack sends them (tests, `dibs demo`).

Signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the signing secret.
Bodies are form-encoded; interactivity arrives as `payload=<url-encoded JSON>`; events are JSON.
Each `trigger_id` and `response_url` is one the Slack stand-in issued (`new_trigger_id()`,
`new_response_url(...)`), so the app's use of it is held to Slack's rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TEAM_ID = "T0DIBSTEST"
TEAM_DOMAIN = "dibs-test"
APP_ID = "A0DIBSAPP"
VERIFICATION_TOKEN = "dibs-test-verification-token"  # deprecated by Slack, still sent
MESSAGE_TS = "1700000000.000100"


def signed_headers(body: bytes, secret: str, timestamp: int | None = None, content_type: str = FORM) -> dict[str, str]:
    """Headers Slack sends with `body`; `timestamp` defaults to now (frozen time included)."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
    }


def slash_command_body(
    text: str,
    user_id: str,
    channel_id: str,
    *,
    trigger_id: str,
    response_url: str,
    command: str = "/dibs",
    team_id: str = TEAM_ID,
) -> bytes:
    """Form body of a slash command invocation."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields).encode()


def block_actions_body(
    user_id: str,
    action_id: str,
    value: str,
    *,
    channel_id: str | None,
    trigger_id: str,
    response_url: str | None,
    message_ts: str = MESSAGE_TS,
    block_id: str = "dibs",
    view_id: str = "V0DIBSHOME",
    team_id: str = TEAM_ID,
) -> bytes:
    """A button click: on a message in `channel_id` (with its `response_url`), or in App Home
    when `channel_id` is None (Slack gives no response_url there)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if channel_id is None:
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "team_id": team_id, "type": "home", "blocks": []}
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
        payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        payload["response_url"] = response_url
    return _payload_body(payload)


def view_submission_body(
    user_id: str,
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]],
    private_metadata: str = "",
    *,
    trigger_id: str,
    response_urls: list[dict[str, str]] | None = None,
    view_id: str = "V0DIBSMODAL",
    team_id: str = TEAM_ID,
) -> bytes:
    """A modal's submission; `values` is `view.state.values` ({block_id: {action_id: {...}}}).

    `response_urls` ({block_id, action_id, channel_id, response_url}) come only from a modal
    with a conversation select marked `response_url_enabled`; otherwise Slack sends none.
    """
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, team_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "Dibs"},
            "blocks": [],
            "state": {"values": values},
            "hash": "1700000000.dibs",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": "B0DIBSBOT",
        },
        "response_urls": response_urls or [],
    }
    return _payload_body(payload)


def event_body(event: dict[str, Any], event_id: str, team_id: str = TEAM_ID) -> bytes:
    """JSON body of an Events API delivery (`event_callback`) wrapping `event`."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": {"event_ts": f"{time.time():.6f}", **event},
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
    }
    return json.dumps(envelope).encode()


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _payload_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()
