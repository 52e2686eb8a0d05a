"""The bolt app: request context middleware and every listener, registered in one place."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, outbox
from bot.errors import SettingsError
from bot.intake import LeadIn, field_errors, take_lead
from bot.teams import find_member
from handlers import digest_commands, dispute_commands, lead_commands, team_commands  # noqa: F401  (they register subcommands)
from handlers.commands import Caller, Reply, answer_privately, reply, run_command
from handlers.dispute_listeners import register_dispute_listeners
from handlers.lead_commands import claim_reply
from handlers.lead_form import CALLBACK_ID, lead_form, submitted_fields
from handlers.outage import bolt_answer
from handlers.payload_checks import register_payload_checks
from handlers.people import register_people_listeners
from handlers.views import CLAIM_ACTION
from infra.db import database_unavailable
from models import Member, SeenEvent

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scope:
    """Per-request state the middleware puts in place for every listener."""

    session: Session
    now: datetime
    member: Member | None

    def __deepcopy__(self, memo: dict) -> Scope:
        return self  # bolt copies the context for lazy listeners; a session is not copyable


def _caller(context: BoltContext) -> Caller:
    scope: Scope = context["scope"]
    return Caller(
        slack_user_id=context.user_id or "",
        response_url=context.response_url,
        session=scope.session,
        now=scope.now,
        member=scope.member,
    )


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

    def scoped(listener: Callable[..., None]) -> Callable[..., None]:
        """Give a listener its request scope: a session, the time and the caller's membership.

        (Bolt runs listeners after its middleware chain has returned, so a middleware
        cannot hold a session open around them.)
        """

        @functools.wraps(listener)
        def with_scope(*args: Any, **kwargs: Any) -> None:
            context: BoltContext = kwargs["context"]
            with sessions() as session:
                member = find_member(session, context.user_id) if context.user_id else None
                context["scope"] = Scope(session, clock(), member)
                listener(*args, **kwargs)

        return with_scope

    @scoped
    def dibs_command(ack: Ack, command: dict, context: BoltContext) -> None:
        caller = _caller(context)
        ack(**run_command(caller, command.get("text", "")))

    def open_lead_form(command: dict, client: WebClient) -> None:
        if command.get("text", "").lower().split()[:2] != ["lead", "add"]:
            return
        with sessions() as session:
            if find_member(session, command["user_id"]) is None:
                return
        client.views_open(trigger_id=command["trigger_id"], view=lead_form())

    register_payload_checks(app, sessions, clock)
    app.command("/dibs")(ack=dibs_command, lazy=[open_lead_form])

    @app.action(CLAIM_ACTION)
    @scoped
    def claim_button(ack: Ack, action: dict, context: BoltContext) -> None:
        caller = _caller(context)

        def claim() -> Reply:
            lead_id = int(action["value"])
            return claim_reply(claiming.claim_lead(caller.session, caller.require_member(), lead_id, caller.now))

        answer_privately(caller, claim)
        ack()

    @app.view(CALLBACK_ID)
    @scoped
    def lead_form_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
        caller = _caller(context)
        try:
            data = LeadIn.model_validate(submitted_fields(view.get("state", {})))
        except ValidationError as exc:
            ack(response_action="errors", errors=field_errors(exc))
            return

        def add() -> Reply:
            member = caller.require_member()
            result = take_lead(caller.session, member.team, data, caller.now, member.slack_user_id)
            return reply(f"{result.lead.ref} added and announced.")

        answer_privately(caller, add)
        ack()

    @app.event("app_home_opened")
    @scoped
    def home_opened(body: dict, event: dict, context: BoltContext) -> None:
        if event.get("tab") != "home":
            return
        scope: Scope = context["scope"]
        session = scope.session
        session.add(SeenEvent(event_id=body.get("event_id", ""), seen_at=scope.now))
        outbox.enqueue(session, outbox.Kind.PUBLISH_HOME, scope.now, user=event["user"])
        try:
            session.commit()
        except IntegrityError:  # a retried delivery of an event we already handled
            session.rollback()

    register_dispute_listeners(app, scoped, _caller, sessions)
    register_people_listeners(app, sessions, clock)

    @app.error
    def unexpected_error(error: Exception, body: dict) -> BoltResponse | None:
        if database_unavailable(error):
            return bolt_answer(error, body)
        log.exception("listener failed", exc_info=error)
        return None

    return app
