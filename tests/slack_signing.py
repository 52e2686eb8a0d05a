"""Re-exports the signed Slack request builders, which live in handlers/slack_requests.py."""

from handlers.slack_requests import (
    APP_ID,
    FORM,
    MESSAGE_TS,
    TEAM_DOMAIN,
    TEAM_ID,
    VERIFICATION_TOKEN,
    block_actions_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)

__all__ = [
    "APP_ID",
    "FORM",
    "MESSAGE_TS",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "VERIFICATION_TOKEN",
    "block_actions_body",
    "signed_headers",
    "slash_command_body",
    "view_submission_body",
]
