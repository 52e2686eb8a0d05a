"""The bolt app: the request pipeline around it and every feature's listeners, registered here."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import SettingsError
from handlers import (
    commands,
    digest_commands,
    dispute_commands,
    dispute_listeners,
    export_commands,
    home,
    hours_commands,
    lead_commands,
    lead_form,
    payload_checks,
    people,
    pipeline,
    team_commands,
)
from handlers.dispute_views import FORM_ERROR_BLOCKS
from handlers.pipeline import Clock

COMMANDS = commands.Commands(
    [
        *lead_commands.SUBCOMMANDS,
        *dispute_commands.SUBCOMMANDS,
        *lead_form.SUBCOMMANDS,
        *team_commands.SUBCOMMANDS,
        *digest_commands.SUBCOMMANDS,
        *hours_commands.SUBCOMMANDS,
        *export_commands.SUBCOMMANDS,
    ]
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SlackUnreachable(Exception):
    """Slack did not answer `auth.test` (a 5xx, a 429 or no connection); worth retrying."""


def identify(client: WebClient) -> AuthorizeResult:
    """Who the bot is, asked once at start (`auth.test`); a bad token stops start-up here."""
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        if exc.response.status_code >= 500 or exc.response.status_code == 429:
            raise SlackUnreachable(f"HTTP {exc.response.status_code}") from None
        raise SettingsError(
            f"SLACK_BOT_TOKEN was refused by Slack ({exc.response.get('error')}): "
            "copy the Bot User OAuth Token from the app's OAuth & Permissions page"
        ) from None
    except OSError as exc:
        raise SlackUnreachable(f"{client.base_url}: {exc}") from None
    return AuthorizeResult(
        enterprise_id=response.get("enterprise_id"),
        team_id=response.get("team_id"),
        bot_user_id=response.get("user_id"),
        bot_id=response.get("bot_id"),
        bot_token=client.token,
    )


def build_bolt_app(
    client: WebClient,
    sessions: sessionmaker[Session],
    *,
    identity: AuthorizeResult,
    signing_secret: str | None,
    clock: Clock = utc_now,
    answers: pipeline.AnswerSender | None = None,
    on_refusal: pipeline.OnRefusal | None = None,
) -> App:
    """A bolt App whose listeners only touch the database; Slack calls leave via the outbox.

    `process_before_response=True` runs each listener inside the request, so what a
    listener decides is committed before Slack gets its answer. The one exception to
    "no Web API call in a request" is opening a modal, which Slack allows only within
    3 s of the trigger; it runs as a lazy listener after the acknowledgement.
    """
    app = App(
        # Tokenless: bolt gives each listener a client with the token from `identity`.
        client=WebClient(base_url=client.base_url, timeout=client.timeout),
        authorize=lambda: identity,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        process_before_response=True,
    )
    pipeline.install(
        app,
        sessions,
        clock,
        usage_for=COMMANDS.usage_for,
        form_error_blocks=FORM_ERROR_BLOCKS,
        answers=answers,
        on_refusal=on_refusal,
    )
    payload_checks.register(app)
    commands.register(app, COMMANDS)
    lead_commands.register(app)
    lead_form.register(app)
    dispute_listeners.register(app)
    home.register(app)
    people.register(app)
    return app
