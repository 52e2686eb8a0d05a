"""HubSpot owner sync: a lead's new owner written to its HubSpot contact (`hubspot_owner_id`) with
the official `hubspot-api-client`, and for a split a note on the contact naming the partners and
their percentages. In order per lead, like the webhooks (handlers/webhook_sender.py).

A Slack user becomes a HubSpot owner by email: Slack's `users.info` (scope users:read.email) gives
the email, HubSpot's owners API the owner with it; both answers are kept for a day. A 429 from
either waits as long as it asks; a record HubSpot refuses (400, 404, 409, 422) or a rep HubSpot
has no owner for fails at once, visibly (/metrics, `dibs doctor`); anything else is retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import ApiException as ContactsError
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.objects.notes import ApiException as NotesError
from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate
from hubspot.crm.owners import ApiException as OwnersError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from urllib3.exceptions import HTTPError as NetworkError

from bot.crm_config import env_name, secret_of
from handlers.slack_calls import Outcome
from handlers.webhook_sender import WAIT_FOR_EARLIER_SECONDS, earlier_pending
from models import OutboxMessage, Team

HUBSPOT_API_URL = "https://api.hubapi.com"
TIMEOUT_SECONDS = 10.0
REMEMBER_SECONDS = 24 * 3600.0
NOTE_TO_CONTACT = 202  # HubSpot's association type id: note → contact
REFUSED_FOR_GOOD = frozenset({400, 404, 409, 422})
HubSpotError = (ContactsError, NotesError, OwnersError)


class Unsettled(Exception):
    """Stop this row here with this outcome (a wait, a retry, a failure)."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.error)
        self.outcome = outcome


def _retry_after(exc: Any) -> float:
    headers = {key.lower(): value for key, value in dict(getattr(exc, "headers", None) or {}).items()}
    try:
        if "retry-after" in headers:
            return max(float(headers["retry-after"]), 1.0)
        return max(float(headers.get("x-hubspot-ratelimit-interval-milliseconds", 10_000)) / 1000, 1.0)
    except ValueError:
        return 10.0


def _http_outcome(exc: Any, what: str) -> Outcome:
    status = int(getattr(exc, "status", 0) or 0)
    if status == 429:
        return Outcome("postpone", _retry_after(exc))
    kind = "failed" if status in REFUSED_FOR_GOOD else "retry"
    return Outcome(kind, error=f"HubSpot {what}: HTTP {status} {getattr(exc, 'body', '') or ''}"[:500])


def split_note(event: dict[str, Any], emails: dict[str, str]) -> str:
    """The note a split leaves on the contact."""
    shares = ", ".join(f"{emails.get(s['slack_user_id'], s['slack_user_id'])} {s['percent']}%" for s in event["shares"])
    reason = f" Reason: {event['reason']}" if event.get("reason") else ""
    return f"Dibs split the credit for {event['lead']['ref']}: {shares}.{reason}"


