"""Calling Slack for the outbox worker: what each answer means for the row, the pace of each
channel, and finding a message a send whose answer was lost may have posted (DESIGN §8).

Every `chat.postMessage` the worker makes carries the outbox row ids in the message's
`metadata`; a row whose last send may have reached Slack is looked for in the channel's history
(or the thread's replies) from a minute before that send began, and its `ts` adopted if found.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.metrics import Metrics

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
        "thread_not_found",
        "unknown_method",
        "missing_scope",
        "restricted_action",
    }
)
OUTBOX_EVENT = "dibs_outbox"  # the metadata event type of every message the worker posts
CLOCK_SKEW_SECONDS = 60.0  # look this much before a send began: our clock and Slack's may differ
HISTORY_PAGES = 10  # at most this many pages of 200 messages are searched for one row
PACE_WAIT_SECONDS = 2.0  # a channel's turn this close is waited for; a later one postpones the row
PACE_MARGIN = 1.05  # posts to a channel leave this much more than an interval apart (network jitter)

# Slack limits each Web API method per workspace (api.slack.com/apis/rate-limits). The worker keeps
# under the limits of what it calls in volume by itself, at each tier's floor, rather than learning
# them from 429s: a card update over the limit waits for its turn. chat.postMessage is paced per
# channel instead. A 429 still holds its method for Retry-After: other workers share the budget.
RATE_WINDOW_SECONDS = 60.0
METHOD_LIMITS: Mapping[str, int] = {  # calls per RATE_WINDOW_SECONDS, by WebClient method
    "chat_update": 50,
    "views_publish": 100,
    "conversations_open": 50,
    "conversations_history": 50,
    "conversations_replies": 50,
}


@dataclass
class Outcome:
    """What became of one send: sent, retry later without using up an attempt (postpone),
    a failed attempt (retry), or failed for good. `unsure`: a retry whose send may have
    reached Slack (the answer was lost), so the next send looks for it first."""

    kind: str  # sent | postpone | retry | failed
    seconds: float = 0.0
    error: str = ""
    result: dict[str, Any] | None = None
    unsure: bool = False


def outbox_metadata(row_ids: list[int]) -> dict[str, Any]:
    """Message metadata naming the outbox rows a message is for (`rows` when there are several)."""
    payload: dict[str, Any] = {"row": row_ids[0]}
    if len(row_ids) > 1:
        payload["rows"] = ",".join(str(row_id) for row_id in row_ids)
    return {"event_type": OUTBOX_EVENT, "event_payload": payload}


def metadata_rows(message: dict[str, Any]) -> set[int]:
    """The outbox rows a message from conversations.history names (none if it is not ours)."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != OUTBOX_EVENT:
        return set()
    payload = metadata.get("event_payload") or {}
    named = str(payload.get("rows") or payload.get("row") or "")
    return {int(part) for part in named.split(",") if part.strip().isdigit()}


def is_user_id(channel: str) -> bool:
    """A user id (a DM the bot opens by posting to it) rather than a conversation id."""
    return channel[:1] in ("U", "W")


class MethodBudget:
    """Calls of each limited method in the last window, and holds set by Slack's 429s."""

    def __init__(self, limits: Mapping[str, int], window: float = RATE_WINDOW_SECONDS):
        self._limits, self._window = dict(limits), window
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)
        self._held: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, method: str) -> float:
        """0 when `method` may be called now (the call is counted); else the seconds until it may."""
        with self._lock:
            if wait := self._wait(method):
                return wait
            if method in self._limits:
                self._calls[method].append(time.monotonic())
            return 0.0

    def wait(self, method: str) -> float:
        """Seconds until `method` may be called (0: now), counting nothing: to skip work whose
        call would have to wait anyway."""
        with self._lock:
            return self._wait(method)

    def _wait(self, method: str) -> float:
        now = time.monotonic()
        if (held := self._held.get(method, 0.0) - now) > 0:
            return held
        limit = self._limits.get(method)
        if limit is None:
            return 0.0
        calls = self._calls[method]
        while calls and calls[0] <= now - self._window:
            calls.popleft()
        return calls[0] + self._window - now if len(calls) >= limit else 0.0

    def hold(self, method: str, seconds: float) -> None:
        """Slack said the method is over its limit: no call of it for `seconds`."""
        with self._lock:
            self._held[method] = max(self._held.get(method, 0.0), time.monotonic() + seconds)


