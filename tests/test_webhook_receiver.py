"""The webhook receiver stand-in is as strict as docs/crm.md tells a receiver to be."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from handlers.webhook_sender import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from sandbox.webhook_receiver import WebhookReceiver

SECRET = "s3cret"
BODY = json.dumps({"id": "1", "type": "lead.claimed"}).encode()


def send(receiver: WebhookReceiver, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(receiver.url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


def signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: signature(secret, stamp, body),
    }


def test_a_correctly_signed_event_is_taken() -> None:
    with WebhookReceiver(SECRET) as receiver:
        assert send(receiver, BODY, signed(BODY)) == 200
        assert receiver.events() == [{"id": "1", "type": "lead.claimed"}] and receiver.problems == []


def test_rule_breaking_requests_are_refused_and_nothing_is_taken() -> None:
    stamp = int(time.time())
    with WebhookReceiver(SECRET) as receiver:
        cases = {
            "wrong secret": (BODY, signed(BODY, "other")),
            "body changed after signing": (BODY + b" ", signed(BODY)),
            "stale timestamp": (BODY, signed(BODY, stamp=stamp - 301)),
            "no signature": (BODY, {"Content-Type": "application/json", TIMESTAMP_HEADER: str(stamp)}),
            "no timestamp": (BODY, {"Content-Type": "application/json", SIGNATURE_HEADER: "v1=00"}),
            "form content type": (BODY, signed(BODY) | {"Content-Type": "application/x-www-form-urlencoded"}),
            "not an object": (b"[1]", signed(b"[1]")),
        }
        answers = {name: send(receiver, body, headers) for name, (body, headers) in cases.items()}
        assert all(status in (400, 401, 415) for status in answers.values()), answers
        assert receiver.events() == [] and len(receiver.problems) == len(cases)


def test_a_receiver_that_is_down_answers_503_and_takes_nothing() -> None:
    with WebhookReceiver(SECRET) as receiver:
        receiver.down = True
        assert send(receiver, BODY, signed(BODY)) == 503
        assert receiver.events() == [] and receiver.refused_while_down == 1