class HubSpotSync:
    """Sends a hubspot_owner row; `sessions()` opens a read-only session."""

    def __init__(
        self, slack: WebClient, sessions: Callable[[], Any], clock: Callable[[], datetime], base_url: str
    ) -> None:
        self._slack = slack
        self._sessions = sessions
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._lock = threading.Lock()
        self._emails: dict[str, tuple[str | None, float]] = {}
        self._owners: dict[tuple[str, str], tuple[str | None, float]] = {}

    def send(self, row: OutboxMessage) -> Outcome:
        with self._sessions() as session:
            if earlier_pending(session, row, lambda other: None):
                return Outcome("postpone", WAIT_FOR_EARLIER_SECONDS)
            team = session.get(Team, row.team_id)
            ref = (team.crm if team is not None else {}).get("hubspot_token")
        token = secret_of(ref)
        if not ref:
            return Outcome("sent", result={"skipped": "HubSpot sync is no longer configured"})
        if token is None:
            return Outcome("retry", error=f"HubSpot token: environment variable {env_name(ref)} is not set")
        event = row.payload["event"]
        api = HubSpot(access_token=token, host=self._base_url)
        try:
            return self._sync(api, token, event)
        except Unsettled as stop:
            return stop.outcome

    def _sync(self, api: HubSpot, token: str, event: dict[str, Any]) -> Outcome:
        contact = str(event["lead"]["external_id"])
        owner_email = self._email(event["owner"])
        owner_id = self._owner_id(api, token, owner_email)
        properties = SimplePublicObjectInput(properties={"hubspot_owner_id": owner_id})
        try:
            api.crm.contacts.basic_api.update(contact, properties, _request_timeout=TIMEOUT_SECONDS)
        except HubSpotError as exc:
            return _http_outcome(exc, f"contact {contact} owner")
        except (OSError, NetworkError) as exc:
            return Outcome("retry", error=f"HubSpot unreachable: {exc}"[:500])
        if event["type"] != "lead.split":
            return Outcome("sent", result={"contact": contact, "owner": owner_id})
        emails = {share["slack_user_id"]: self._email(share["slack_user_id"]) for share in event["shares"]}
        note = SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": event["occurred_at"], "hs_note_body": split_note(event, emails)},
            associations=[
                {
                    "to": {"id": contact},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}],
                }
            ],
        )
        try:
            created = api.crm.objects.notes.basic_api.create(note, _request_timeout=TIMEOUT_SECONDS)
        except HubSpotError as exc:
            return _http_outcome(exc, f"split note on contact {contact}")
        except (OSError, NetworkError) as exc:
            return Outcome("retry", error=f"HubSpot unreachable: {exc}"[:500])
        return Outcome("sent", result={"contact": contact, "owner": owner_id, "note": created.id})

    def _email(self, user_id: str) -> str:
        """The Slack user's email (users.info, kept a day)."""
        with self._lock:
            known = self._emails.get(user_id)
        if known is not None and time.monotonic() - known[1] < REMEMBER_SECONDS and known[0]:
            return known[0]
        try:
            answer = self._slack.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                retry = float(exc.response.headers.get("Retry-After", 5))
                raise Unsettled(Outcome("postpone", retry)) from None
            raise Unsettled(
                Outcome("retry", error=f"Slack users.info {user_id}: {exc.response.get('error')}")
            ) from None
        except (OSError, NetworkError) as exc:
            raise Unsettled(Outcome("retry", error=f"Slack unreachable: {exc}")) from None
        email = (answer.get("user") or {}).get("profile", {}).get("email")
        if not email:
            raise Unsettled(
                Outcome(
                    "failed",
                    error=f"Slack gives no email for {user_id}: grant users:read.email and reinstall the app",
                )
            )
        with self._lock:
            self._emails[user_id] = (email, time.monotonic())
        return str(email)

    def _owner_id(self, api: HubSpot, token: str, email: str) -> str:
        """The HubSpot owner with this email (the owners API, kept a day per token)."""
        key = (token, email.lower())
        with self._lock:
            known = self._owners.get(key)
        if known is not None and time.monotonic() - known[1] < REMEMBER_SECONDS and known[0]:
            return known[0]
        try:
            page = api.crm.owners.owners_api.get_page(email=email, limit=1, _request_timeout=TIMEOUT_SECONDS)
        except HubSpotError as exc:
            raise Unsettled(_http_outcome(exc, f"owner of {email}")) from None
        except (OSError, NetworkError) as exc:
            raise Unsettled(Outcome("retry", error=f"HubSpot unreachable: {exc}"[:500])) from None
        if not page.results:
            raise Unsettled(
                Outcome("failed", error=f"HubSpot has no owner with email {email}: add them as a HubSpot user")
            )
        owner_id = str(page.results[0].id)
        with self._lock:
            self._owners[key] = (owner_id, time.monotonic())
        return owner_id
