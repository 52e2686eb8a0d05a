"""Which OAuth scopes a Web API method needs, read from Slack's OpenAPI spec, and what the app grants.

The spec (Swagger 2.0, 2020) gives each operation `security: [{"slackAuth": [scope, ...]}]`. Slack
means the list as "any one of these": `conversations.info` lists `channels:read`, `groups:read`,
`im:read` and `mpim:read` because each covers one kind of conversation. The spec still names a few
scopes as classic apps had them; they are translated to today's granular bot scopes here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"

NO_SCOPE = "none"  # the spec's word for "no scope required" (views.open, auth.test...)
# Classic scope names in the 2020 spec -> the granular bot scope that replaced them.
GRANULAR: dict[str, str] = {
    "chat:write:bot": "chat:write",
    "chat:write:user": "chat:write",
    "files:write:user": "files:write",
}
# Where the spec lists the user-token scope and a bot token needs another (Slack's method pages).
BOT_TOKEN_SCOPES: dict[str, frozenset[str]] = {
    "conversations.join": frozenset({"channels:join"}),  # spec: channels:write (user tokens)
}
# Scope prefix for each kind of conversation, for methods whose scopes depend on it.
KIND_PREFIX = {"public": "channels", "private": "groups", "im": "im", "mpim": "mpim"}


@functools.cache
def spec_scopes(spec_path: Path) -> dict[str, frozenset[str]]:
    """Each method's scopes (any one suffices; empty: none needed), from the spec's `security`."""
    scopes: dict[str, frozenset[str]] = {}
    for path, operations in json.loads(spec_path.read_text(encoding="utf-8"))["paths"].items():
        method = path.lstrip("/")
        listed = {
            GRANULAR.get(scope, scope)
            for operation in operations.values()
            for requirement in operation.get("security", [])
            for scope in requirement.get("slackAuth", [])
        }
        scopes[method] = BOT_TOKEN_SCOPES.get(method, frozenset(listed - {NO_SCOPE}))
    return scopes


def for_conversation(any_of: frozenset[str], kind: str | None) -> frozenset[str]:
    """Narrow per-kind scopes (`channels:read`, `groups:read`...) to the one for `kind`."""
    prefix = KIND_PREFIX.get(kind or "")
    typed = {scope for scope in any_of if scope.split(":")[0] in KIND_PREFIX.values()}
    own = {scope for scope in typed if scope.split(":")[0] == prefix}
    return frozenset(own | (any_of - typed)) if own else any_of


def manifest_bot_scopes(path: Path = MANIFEST) -> frozenset[str]:
    """The bot scopes `manifest.yml` asks for: what an installed Dibs is granted."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])
