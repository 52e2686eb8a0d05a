"""Rendering and sending each kind of outbox row (DESIGN §8); handlers/delivery.py decides
when, in which thread, and settles what each send returns.

Every message is rendered when it is sent, so it shows the state of that moment. A card or case
update rendered after a row was leased covers that row too: several changes to one message are
shown by one `chat.update`.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from slack_sdk.webhook import WebhookClient
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from bot import outbox
from bot.digest import compute_digest
from bot.export import Dataset, Export, Format
from bot.export import write as write_export
from bot.leads import lead_states
from bot.limits_preview import prepare_preview, replay
from bot.mediation import case_facts
from bot.teams import effective_limits
from handlers.blocks import context, message
from handlers.chart import chart_alt_text, fairness_chart
from handlers.digest_view import digest_message
from handlers.dispute_views import dispute_case
from handlers.home import home_view
from handlers.hubspot_sync import HUBSPOT_API_URL, HubSpotSync
from handlers.limits_preview_view import limits_preview_message
from handlers.metrics import Metrics
from handlers.notices import notice_text
from handlers.people import Directory
from handlers.slack_calls import Outcome, SlackCalls, outbox_metadata
from handlers.views import cards_message, lead_card, retired_card
from handlers.webhook_sender import WebhookSender
from infra.db import scratch_sessions
from models import Dispute, Lead, LeadCard, OutboxMessage, OutboxStatus

NOT_POSTED_YET_SECONDS = 2.0  # a card update or thread post waits this long for its message
RESPONSE_URL_LIFETIME = timedelta(minutes=30)  # Slack takes 5 posts to a response_url within 30 minutes
RESPONSE_URL_GONE = frozenset({404, 410})  # expired, used up or unknown: Slack answers 404 "Expired url"
REMEMBERED_RENDERS = 10_000  # messages whose last update is remembered for coalescing
DUPLICATE_TEXT = "This message was posted twice; the live copy is the other one."
_WITH_LEAD = joinedload(LeadCard.lead).joinedload(Lead.team)  # a message's cards with their leads, one query


@dataclass(frozen=True)
class Job:
    """A leased row as the worker sends it: `unsure_since` as the row was before the lease (an
    earlier send may have reached Slack since then), `seq` the number of the lease that took it."""

    row: OutboxMessage
    unsure_since: datetime | None
    seq: int


class Sessions(Protocol):
    """What the senders open sessions with (the worker's bounded sessions, or a sessionmaker)."""

    def __call__(self) -> AbstractContextManager[Session]: ...

    def begin(self) -> AbstractContextManager[Session]: ...


class Senders:
    """Renders and sends one row (or a channel's waiting cards), answering an Outcome.

    `directory_sessions` are for the names cache (users.info answers written as they come).
    """

    def __init__(
        self,
        calls: SlackCalls,
        sessions: Sessions,
        directory_sessions: sessionmaker[Session],
        metrics: Metrics,
        clock: Callable[[], datetime],
        hubspot_url: str = HUBSPOT_API_URL,
    ):
        self._calls = calls
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock
        self._directory = Directory(calls.client, directory_sessions, metrics, clock)
        self._webhooks = WebhookSender(sessions, clock)
        self._hubspot = HubSpotSync(calls.client, sessions, clock, hubspot_url)
        self._lock = threading.Lock()
        self._rendered: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._updating: dict[tuple[str, str], tuple[threading.Lock, int]] = {}  # message -> its lock, users

    # ---- coalescing updates -------------------------------------------------------------

    def _covered(self, message_key: tuple[str, str], job: Job) -> bool:
        """An update of this message rendered after the job's row was leased already shows it."""
        with self._lock:
            return self._rendered.get(message_key, -1) >= job.seq

    def _updated(self, message_key: tuple[str, str], seq: int) -> None:
        with self._lock:
            self._rendered[message_key] = max(seq, self._rendered.pop(message_key, -1))
            while len(self._rendered) > REMEMBERED_RENDERS:
                self._rendered.popitem(last=False)

    @contextmanager
    def _one_update_at_a_time(self, message_key: tuple[str, str]) -> Iterator[None]:
        """Updates of one message take turns (rendered and sent under its lock), so the last one
        Slack receives shows the latest state, whichever lanes they came through."""
        with self._lock:
            lock, users = self._updating.get(message_key, (threading.Lock(), 0))
            self._updating[message_key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._updating[message_key]
                if users == 1:
                    del self._updating[message_key]
                else:
                    self._updating[message_key] = (lock, users - 1)

    def _update(self, message_key: tuple[str, str], seq: int, payload: dict[str, Any]) -> Outcome:
        channel, ts = message_key
        outcome = self._calls.call("chat_update", None, channel=channel, ts=ts, **payload)
        if outcome.kind == "sent":
            self._updated(message_key, seq)
        return outcome

    # ---- lead cards ---------------------------------------------------------------------

    def announce(self, channel: str, jobs: list[Job]) -> dict[int, Outcome]:
        """Post a channel's waiting cards in one message; rows an earlier send may have posted
        are looked for first, and the message found adopted."""
        outcomes: dict[int, Outcome] = {}
        unsure = [job for job in jobs if job.unsure_since is not None]
        if unsure:
            since = min(job.unsure_since for job in unsure if job.unsure_since is not None)
            found = self._calls.find_posted(channel, None, [job.row.id for job in unsure], since)
            for job in unsure:
                if isinstance(found, Outcome):
                    outcomes[job.row.id] = found
                elif job.row.id in found:
                    outcomes[job.row.id] = Outcome("sent", result=found[job.row.id])
        remaining = [job for job in jobs if job.row.id not in outcomes]
        if not remaining:
            return outcomes
        card_ids = [job.row.payload["card_id"] for job in remaining]
        with self._sessions() as session:
            query = select(LeadCard).where(LeadCard.id.in_(card_ids), LeadCard.retired_at.is_(None)).options(_WITH_LEAD)
            cards = list(session.scalars(query.order_by(LeadCard.id)))
            if not cards:  # re-announced before it was ever shown: nothing to post
                return outcomes | {job.row.id: Outcome("sent") for job in remaining}
            payload = self._render_cards(session, cards)
        rows = [job.row.id for job in remaining]
        outcome = self._calls.call(
            "chat_postMessage", channel, channel=channel, metadata=outbox_metadata(rows), **payload
        )
        return outcomes | dict.fromkeys(rows, outcome)

    def _render_cards(self, session: Session, cards: list[LeadCard]) -> dict[str, Any]:
        """One message's cards, its live leads' facts gathered together (`lead_states`)."""
        live = [card.lead for card in cards if card.retired_at is None]
        states = {state.lead.id: state for state in lead_states(session, live)} if live else {}
        hot_scores = {card.lead.team_id: effective_limits(card.lead.team).hot_score for card in cards}
        rendered, refs = [], []
        for card in cards:
            lead = card.lead
            if card.retired_at is not None:
                rendered.append(retired_card(card))
            else:
                rendered.append(lead_card(states[lead.id], lead.team.timezone, hot_scores[lead.team_id]))
            refs.append(lead.ref)
        return cards_message(rendered, refs)

    def _refresh(self, job: Job, seq_now: int) -> Outcome:
        message_key = self._message_of(job.row)
        if isinstance(message_key, Outcome):
            return message_key
        channel, ts = message_key
        with self._one_update_at_a_time(message_key):
            if self._covered(message_key, job):
                return Outcome("sent")
            if wait := self._calls.method_wait("chat_update"):
                return Outcome("postpone", wait)  # not rendered for nothing while Slack's limit is spent
            with self._sessions() as session:
                cards = list(
                    session.scalars(
                        select(LeadCard)
                        .where(LeadCard.channel == channel, LeadCard.ts == ts)
                        .options(_WITH_LEAD)
                        .order_by(LeadCard.id)
                    )
                )
                if not cards:  # erased meanwhile: nothing left to show
                    return Outcome("sent")
                payload = self._render_cards(session, cards)
            return self._update(message_key, seq_now, payload)

    def _message_of(self, row: OutboxMessage) -> tuple[str, str] | Outcome:
        """The (channel, ts) of the message holding the row's card (known when it was queued after
        the post), or what to do with a row whose card has no message yet."""
        if row.payload.get("ts") and row.channel:
            return row.channel, str(row.payload["ts"])
        with self._sessions() as session:
            card = session.get(LeadCard, row.payload["card_id"])
            if card is None or (card.ts is None and card.retired_at is not None):
                return Outcome("sent")  # never shown, so nothing to update
            if card.ts is None:
                return _wait_for_message(session, row)
            return card.channel, card.ts

    def _retire_copy(self, row: OutboxMessage) -> Outcome:
        """A second copy of a card or case message: no buttons, pointing at the live one."""
        stub = message(DUPLICATE_TEXT, [context(f"_{DUPLICATE_TEXT}_")])
        return self._calls.call("chat_update", None, channel=row.channel, ts=row.payload["ts"], **stub)

    # ---- disputes -----------------------------------------------------------------------

    def _dispute_message(self, job: Job, seq_now: int) -> Outcome:
        """The case message (its ts becomes the thread), its updates, and posts in its thread."""
        row = job.row
        names = self._directory.names(self._parties(row)) if row.kind != outbox.Kind.THREAD_POST else {}
        with self._sessions() as session:
            dispute = session.get(Dispute, row.dispute_id)
            if dispute is None:
                return Outcome("failed", error=f"dispute {row.dispute_id} is gone")
            if row.kind != outbox.Kind.DISPUTE_CASE and dispute.thread_ts is None:
                return _wait_for_message(session, row)
            channel, ts = dispute.thread_channel or row.channel or "", dispute.thread_ts
            if row.kind == outbox.Kind.THREAD_POST:
                return self._calls.post(
                    [row.id], job.unsure_since, channel, thread_ts=ts, text=notice_text(row.payload)
                )
            if row.kind == outbox.Kind.DISPUTE_REFRESH and self._covered((channel, ts or ""), job):
                return Outcome("sent")  # several changes: one update shows them all
            payload = dispute_case(case_facts(session, dispute, self._clock()), names)
        if row.kind == outbox.Kind.DISPUTE_REFRESH:
            return self._update((channel, ts or ""), seq_now, payload)
        return self._calls.post([row.id], job.unsure_since, channel, **payload)

    def _parties(self, row: OutboxMessage) -> list[str]:
        with self._sessions() as session:
            dispute = session.get(Dispute, row.dispute_id)
            return [party.member.slack_user_id for party in dispute.parties] if dispute else []

    # ---- digests ------------------------------------------------------------------------

    def _digest(self, job: Job) -> Outcome:
        row = job.row
        with self._sessions() as session:
            digest = compute_digest(session, row.team_id or "", row.payload["year"], row.payload["week"], self._clock())
        return self._calls.post([row.id], job.unsure_since, row.channel or "", **digest_message(digest))

    def _digest_chart(self, row: OutboxMessage) -> Outcome:
        """Draw the digest's chart with each rep's name as Slack has it now, and share it."""
        with self._sessions() as session:
            digest = compute_digest(session, row.team_id or "", row.payload["year"], row.payload["week"], self._clock())
        names = self._directory.names(rep.slack_user_id for rep in digest.reps)
        return self._calls.call(
            "files_upload_v2",
            row.channel,
            channel=row.channel,
            file=fairness_chart(digest, names),
            filename=f"dibs-{digest.team_id}-{digest.label}.png",
            title=f"{digest.team_name} fairness, {digest.label}",
            alt_txt=chart_alt_text(digest, names),
        )

    def _export_file(self, row: OutboxMessage) -> Outcome:
        """Write a manager's export to a file (streamed, as `dibs export` does) and share it in their DM."""
        opened = self._calls.call("conversations_open", None, users=row.channel or "")
        if opened.kind != "sent" or not opened.result:
            return opened
        p = row.payload
        since = datetime.fromisoformat(p["since"]) if p.get("since") else None
        export = Export(Dataset(p["dataset"]), row.team_id or "", since)
        shown = f" since {since.date().isoformat()}" if since else ""
        with tempfile.TemporaryDirectory(prefix="dibs-export-") as tmp:
            path = (
                Path(tmp)
                / f"dibs-{row.team_id}-{export.dataset}{'-since-' + since.date().isoformat() if since else ''}.csv"
            )
            with self._sessions() as session, path.open("w", newline="", encoding="utf-8") as out:
                written = write_export(session, export, Format.CSV, out)
            return self._calls.call(
                "files_upload_v2",
                None,
                channel=str(opened.result["channel"]["id"]),
                file=str(path),
                filename=path.name,
                title=f"{row.team_id} {export.dataset}{shown}",
                initial_comment=f"Your export: {written} row(s) of {export.dataset}{shown}.",
            )

    # ---- private answers ----------------------------------------------------------------

    def _respond(self, row: OutboxMessage, answer: dict[str, Any] | None = None) -> Outcome:
        """A private answer (the row's own, or `answer` rendered now) by the interaction's
        response_url, or by DM once that has expired or when there is none.

        Neither can be looked for afterwards (an ephemeral answer leaves no trace to find), so an
        answer whose send may have reached Slack is sent again: at least once.
        """
        p = row.payload
        answer = answer or {"text": p["text"], "blocks": p.get("blocks")}
        if p.get("response_url") and self._clock() - row.created_at < RESPONSE_URL_LIFETIME:
            answered = self._post_to_response_url(p["response_url"], answer)
            if answered is not None:
                return answered
        extra = {"blocks": answer["blocks"]} if answer.get("blocks") else {}
        return self._calls.post([row.id], None, p["user"], text=answer["text"], **extra)

    def _limits_preview(self, row: OutboxMessage) -> Outcome:
        """Replay the team's last weeks under its limits and the proposed one, and answer privately.

        The recorded weeks are read first and the session closed: the replay runs on throwaway
        databases and takes a while."""
        with self._sessions() as session:
            preview = prepare_preview(session, row.team_id or "", row.payload, self._clock())
        return self._respond(row, limits_preview_message(preview, replay(preview, scratch_sessions)))

    def _post_to_response_url(self, url: str, answer: dict[str, Any]) -> Outcome | None:
        """Ephemeral to the user where they clicked; None when Slack says the URL is gone."""
        webhook = WebhookClient(url, timeout=self._calls.client.timeout)
        try:
            response = webhook.send(
                text=answer["text"], blocks=answer.get("blocks"), response_type="ephemeral", replace_original=False
            )
        except Exception as exc:  # network: timeouts, refused connections
            self._metrics.slack_calls.labels("response_url", "error").inc()
            return Outcome("retry", error=f"response_url: {type(exc).__name__}: {exc}", unsure=True)
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

    # ---- every kind ---------------------------------------------------------------------

    def send(self, job: Job, seq_now: int) -> Outcome:
        """Render and send one row; `seq_now` is the newest lease whose rows an update rendered
        now shows."""
        row, p = job.row, job.row.payload
        if row.kind == outbox.Kind.REFRESH_CARD:
            return self._refresh(job, seq_now)
        if row.kind == outbox.Kind.POST:
            extra = {k: p[k] for k in ("thread_ts", "blocks") if p.get(k)}
            return self._calls.post([row.id], job.unsure_since, row.channel or "", text=p["text"], **extra)
        if row.kind == outbox.Kind.NOTICE:
            thread = {"thread_ts": p["thread_ts"]} if p.get("thread_ts") else {}
            return self._calls.post([row.id], job.unsure_since, row.channel or "", text=notice_text(p), **thread)
        if row.kind == outbox.Kind.RESPOND:
            return self._respond(row)
        if row.kind == outbox.Kind.PUBLISH_HOME:
            with self._sessions() as session:
                view = home_view(session, p["user"], self._clock())
            return self._calls.call("views_publish", None, user_id=p["user"], view=view)
        if row.kind in (outbox.Kind.DISPUTE_CASE, outbox.Kind.DISPUTE_REFRESH, outbox.Kind.THREAD_POST):
            return self._dispute_message(job, seq_now)
        if row.kind == outbox.Kind.DIGEST:
            return self._digest(job)
        if row.kind == outbox.Kind.DIGEST_CHART:
            return self._digest_chart(row)
        if row.kind == outbox.Kind.RETIRE_COPY:
            return self._retire_copy(row)
        if row.kind == outbox.Kind.WEBHOOK:
            return self._webhooks.send(row)
        if row.kind == outbox.Kind.HUBSPOT_OWNER:
            return self._hubspot.send(row)
        if row.kind == outbox.Kind.EXPORT_FILE:
            return self._export_file(row)
        if row.kind == outbox.Kind.LIMITS_PREVIEW:
            return self._limits_preview(row)
        return Outcome("failed", error=f"unknown outbox kind {row.kind}")


def _wait_for_message(session: Session, row: OutboxMessage) -> Outcome:
    """A card update or thread post whose message is not posted yet: wait, unless it never will be."""
    needed = outbox.needed_row(session, row)
    if needed is not None and needed.status == OutboxStatus.PENDING:
        return Outcome("postpone", NOT_POSTED_YET_SECONDS)
    if needed is None:
        return Outcome("failed", error=f"nothing was queued to post the message outbox row {row.id} needs")
    return Outcome("failed", error=never_posted(session, needed))


def never_posted(session: Session, failed: OutboxMessage) -> str:
    """Why rows depending on `failed` cannot be sent, naming the lead's card or the dispute's case."""
    if failed.kind == outbox.Kind.ANNOUNCE_LEAD:
        lead = session.get(Lead, failed.lead_id)
        what = f"the card of {lead.ref if lead else 'a deleted lead'}"
    else:
        dispute = session.get(Dispute, failed.dispute_id)
        what = f"the case message of {dispute.ref if dispute else 'a deleted dispute'}"
    return f"{what} was never posted ({failed.last_error})"
