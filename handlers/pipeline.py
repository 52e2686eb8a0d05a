"""The one path of a Slack request through bolt: its scope, its unit of work, its answer to errors.

- A middleware stamps the request's time in bolt's context (`now`).
- Just before a listener runs (bolt's listener start hook) its unit of work opens: a database
  `session`, the caller's `member` (None outside every team) and `tell_privately`. Listeners
  take them by name, as they take bolt's `ack` or `body`. Bolt runs a listener after its
  middleware chain has returned, so no middleware can hold a session around it; the start and
  completion hooks run only when a listener does, so the session lives exactly as long as it.
- When the listener returns (the completion hook) its work is committed and the session closed.
  When it raises, the error handler rolls the work back first. No listener commits or rolls back.
- The error handler answers every error where the person looks: a slash command in the HTTP
  answer, a modal under its input (or privately), a click by its response_url through the outbox.
  A domain error is worded by handlers/refusals.py; anything else gets a short reference, which
  is also in the log line with the traceback.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Collection, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any, Protocol

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_bolt.listener.listener_start_handler import ListenerStartHandler
from slack_sdk import WebClient
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.errors import DibsError, Refusal
from bot.teams import find_member
from handlers.outage import OUTAGE, bolt_answer
from handlers.refusals import refusal_text
from infra import logs
from infra.db import DATABASE_UNAVAILABLE, database_unavailable
from models import OutboxMessage, SeenEvent

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Reply = dict[str, Any]
Tell = Callable[[Reply], None]
UsageFor = Callable[[str, DibsError], str | None]
OnRefusal = Callable[[str], None]  # told the rule of each refusal answered (the metrics count them)


class AnswerSender(Protocol):
    """The worker's side of a click's private answer (handlers/delivery.py's Deliverer): the row
    is taken as it is queued and sent as soon as the listener's work committed."""

    def lease_new(self, row: OutboxMessage) -> None: ...

    def send_leased(self, rows: Collection[OutboxMessage]) -> object: ...


UNEXPECTED = "Something went wrong (ref {ref}); the team can look it up in the log."
FORM_ERROR_MAX = 300  # characters shown under a modal's input
_FORM = "form"  # context key: the modal a listener asked to open once the request is answered
_ANSWERS = "answer_rows"  # context key: outbox rows of private answers queued by the listener
_UNIT_OF_WORK = ("session", "member", "tell_privately", _ANSWERS)  # context keys that live as long as the listener


def reply(text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
    """An ephemeral answer to the person who asked."""
    answer: Reply = {"response_type": "ephemeral", "text": text}
    if blocks:
        answer["blocks"] = blocks
    return answer


def tell_privately(
    session: Session, now: datetime, user: str, response_url: str | None, answer: Reply
) -> OutboxMessage:
    """Queue a private answer: by the interaction's response_url, else a direct message.

    The response_url lets Dibs answer wherever the click happened, even in channels and DMs
    the bot is not in.
    """
    blocks = answer.get("blocks")
    if response_url:
        return outbox.enqueue(
            session, outbox.Kind.RESPOND, now, response_url=response_url, user=user, text=answer["text"], blocks=blocks
        )
    return outbox.post(session, now, user, answer["text"], blocks)


def open_after_ack(context: BoltContext, view: dict[str, Any]) -> None:
    """Ask for `view` to be opened once the request is answered (by `open_requested_form`)."""
    context[_FORM] = view


def open_requested_form(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """A lazy listener: open the modal the listener asked for.

    The one Web API call made outside the outbox: Slack takes a trigger_id only within 3 s.
    """
    view = context.get(_FORM)
    if view is not None:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def first_delivery(session: Session, event_id: str, now: datetime) -> bool:
    """Record an Events API delivery; False when it was handled before (Slack retries events)."""
    try:
        with session.begin_nested():
            session.add(SeenEvent(event_id=event_id, seen_at=now))
    except IntegrityError:
        return False
    return True


class _OpenUnitOfWork(ListenerStartHandler):
    """Bolt's hook just before a listener: its session, the caller's membership, its private answers."""

    def __init__(self, sessions: sessionmaker[Session], sender: AnswerSender | None):
        self._sessions, self._sender = sessions, sender

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        context = request.context
        session = self._sessions()
        context["session"] = session  # first: the completion hook closes it even if the look-up fails
        context["tell_privately"] = _teller(session, context, self._sender)
        context["member"] = member = find_member(session, context.user_id) if context.user_id else None
        logs.bind(team=member.team_id if member else None)


class _EndUnitOfWork(ListenerCompletionHandler):
    """Bolt's hook after a listener (and the error handler): commit, close, forget the session;
    then have the worker send the private answers it queued (and took), so they leave without
    waiting for its next round (the outbox loop stays the fallback).

    The keys leave the context before bolt copies it for lazy listeners, which run later.
    """

    def __init__(self, sender: AnswerSender | None):
        self._sender = sender

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        session: Session | None = request.context.get("session")
        answers: list[OutboxMessage] = request.context.get(_ANSWERS) or []
        for key in _UNIT_OF_WORK:
            request.context.pop(key, None)
        if session is None:
            return
        with session:
            session.commit()
        if self._sender is not None and answers:
            self._sender.send_leased([row for row in answers if inspect(row).has_identity])  # not rolled back


def _teller(session: Session, context: BoltContext, sender: AnswerSender | None) -> Tell:
    queued: list[OutboxMessage] = context.setdefault(_ANSWERS, [])

    def tell(answer: Reply) -> None:
        row = tell_privately(session, context["now"], context.user_id or "", context.response_url, answer)
        if sender is not None:
            sender.lease_new(row)
        queued.append(row)

    return tell


def install(
    app: App,
    sessions: sessionmaker[Session],
    clock: Clock,
    *,
    usage_for: UsageFor,
    form_error_blocks: Mapping[str, str],
    answers: AnswerSender | None = None,
    on_refusal: OnRefusal | None = None,
) -> None:
    """Put the pipeline around every listener of `app` (call it before registering any middleware).

    `usage_for` gives the usage line to show with a refused slash command; `form_error_blocks`
    names, per modal callback_id, the input under which a refusal shows (other modals close
    and answer privately). `answers` (the worker) sends a listener's private answers once it committed;
    `on_refusal` is told the rule of each refusal answered (`LimitReached.max_active_claims`).
    """

    @app.middleware
    def stamp_time(context: BoltContext, next: Callable[[], None]) -> None:
        context["now"] = clock()
        if "request_id" not in logs.current():  # Socket Mode: no HTTP request around it
            logs.begin(request_id=secrets.token_hex(8))
        logs.bind(user=context.user_id)
        next()

    app.listener_runner.listener_start_handler = _OpenUnitOfWork(sessions, answers)
    app.listener_runner.listener_completion_handler = _EndUnitOfWork(answers)

    def tell(context: BoltContext, answer: Reply) -> None:
        if "tell_privately" in context:  # in the listener's unit of work, committed after it
            context["tell_privately"](answer)
            return
        try:  # raised by a middleware, or by the commit itself: a unit of work of its own
            with sessions.begin() as session:
                now = context.get("now") or clock()
                tell_privately(session, now, context.user_id or "", context.response_url, answer)
        except DATABASE_UNAVAILABLE as exc:
            OUTAGE.failed(exc)

    @app.error
    def answer_error(error: Exception, body: dict[str, Any], context: BoltContext) -> BoltResponse | None:
        session: Session | None = context.get("session")
        if session is not None:
            _roll_back(session)
        if database_unavailable(error):
            return bolt_answer(error, body)
        if isinstance(error, Refusal):
            rule = f"{type(error).__name__}.{error.why}"
            log.info("refused: %s", rule, extra={"rule": rule})
            if on_refusal is not None:
                on_refusal(rule)
        text = _words_for(error, body, usage_for)
        if "command" in body:
            return _json_answer(reply(text))
        kind = body.get("type")
        block = form_error_blocks.get((body.get("view") or {}).get("callback_id", ""))
        if kind == "view_submission" and block:
            return _json_answer({"response_action": "errors", "errors": {block: text[:FORM_ERROR_MAX]}})
        if kind in ("block_actions", "view_submission"):
            tell(context, reply(text))
            return BoltResponse(status=200, body="")
        return None  # an event: nobody asked, the log has it (and Slack retries it)


def _roll_back(session: Session) -> None:
    with suppress(*DATABASE_UNAVAILABLE):  # the connection is gone, and its transaction with it
        session.rollback()


def _words_for(error: Exception, body: dict[str, Any], usage_for: UsageFor) -> str:
    """What the person reads: a domain error in words, anything else as a reference into the log."""
    if isinstance(error, DibsError):
        usage = usage_for(body.get("text") or "", error) if "command" in body else None
        return f"{refusal_text(error)}. Usage: `{usage}`" if usage else refusal_text(error)
    ref = secrets.token_hex(4)
    log.error("unexpected error (ref %s) in %s", ref, _described(body), exc_info=error)
    return UNEXPECTED.format(ref=ref)


def _described(body: dict[str, Any]) -> str:
    """Which request failed, without what anyone typed: `/dibs claim`, `block_actions claim_lead`…"""
    if "command" in body:
        words = str(body.get("text") or "").split()
        return f"{body['command']} {words[0] if words else ''}".strip()
    kind = str(body.get("type", "request"))
    if kind == "block_actions":
        return f"{kind} {','.join(str(a.get('action_id')) for a in body.get('actions') or [])}"
    if kind == "view_submission":
        return f"{kind} {(body.get('view') or {}).get('callback_id')}"
    return f"{kind} {(body.get('event') or {}).get('type', '')}".strip()


def _json_answer(answer: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(answer), headers={"content-type": "application/json"})
