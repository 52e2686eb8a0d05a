"""HubSpot's CRM API on loopback, for tests and the demo: the calls Dibs's owner sync makes,
checked against HubSpot's documented request shapes (developers.hubspot.com, CRM v3):

- `GET /crm/v3/owners?email=…` lists owners (`id` is the owner id to assign; `userId` is not).
- `PATCH /crm/v3/objects/contacts/{contactId}` with `{"properties": {...}}`; `hubspot_owner_id`
  must be an existing owner's `id`; an unknown contact is 404.
- `POST /crm/v3/objects/notes` with `properties.hs_timestamp` (required) and `hs_note_body`
  (at most 65,536 characters), `associations` `[{"to": {"id"}, "types": [{"associationCategory":
  "HUBSPOT_DEFINED", "associationTypeId": 202}]}]` (202: note to contact).

Every call needs `Authorization: Bearer <the private app token>` and JSON bodies
`Content-Type: application/json`; anything else is refused and recorded as a problem.
`rate_limit_next(n)` answers the next n calls 429 as HubSpot's limits do.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.loopback import LoopbackServer

NOTE_TO_CONTACT = 202
MAX_NOTE_BODY = 65_536
RATE_LIMIT_INTERVAL_MS = 10_000


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


class HubSpotStandIn(LoopbackServer):
    """Owners and contacts of one portal; `calls` lists every request and its answer's status."""

    thread_name = "HubSpot stand-in"

    def __init__(self, token: str):
        super().__init__()
        self.token = token
        self.owners: dict[str, dict[str, Any]] = {}  # owner id -> owner
        self.contacts: dict[str, dict[str, Any]] = {}  # contact id -> properties
        self.notes: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self._limited = 0
        self._ids = itertools.count(5001)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_owner(self, email: str, first: str = "", last: str = "") -> str:
        owner_id = str(next(self._ids))
        self.owners[owner_id] = {
            "id": owner_id,
            "email": email,
            "type": "PERSON",
            "firstName": first,
            "lastName": last,
            "userId": int(owner_id) + 9_000_000,
            "userIdIncludingInactive": int(owner_id) + 9_000_000,
            "createdAt": "2026-01-05T10:00:00.000Z",
            "updatedAt": "2026-01-05T10:00:00.000Z",
            "archived": False,
        }
        return owner_id

    def add_contact(self, contact_id: str, **properties: str) -> None:
        self.contacts[contact_id] = dict(properties)

    def rate_limit_next(self, count: int) -> None:
        self._limited = count

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method and call.path.startswith(prefix)]

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    # ----- answering

    def answer(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one request, as HubSpot would answer it."""
        url = urlsplit(target)
        query = parse_qs(url.query)
        body: Any = None
        status, answer = self._answer(method, url.path, query, headers, raw)
        if raw:
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.calls.append(Call(method, url.path, query, body, status))
            if status >= 400 and status != 429:
                self.problems.append(f"{method} {url.path}: {status} {answer.get('message')}")
        return status, answer

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any]]:
        if headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        with self._lock:
            if self._limited:
                self._limited -= 1
                return 429, {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "policyName": "SECONDLY",
                }
        body: Any = None
        if method in ("POST", "PATCH"):
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                return _error(415, "Content-Type must be application/json", "UNSUPPORTED_MEDIA_TYPE")
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return _error(400, "Invalid input JSON", "INVALID_JSON")
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["crm", "v3", "owners"]:
            return self._owners(query)
        if method == "PATCH" and parts[:4] == ["crm", "v3", "objects", "contacts"] and len(parts) == 5:
            return self._update_contact(parts[4], body)
        if method == "POST" and parts == ["crm", "v3", "objects", "notes"]:
            return self._create_note(body)
        return _error(404, f"no such endpoint {method} {path}", "NOT_FOUND")

    def _owners(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        unknown = set(query) - {"email", "limit", "after", "archived"}
        if unknown:
            return _error(400, f"unknown query parameter(s) {sorted(unknown)}", "VALIDATION_ERROR")
        email = query["email"][0] if query.get("email") else None
        with self._lock:
            owners = [o for o in self.owners.values() if email is None or o["email"].lower() == email.lower()]
        return 200, {"results": owners}

    def _update_contact(self, contact_id: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or set(body) != {"properties"} or not isinstance(body["properties"], dict):
            return _error(400, 'the body must be {"properties": {...}}', "VALIDATION_ERROR")
        properties = body["properties"]
        if not all(isinstance(value, str) for value in properties.values()):
            return _error(400, "property values must be strings", "VALIDATION_ERROR")
        with self._lock:
            if contact_id not in self.contacts:
                return _error(404, f"resource not found: contact {contact_id}", "OBJECT_NOT_FOUND")
            owner = properties.get("hubspot_owner_id")
            if owner is not None and owner != "" and owner not in self.owners:
                return _error(400, f"{owner} is not a valid owner id", "VALIDATION_ERROR")
            self.contacts[contact_id].update(properties)
            return 200, {"id": contact_id, "properties": dict(self.contacts[contact_id]), "archived": False}

    def _create_note(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return _error(400, 'the body must hold "properties"', "VALIDATION_ERROR")
        properties = body["properties"]
        if not properties.get("hs_timestamp"):
            return _error(400, "hs_timestamp is required", "VALIDATION_ERROR")
        if len(str(properties.get("hs_note_body", ""))) > MAX_NOTE_BODY:
            return _error(400, "hs_note_body is longer than 65,536 characters", "VALIDATION_ERROR")
        for association in body.get("associations") or []:
            to = association.get("to") if isinstance(association, dict) else None
            types = association.get("types") if isinstance(association, dict) else None
            if not isinstance(to, dict) or not isinstance(types, list) or not types:
                return _error(400, "an association needs to.id and types", "VALIDATION_ERROR")
            if any(
                t.get("associationCategory") != "HUBSPOT_DEFINED" or t.get("associationTypeId") != NOTE_TO_CONTACT
                for t in types
            ):
                return _error(
                    400, "a note is associated with a contact by HUBSPOT_DEFINED type 202", "VALIDATION_ERROR"
                )
            if str(to.get("id")) not in self.contacts:
                return _error(404, f"resource not found: contact {to.get('id')}", "OBJECT_NOT_FOUND")
        with self._lock:
            note = {"id": str(next(self._ids)), "properties": properties, "associations": body.get("associations")}
            self.notes.append(note)
        return 201, {"id": note["id"], "properties": properties, "archived": False}


def _error(status: int, message: str, category: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": "error", "message": message, "category": category, "correlationId": "standin"}


def _handler(standin: HubSpotStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = standin.answer(self.command, self.path, headers, raw)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                self.send_header("X-HubSpot-RateLimit-Interval-Milliseconds", str(RATE_LIMIT_INTERVAL_MS))
                self.send_header("X-HubSpot-RateLimit-Max", "100")
                self.send_header("X-HubSpot-RateLimit-Remaining", "0")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
