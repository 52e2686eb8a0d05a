"""manifest.yml creates a Slack app with everything Dibs uses, and Slack's schema accepts it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def load_manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def test_manifest_validates_against_slacks_schema(slack_reference: Path) -> None:
    schema = json.loads((slack_reference / "manifest.schema.1.0.0.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    problems = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(load_manifest())]
    assert problems == []


def test_schema_check_catches_a_broken_manifest(slack_reference: Path) -> None:
    schema = json.loads((slack_reference / "manifest.schema.1.0.0.json").read_text())
    broken = load_manifest()
    del broken["features"]["slash_commands"][0]["description"]
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_manifest_declares_what_the_app_uses() -> None:
    manifest = load_manifest()
    command = manifest["features"]["slash_commands"][0]
    assert (command["command"], command["should_escape"]) == ("/dibs", True)
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert {"app_home_opened", "user_change"} <= set(manifest["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "channels:join", "files:write", "users:read"} <= scopes
    urls = {
        command["url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
    }
    assert all(url.endswith("/slack/events") for url in urls)
