"""The outbox worker: renders queued messages and delivers them with slack_sdk (DESIGN §8).

Waiting lead announcements for a channel go out together (up to 10 cards a message),
posts to a channel are paced to one a second, 429s are honoured with `Retry-After`, and
other failures back off until the row is marked failed (visible in /metrics).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.digest import compute_digest
from bot.leads import lead_state
from bot.mediation import case_facts
from bot.teams import effective_limits
from handlers.chart import chart_alt_text, fairness_chart
from handlers.digest_view import digest_message
from handlers.dispute_views import dispute_case
from handlers.home import home_view
from handlers.metrics import Metrics
from handlers.notices import notice_text
from handlers.people import Directory
from handlers.views import CARDS_PER_MESSAGE, cards_message, lead_card, retired_card
from models import Dispute, Lead, LeadCard, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_arguments",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "msg_too_long",
        "no_text",
        "user_not_found",
        "user_not_in_channel",
        "cant_update_message",
        "message_not_found",
        "unknown_method",
        "missing_scope",
        "restricted_action",
    }
)
NOT_POSTED_YET_SECONDS = 2.0  # a card update or thread post waits this long for its message
RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack takes 5 posts to a response_url within 30 minutes
RESPONSE_URL_GONE = frozenset({404, 410})  # expired, used up or unknown: Slack answers 404 "Expired url"


@dataclass
class Outcome:
    """What became of one row: sent, retry later (not an attempt), failed attempt, or given up."""

    kind: str  # sent | postpone | retry | failed
    seconds: float = 0.0
    error: str = ""
    result: dict[str, Any] | None = None


class Deliverer:
    """The one outbox worker, able to send every kind of row, whoever runs it (`serve`, `digest
    send`, the demo); several (threads or replicas) may run, the outbox lease keeps them apart."""

    def __init__(
        self,
        client: WebClient,
        sessions: sessionmaker[Session],
        metrics: Metrics,
        clock: Callable[[], datetime],
        channel_interval: float = 1.0,
    ):
        self._client = client
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock
        self._channel_interval = channel_interval
        self._directory = Directory(client, sessions, metrics, clock)
        self._next_post: dict[str, float] = {}

    # ---- the loop ----------------------------------------------------------------------

    def tick(self) -> bool:
        """Deliver what is due; True if anything was sent or settled (so the loop runs again at
        once), False if there was nothing to do or everything had to wait for its channel."""
        with self._sessions.begin() as session:
            rows = outbox.lease_due(session, self._clock())
        if not rows:
            return False
        outcomes: dict[int, Outcome] = {}
        announcements: dict[str, list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            if row.kind == outbox.Kind.ANNOUNCE_LEAD:
                announcements[row.channel or ""].append(row)
        for channel, batch in announcements.items():
            wait = self._wait_for(channel)
            if wait > 0:  # not this channel's turn yet: don't render cards that cannot be sent
                for i, row in enumerate(batch):
                    outcomes[row.id] = Outcome("postpone", wait + (i // CARDS_PER_MESSAGE) * self._channel_interval)
                continue
            first = self._guarded(batch, self._announce, channel, batch[:CARDS_PER_MESSAGE])
            outcomes |= first
            # The rest take the slot after the first batch's: a batch that was posted (or rate
            # limited) has already moved the channel's next slot; a postponed one is yet to take it.
            after = self._channel_interval if first[batch[0].id].kind == "postpone" else 0.0
            for extra in batch[CARDS_PER_MESSAGE:]:
                outcomes[extra.id] = Outcome("postpone", self._wait_for(channel) + after)
        refreshed: set[tuple[str, str]] = set()
        for row in rows:
            if row.id not in outcomes:
                outcomes |= self._guarded([row], self._deliver_one, row, refreshed)
        self._settle(outcomes)
        return any(outcome.kind != "postpone" for outcome in outcomes.values())

    @staticmethod
    def _guarded(rows: list[OutboxMessage], send: Callable[..., dict[int, Outcome]], *args: Any) -> dict[int, Outcome]:
        """A bug rendering one message must not hold up the others: count it as a failed try."""
        try:
            return send(*args)
        except Exception as exc:
            log.exception("delivering outbox rows %s failed", [row.id for row in rows])
            return {row.id: Outcome("retry", error=f"{type(exc).__name__}: {exc}") for row in rows}

    def drain(self, done: Callable[[], bool], timeout: float = 120.0) -> bool:
        """Deliver until `done()` (for commands that must send before they return)."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            if not self.tick():
                time.sleep(0.2)
        return True

    def _settle(self, outcomes: dict[int, Outcome]) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            query = select(OutboxMessage).where(OutboxMessage.id.in_(outcomes)).order_by(OutboxMessage.id)
            rows = list(session.scalars(query))
            for row in rows:
                outcome = outcomes[row.id]
                if outcome.kind == "sent":
                    outbox.mark_sent(row, now, outcome.result)
                elif outcome.kind == "postpone":
                    outbox.postpone(row, now, outcome.seconds)
                else:
                    outbox.mark_failed_attempt(row, now, outcome.error, permanent=outcome.kind == "failed")
                    if row.status == "failed":
                        log.warning("outbox row %s (%s) failed: %s", row.id, row.kind, outcome.error)
                        self._fail_dependents(session, row)

    @staticmethod
    def _fail_dependents(session: Session, failed: OutboxMessage) -> None:
        """Updates of and replies to a message that will never exist fail with it, at once."""
        if failed.kind not in outbox.NEEDS_POSTED.values():
            return
        for row in outbox.fail_dependents(session, failed, _never_posted(session, failed)):
            log.warning("outbox row %s (%s) failed: %s", row.id, row.kind, row.last_error)

    # ---- calling Slack ------------------------------------------------------------------

    def _wait_for(self, channel: str) -> float:
        return max(0.0, self._next_post.get(channel, 0.0) - time.monotonic())

    def _call(self, method: str, pace_channel: str | None, **kwargs: Any) -> Outcome:
        """Call a WebClient method; `pace_channel` holds posts to one channel to Slack's pace."""
        if pace_channel:
            wait = self._wait_for(pace_channel)
            if wait > 0:
                return Outcome("postpone", wait)
            self._next_post[pace_channel] = time.monotonic() + self._channel_interval
        try:
            response = getattr(self._client, method)(**kwargs)
        except SlackApiError as exc:
            return self._failure(method, pace_channel, exc)
        except Exception as exc:  # network: timeouts, refused connections
            self._metrics.slack_calls.labels(method, "error").inc()
            return Outcome("retry", error=f"{type(exc).__name__}: {exc}")
        self._metrics.slack_calls.labels(method, "ok").inc()
        data = response.data if isinstance(response.data, dict) else {}
        return Outcome("sent", result={k: data[k] for k in ("channel", "ts", "message_ts") if k in data})

    def _failure(self, method: str, channel: str | None, exc: SlackApiError) -> Outcome:
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        if status == 429 or error == "ratelimited":
            retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
            self._metrics.slack_calls.labels(method, "ratelimited").inc()
            if channel:
                self._next_post[channel] = time.monotonic() + retry_after
            return Outcome("postpone", retry_after)
        self._metrics.slack_calls.labels(method, "error").inc()
        kind = "failed" if error in PERMANENT_ERRORS else "retry"
        return Outcome(kind, error=f"{method}: HTTP {status} {error or exc}")

    # ---- each kind ----------------------------------------------------------------------

    def _announce(self, channel: str, rows: list[OutboxMessage]) -> dict[int, Outcome]:
        card_ids = [row.payload["card_id"] for row in rows]
        with self._sessions() as session:
            cards = list(
                session.scalars(
                    select(LeadCard)
                    .where(LeadCard.id.in_(card_ids), LeadCard.retired_at.is_(None))
                    .order_by(LeadCard.id)
                )
            )
            if not cards:  # re-announced before it was ever shown: nothing to post
                return {row.id: Outcome("sent") for row in rows}
            payload = self._render_cards(session, cards)
        outcome = self._call("chat_postMessage", channel, channel=channel, **payload)
        if outcome.kind == "sent" and outcome.result:
            with self._sessions.begin() as session:
                for card in session.scalars(select(LeadCard).where(LeadCard.id.in_(card_ids))):
                    card.ts = outcome.result["ts"]
        return {row.id: outcome for row in rows}

    def _render_cards(self, session: Session, cards: list[LeadCard]) -> dict:
        rendered, refs = [], []
        for card in cards:
            lead = card.lead
            team = lead.team
            if card.retired_at is not None:
                rendered.append(retired_card(card))
            else:
                rendered.append(lead_card(lead_state(session, lead), team.timezone, effective_limits(team).hot_score))
            refs.append(lead.ref)
        return cards_message(rendered, refs)

    def _refresh(self, row: OutboxMessage, refreshed: set[tuple[str, str]]) -> Outcome:
        with self._sessions() as session:
            card = session.get(LeadCard, row.payload["card_id"])
            if card is None or (card.ts is None and card.retired_at is not None):
                return Outcome("sent")  # never shown, so nothing to update
            if card.ts is None:
                return _wait_for_message(session, row)
            message_key = (card.channel, card.ts)
            if message_key in refreshed:
                return Outcome("sent")
            cards = list(
                session.scalars(
                    select(LeadCard)
                    .where(LeadCard.channel == card.channel, LeadCard.ts == card.ts)
                    .order_by(LeadCard.id)
                )
            )
            payload = self._render_cards(session, cards)
        refreshed.add(message_key)
        return self._call("chat_update", None, channel=card.channel, ts=card.ts, **payload)

    def _dispute_message(self, row: OutboxMessage, refreshed: set[tuple[str, str]]) -> Outcome:
        """The case message (its ts becomes the thread), its updates, and posts in its thread."""
        names = self._directory.names(self._parties(row)) if row.kind != outbox.Kind.THREAD_POST else {}
        with self._sessions() as session:
            dispute = session.get(Dispute, row.dispute_id)
            if dispute is None:
                return Outcome("failed", error=f"dispute {row.dispute_id} is gone")
            if row.kind != outbox.Kind.DISPUTE_CASE and dispute.thread_ts is None:
                return _wait_for_message(session, row)
            channel, ts = dispute.thread_channel or row.channel, dispute.thread_ts
            if row.kind == outbox.Kind.DISPUTE_REFRESH and (channel, ts) in refreshed:
                return Outcome("sent")  # several changes in one tick: one update shows them all
            if row.kind == outbox.Kind.THREAD_POST:
                return self._call(
                    "chat_postMessage", channel, channel=channel, thread_ts=ts, text=notice_text(row.payload)
                )
            payload = dispute_case(case_facts(session, dispute, self._clock()), names)
        if row.kind == outbox.Kind.DISPUTE_REFRESH:
            refreshed.add((channel or "", ts or ""))
            return self._call("chat_update", None, channel=channel, ts=ts, **payload)
        outcome = self._call("chat_postMessage", channel, channel=channel, **payload)
        if outcome.kind == "sent" and outcome.result:
            with self._sessions.begin() as session:
                posted = session.get_one(Dispute, row.dispute_id)
                posted.thread_channel, posted.thread_ts = outcome.result["channel"], outcome.result["ts"]
        return outcome

    def _parties(self, row: OutboxMessage) -> list[str]:
        with self._sessions() as session:
            dispute = session.get(Dispute, row.dispute_id)
            return [party.member.slack_user_id for party in dispute.parties] if dispute else []

    def _digest_chart(self, row: OutboxMessage) -> Outcome:
        """Draw the digest's chart with each rep's name as Slack has it now, and share it."""
        with self._sessions() as session:
            digest = compute_digest(session, row.team_id or "", row.payload["year"], row.payload["week"], self._clock())
        names = self._directory.names(rep.slack_user_id for rep in digest.reps)
        return self._call(
            "files_upload_v2",
            row.channel,
            channel=row.channel,
            file=fairness_chart(digest, names),
            filename=f"dibs-{digest.team_id}-{digest.label}.png",
            title=f"{digest.team_name} fairness, {digest.label}",
            alt_txt=chart_alt_text(digest, names),
        )

    def _respond(self, row: OutboxMessage) -> Outcome:
        """A private answer by the interaction's response_url, or by DM once that has expired."""
        p = row.payload
        if self._clock() - row.created_at < RESPONSE_URL_LIFETIME:
            answered = self._post_to_response_url(p)
            if answered is not None:
                return answered
        extra = {"blocks": p["blocks"]} if p.get("blocks") else {}
        return self._call("chat_postMessage", p["user"], channel=p["user"], text=p["text"], **extra)

    def _post_to_response_url(self, p: dict[str, Any]) -> Outcome | None:
        """Ephemeral to the user where they clicked; None when Slack says the URL is gone."""
        webhook = WebhookClient(p["response_url"], timeout=self._client.timeout)
        try:
            response = webhook.send(
                text=p["text"], blocks=p.get("blocks"), response_type="ephemeral", replace_original=False
            )
        except Exception as exc:  # network: timeouts, refused connections
            self._metrics.slack_calls.labels("response_url", "error").inc()
            return Outcome("retry", error=f"response_url: {type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 200:
            self._metrics.slack_calls.labels("response_url", "ok").inc()
            return Outcome("sent")
        if status == 429:
            self._metrics.slack_calls.labels("response_url", "ratelimited").inc()
            retry_after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), 1)
            return Outcome("postpone", float(retry_after))
        self._metrics.slack_calls.labels("response_url", "error").inc()
        if status in RESPONSE_URL_GONE:
            return None
        kind = "retry" if status >= 500 else "failed"
        return Outcome(kind, error=f"response_url: HTTP {status} {response.body}"[:500])

    def _deliver_one(self, row: OutboxMessage, refreshed: set[tuple[str, str]]) -> dict[int, Outcome]:
        return {row.id: self._deliver(row, refreshed)}

    def _deliver(self, row: OutboxMessage, refreshed: set[tuple[str, str]]) -> Outcome:
        p = row.payload
        if row.kind == outbox.Kind.REFRESH_CARD:
            return self._refresh(row, refreshed)
        if row.kind == outbox.Kind.POST:
            extra = {k: p[k] for k in ("thread_ts", "blocks") if p.get(k)}
            return self._call("chat_postMessage", row.channel, channel=row.channel, text=p["text"], **extra)
        if row.kind == outbox.Kind.NOTICE:
            return self._call("chat_postMessage", row.channel, channel=row.channel, text=notice_text(p))
        if row.kind == outbox.Kind.RESPOND:
            return self._respond(row)
        if row.kind == outbox.Kind.PUBLISH_HOME:
            with self._sessions() as session:
                view = home_view(session, p["user"], self._clock())
            return self._call("views_publish", None, user_id=p["user"], view=view)
        if row.kind in (outbox.Kind.DISPUTE_CASE, outbox.Kind.DISPUTE_REFRESH, outbox.Kind.THREAD_POST):
            return self._dispute_message(row, refreshed)
        if row.kind == outbox.Kind.DIGEST:
            with self._sessions() as session:
                digest = compute_digest(session, row.team_id or "", p["year"], p["week"], self._clock())
            return self._call("chat_postMessage", row.channel, channel=row.channel, **digest_message(digest))
        if row.kind == outbox.Kind.DIGEST_CHART:
            return self._digest_chart(row)
        return Outcome("failed", error=f"unknown outbox kind {row.kind}")


def _wait_for_message(session: Session, row: OutboxMessage) -> Outcome:
    """A card update or thread post whose message is not posted yet: wait, unless it never will be."""
    needed = outbox.needed_row(session, row)
    if needed is not None and needed.status == OutboxStatus.PENDING:
        return Outcome("postpone", NOT_POSTED_YET_SECONDS)
    if needed is None:
        return Outcome("failed", error=f"nothing was queued to post the message outbox row {row.id} needs")
    return Outcome("failed", error=_never_posted(session, needed))


def _never_posted(session: Session, failed: OutboxMessage) -> str:
    """Why rows depending on `failed` cannot be sent, naming the lead's card or the dispute's case."""
    if failed.kind == outbox.Kind.ANNOUNCE_LEAD:
        lead = session.get(Lead, failed.lead_id)
        what = f"the card of {lead.ref if lead else 'a deleted lead'}"
    else:
        dispute = session.get(Dispute, failed.dispute_id)
        what = f"the case message of {dispute.ref if dispute else 'a deleted dispute'}"
    return f"{what} was never posted ({failed.last_error})"