class SlackCalls:
    """Web API calls with their outcome, channel pacing across the worker's threads, and
    the look-up of messages already posted."""

    def __init__(
        self, client: WebClient, metrics: Metrics, channel_interval: float = 1.0, budget: MethodBudget | None = None
    ):
        self._client = client
        self._metrics = metrics
        self._channel_interval = channel_interval
        self._budget = budget or MethodBudget(METHOD_LIMITS)
        self._lock = threading.Lock()
        self._next_post: dict[str, float] = {}

    @property
    def client(self) -> WebClient:
        return self._client

    # ---- pacing --------------------------------------------------------------------------

    def method_wait(self, method: str) -> float:
        """Seconds until `method` is within Slack's limit again (0: now)."""
        return self._budget.wait(method)

    def wait_for(self, channel: str) -> float:
        """Seconds until the channel's next post may go."""
        with self._lock:
            return max(0.0, self._next_post.get(channel, 0.0) - time.monotonic())

    def _take_turn(self, channel: str) -> float:
        """Reserve the channel's next slot; the seconds to wait for it (the caller sleeps them,
        then `_posting`), or a negative number when it is too far off to wait for (no slot taken)."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_post.get(channel, 0.0))
            if slot - now > PACE_WAIT_SECONDS:
                return -(slot - now)
            self._next_post[channel] = slot + self._channel_interval
            return slot - now

    def _posting(self, channel: str) -> None:
        """The next post to the channel goes a whole interval (and a margin) after this one leaves."""
        with self._lock:
            after = time.monotonic() + self._channel_interval * PACE_MARGIN
            self._next_post[channel] = max(self._next_post.get(channel, 0.0), after)

    # ---- calls ---------------------------------------------------------------------------

    def call(self, method: str, pace_channel: str | None, **kwargs: Any) -> Outcome:
        """Call a WebClient method; `pace_channel` holds posts to one channel to Slack's pace,
        waiting out a short rate limit in place (so the channel's rows keep their order)."""
        while True:
            outcome = self._call_once(method, pace_channel, **kwargs)
            if outcome.kind != "postpone" or not pace_channel or outcome.seconds > PACE_WAIT_SECONDS:
                return outcome

    def _call_once(self, method: str, pace_channel: str | None, **kwargs: Any) -> Outcome:
        if pace_channel:
            wait = self._take_turn(pace_channel)
            if wait < 0:
                return Outcome("postpone", -wait)
            time.sleep(wait)
            self._posting(pace_channel)
        elif wait := self._budget.take(method):
            return Outcome("postpone", wait)
        try:
            response = getattr(self._client, method)(**kwargs)
        except SlackApiError as exc:
            return self.failure(method, pace_channel, exc)
        except Exception as exc:  # network: timeouts, refused or dropped connections
            self._metrics.slack_calls.labels(method, "error").inc()
            self._metrics.slack_errors.labels(method, "no_answer").inc()
            return Outcome("retry", error=f"{method}: {type(exc).__name__}: {exc}", unsure=True)
        finally:
            if pace_channel:  # Slack paces posts as they arrive: the next leaves an interval after this answer
                self._posting(pace_channel)
        self._metrics.slack_calls.labels(method, "ok").inc()
        data = response.data if isinstance(response.data, dict) else {}
        return Outcome("sent", result={k: data[k] for k in ("channel", "ts", "message_ts") if k in data})

    def failure(self, method: str, channel: str | None, exc: SlackApiError) -> Outcome:
        """Slack answered, so nothing was posted: rate limited, refused for good, or a retry
        (a 5xx is Slack saying it failed, taken as not posted)."""
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        self._metrics.slack_errors.labels(method, error or f"http_{status}").inc()
        if status == 429 or error == "ratelimited":
            headers = exc.response.headers
            retry_after = float(headers.get("Retry-After", headers.get("retry-after", 1)))
            self._metrics.slack_calls.labels(method, "ratelimited").inc()
            if channel:
                with self._lock:
                    self._next_post[channel] = time.monotonic() + retry_after
            else:
                self._budget.hold(method, retry_after)
            return Outcome("postpone", retry_after)
        self._metrics.slack_calls.labels(method, "error").inc()
        kind = "failed" if error in PERMANENT_ERRORS else "retry"
        return Outcome(kind, error=f"{method}: HTTP {status} {error or exc}")

    def post(self, rows: list[int], unsure_since: datetime | None, channel: str, **kwargs: Any) -> Outcome:
        """chat.postMessage for outbox `rows`, unless a send that may have reached Slack since
        `unsure_since` did: then that message is adopted (`result` has its channel and ts)."""
        if unsure_since is not None:
            found = self.find_posted(channel, kwargs.get("thread_ts"), rows, unsure_since)
            if isinstance(found, Outcome):
                return found
            if rows[0] in found:
                return Outcome("sent", result=found[rows[0]])
        return self.call("chat_postMessage", channel, channel=channel, metadata=outbox_metadata(rows), **kwargs)

    # ---- finding a message already posted ------------------------------------------------

    def find_posted(
        self, channel: str, thread_ts: str | None, rows: Iterable[int], since: datetime
    ) -> dict[int, dict[str, Any]] | Outcome:
        """Row id -> {channel, ts, adopted} of each of `rows` a message posted since `since`
        (less the clock skew) names in its metadata; an Outcome when Slack could not be asked
        now (retry: the rows stay unsure). If Slack refuses the look-up for good (a token
        without the history scopes), the rows are treated as not posted: at least once."""
        wanted = set(rows)
        conversation = self._conversation(channel)
        if not isinstance(conversation, str):
            return conversation or {}
        oldest = f"{since.timestamp() - CLOCK_SKEW_SECONDS:.6f}"
        found: dict[int, dict[str, Any]] = {}
        latest: str | None = None
        for _ in range(HISTORY_PAGES):
            page = self._history_page(conversation, thread_ts, oldest, latest)
            if not isinstance(page, tuple):
                return page or found
            messages, more = page
            for message in messages:
                for row in metadata_rows(message) & wanted:
                    found.setdefault(row, {"channel": conversation, "ts": message["ts"], "adopted": True})
            if not more or not messages or thread_ts or found.keys() == wanted:
                break  # (a thread's replies come oldest first: its first 200 after `oldest` suffice)
            latest = min(messages, key=lambda m: float(m["ts"]))["ts"]
        return found

    def _conversation(self, channel: str) -> str | Outcome | None:
        """The conversation id to search: a user id's DM is opened to learn its `D…` id."""
        if not is_user_id(channel):
            return channel
        try:
            response = self._client.conversations_open(users=channel)
        except SlackApiError as exc:
            return self._lookup_failure("conversations_open", exc)
        except Exception as exc:
            self._metrics.slack_calls.labels("conversations_open", "error").inc()
            return Outcome("retry", error=f"conversations_open: {type(exc).__name__}: {exc}", unsure=True)
        self._metrics.slack_calls.labels("conversations_open", "ok").inc()
        return str(response["channel"]["id"])

    def _history_page(
        self, conversation: str, thread_ts: str | None, oldest: str, latest: str | None
    ) -> tuple[list[dict[str, Any]], bool] | Outcome | None:
        """One page of the conversation's messages (or the thread's) from `oldest` to `latest`."""
        method = "conversations_replies" if thread_ts else "conversations_history"
        if wait := self._budget.take(method):
            return Outcome("postpone", wait, unsure=True)
        try:
            if thread_ts:
                response = self._client.conversations_replies(
                    channel=conversation,
                    ts=thread_ts,
                    oldest=oldest,
                    latest=latest,
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                response = self._client.conversations_history(
                    channel=conversation, oldest=oldest, latest=latest, include_all_metadata=True, limit=200
                )
        except SlackApiError as exc:
            return self._lookup_failure(method, exc)
        except Exception as exc:
            self._metrics.slack_calls.labels(method, "error").inc()
            return Outcome("retry", error=f"{method}: {type(exc).__name__}: {exc}", unsure=True)
        self._metrics.slack_calls.labels(method, "ok").inc()
        return list(response.get("messages") or []), bool(response.get("has_more"))

    def _lookup_failure(self, method: str, exc: SlackApiError) -> Outcome | None:
        """Retry the look-up later (the rows stay unsure), or None: Slack will never answer it,
        so the rows are sent again."""
        outcome = self.failure(method, None, exc)
        if outcome.kind == "failed":
            log.warning("cannot look for messages already posted (%s); sending again", outcome.error)
            return None
        outcome.unsure = outcome.kind == "retry"
        return outcome
