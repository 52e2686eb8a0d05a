"""Structured logs (issue 15): with LOG_FORMAT=json every line is one JSON object carrying the
request's context, and no line of a whole run holds a token, a secret or a lead's contact details."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator

import pytest

from handlers.request_log import REQUEST_ID_HEADER
from infra.logs import REDACT, JsonFormatter, TextFormatter
from infra.settings import load_settings
from tests.fixtures_app import EAST_TOKEN, SIGNING_SECRET, AppDriver

EMAIL = "jane.doe@acme-rockets.example"
PHONE = "+1 (415) 555-0134"
SECRETS = [SIGNING_SECRET, "xoxb-test", EAST_TOKEN, "west-token-456", EMAIL, PHONE, "555-0134", "jane.doe"]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as `dibs serve` writes it with LOG_FORMAT=json."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_run_logs_json_lines_with_context_and_no_secret(dibs: AppDriver, json_log: io.StringIO) -> None:
    lead = {"name": "Jane Doe", "email": EMAIL, "phone": PHONE, "company": "Acme Rockets"}
    ref = dibs.post_lead(lead).json()["id"]
    assert dibs.post_lead(lead, token="west-token-wrong").status == 401
    assert dibs.post_lead({"name": "Jane", "email": f"not an email {EMAIL}!"}).status == 422
    assert "is yours" in dibs.reply_text(f"claim {ref}", user="U0ALICE")
    assert dibs.click_claim(ref, "U0BOB").status == 200
    dibs.answers_to("U0BOB")
    dibs.reply_text(f"why {ref}", user="U0MGR1")
    dibs.reply_text("claim L-999999", user="U0BOB")  # a refusal
    forged = dibs.request("POST", "/slack/events", b"token=xoxb-forged-123&text=hi", {"X-Slack-Signature": "v0=0"})
    assert forged.status == 401
    request = urllib.request.Request(dibs.base_url + "/readyz", headers={REQUEST_ID_HEADER: "lb-0123456789"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers[REQUEST_ID_HEADER] == "lb-0123456789", "the load balancer's id is kept"
    dibs.runtime.stop()  # every line of the run written

    lines = json_log.getvalue().splitlines()
    assert len(lines) > 10
    parsed = [json.loads(line) for line in lines]  # each line one JSON object
    for line, entry in zip(lines, parsed, strict=True):
        assert {"time", "level", "event", "logger"} <= entry.keys(), line
        assert not [secret for secret in SECRETS if secret.lower() in line.lower()], line

    requests = [e for e in parsed if e["logger"] == "dibs.http"]
    slack = [e for e in requests if e["event"] == "POST /slack/events 200"]
    assert {(e.get("user"), e.get("team"), e.get("lead")) for e in slack} >= {
        ("U0ALICE", "east", ref),  # the slash command
        ("U0BOB", "east", ref),  # the click
    }
    assert all(e["duration_ms"] >= 0 for e in slack)
    intake = next(e for e in requests if e["event"] == "POST /api/leads 201")
    assert (intake["team"], intake["lead"], intake["status"]) == ("east", ref, 201)
    assert len({e["request_id"] for e in requests}) == len(requests), "one id per request"
    assert any(e["request_id"] == "lb-0123456789" for e in requests)


def test_the_response_names_its_request_id(dibs: AppDriver) -> None:
    with urllib.request.urlopen(dibs.base_url + "/healthz", timeout=10) as answer:
        first = answer.headers[REQUEST_ID_HEADER]
    with urllib.request.urlopen(dibs.base_url + "/healthz", timeout=10) as answer:
        assert answer.headers[REQUEST_ID_HEADER] not in ("", None, first)


def test_secrets_and_contact_details_are_taken_out_of_any_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f2c1e-signing-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://dibs:hunter2-db-pass@db/dibs")
    load_settings(_env_file=None)
    record = logging.makeLogRecord(
        {
            "name": "dibs.test",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "sent %s with xoxb-1-2-abc, Bearer east-token-123, signed 8f2c1e-signing-secret to %s at %s",
            "args": (EMAIL, "postgresql://dibs:hunter2-db-pass@db/dibs", PHONE),
            "detail": f"call 415-555-0134 or mail {EMAIL}",
        }
    )
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        for secret in ("xoxb-1-2-abc", "east-token-123", "8f2c1e-signing-secret", "hunter2-db-pass", EMAIL, PHONE):
            assert secret not in line
        assert "415-555-0134" not in line
    assert REDACT("week 2026-W48, lead L-42 at 2026-12-04 18:00:00, 12 leads") == (
        "week 2026-W48, lead L-42 at 2026-12-04 18:00:00, 12 leads"
    ), "dates, refs and counts stay readable"
