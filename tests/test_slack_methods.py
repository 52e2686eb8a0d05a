"""Every Web API method the code calls is a real Slack method (checked against Slack's spec), and
manifest.yml asks for exactly the scopes those methods need."""

from __future__ import annotations

import json
import re
from pathlib import Path

from slack_sdk import WebClient

from sandbox.scopes import manifest_bot_scopes
from sandbox.slack_web import method_scopes

ROOT = Path(__file__).resolve().parent.parent
# files_upload_v2 is slack_sdk's wrapper of these newer methods (not in the 2020 spec).
WRAPPERS = {"files_upload_v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}
NEWER_METHODS = {"files.getUploadURLExternal", "files.completeUploadExternal"}
_CALL = re.compile(r"""(?:call\(\s*"|client\.)([a-z]+_[A-Za-z_0-9]+)\b""")


def called_methods() -> set[str]:
    """WebClient methods named in the app's code (`client.views_open(…)`, `calls.call("chat_update", …)`)."""
    names: set[str] = set()
    for path in [*ROOT.glob("bot/*.py"), *ROOT.glob("handlers/*.py"), ROOT / "app.py"]:
        if path.name == "slack_web.py":
            continue
        names |= set(_CALL.findall(path.read_text()))
    return {n for n in names if hasattr(WebClient, n)}


def api_methods(name: str) -> list[str]:
    return WRAPPERS.get(name) or [name.replace("_", ".", 1)]


def test_the_scan_finds_the_calls_the_app_makes() -> None:
    assert {
        "chat_postMessage",
        "chat_update",
        "conversations_join",
        "conversations_info",
        "views_open",
        "views_publish",
        "files_upload_v2",
        "auth_test",
        "users_info",
    } <= called_methods()


def test_every_called_method_exists_in_slacks_spec(slack_reference: Path) -> None:
    spec = json.loads((slack_reference / "slack_web_openapi_v2.json").read_text())
    known = {path.lstrip("/") for path in spec["paths"]} | NEWER_METHODS
    missing = sorted(m for name in called_methods() for m in api_methods(name) if m not in known)
    assert missing == []


# Granted scopes no Web API method needs, and why Dibs asks for them.
NOT_FOR_A_METHOD = {
    "commands": "the /dibs slash command",
    "chat:write.public": "chat.postMessage into a team's public channel Dibs is not in (before it joined, or "
    "after someone removed it): Slack refuses not_in_channel without it",
    "users:read.email": "the email in users.info's profile, which the HubSpot owner sync matches owners by",
}


def used_scopes(slack_reference: Path) -> dict[str, frozenset[str]]:
    """Each Web API method the code calls, with the scopes it needs (any one; the stand-in's mapping)."""
    scopes = method_scopes(slack_reference)
    return {m: scopes[m] for name in called_methods() for m in api_methods(name)}


def test_every_called_method_has_a_scope_manifest_yml_grants(slack_reference: Path) -> None:
    granted = manifest_bot_scopes()
    lacking = {
        method: sorted(needed)
        for method, needed in used_scopes(slack_reference).items()
        if needed and not needed & granted
    }
    assert lacking == {}


def test_every_scope_manifest_yml_grants_is_used(slack_reference: Path) -> None:
    needed = set().union(*used_scopes(slack_reference).values())
    unused = sorted(manifest_bot_scopes() - needed - NOT_FOR_A_METHOD.keys())
    assert unused == []
    assert not NOT_FOR_A_METHOD.keys() & needed, "a scope a method needs is no exception"
