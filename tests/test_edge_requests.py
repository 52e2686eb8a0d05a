"""Requests before trust (issue 10): size caps before reading, the signature before parsing,
bad headers a 401, idle connections unable to starve the server, replays acting once."""

from __future__ import annotations

import io
import select
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select as sql_select

from handlers.edge import SLACK_MAX_BODY, read_body
from handlers.lead_form import CALLBACK_ID, FIELDS
from handlers.server import HttpServer
from handlers.web import create_web_app
from models import AuditEvent
from sandbox.signing import signed_headers, slash_command_body, view_submission_body
from tests.fixtures_app import SIGNING_SECRET, AppDriver
from tests.test_claims_e2e import announce

MIB = 1024 * 1024
T = TypeVar("T")


# ---- helpers ----------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def peak_growth_mib(send: Callable[[], T]) -> tuple[float, T]:
    """How far this process's resident memory peaked above where it was while `send` ran, and its result."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak) to the current RSS
    before = _status_kib("VmRSS")
    result = send()
    return (_status_kib("VmHWM") - before) / 1024, result


def raw_request(port: int, head: bytes, body: Iterator[bytes]) -> bytes:
    """Send `head` then `body` chunk by chunk, stopping as soon as the server answers; the answer."""
    with closing(socket.create_connection(("127.0.0.1", port), timeout=10)) as sock:
        sock.sendall(head)
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered (or closed) before taking everything
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for piece in chunks(total, size):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


# ---- size before reading ----------------------------------------------------------------------


def test_an_unsigned_50_mb_body_is_refused_without_the_process_growing(dibs: AppDriver) -> None:
    port = dibs.runtime.http.port
    answers: list[bytes] = []
    for head, body in (
        (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (50 * MIB), chunks(50 * MIB)),
        (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", chunked(50 * MIB)),
        (b"POST /api/leads HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (50 * MIB), chunks(50 * MIB)),
    ):
        growth, answer = peak_growth_mib(partial(raw_request, port, head, body))
        answers.append(answer)
        assert growth < 16, f"memory peaked {growth:.0f} MiB higher for {head.splitlines()[0]!r}"
    assert [status_of(a) for a in answers] == [413, 413, 413]
    assert dibs.request("GET", "/healthz").status == 200


def test_a_body_over_the_slack_cap_is_413_before_the_signature_is_looked_at(dibs: AppDriver) -> None:
    body = b"payload=" + b"x" * SLACK_MAX_BODY
    assert dibs.slack_request(body).status == 413  # waitress, before the app sees a byte of it
    runtime = dibs.runtime
    web = create_web_app(runtime.engine, runtime.metrics, runtime.bolt_app, SIGNING_SECRET)
    response = web.test_client().post("/slack/events", data=body, headers=signed_headers(body, SIGNING_SECRET))
    assert response.status_code == 413  # the door, under any other WSGI server
    assert response.get_json() == {"error": "request body larger than 256 KiB"}


def test_a_missing_or_lying_content_length_lets_no_more_than_the_cap_in() -> None:
    huge = io.BytesIO(b"x" * (4 * SLACK_MAX_BODY))
    assert read_body({"wsgi.input": huge, "CONTENT_LENGTH": "10"}, SLACK_MAX_BODY) == b"x" * 10
    assert huge.tell() == 10, "no more than Content-Length is read"
    huge.seek(0)
    assert read_body({"wsgi.input": huge, "wsgi.input_terminated": True}, SLACK_MAX_BODY) is None
    assert huge.tell() == SLACK_MAX_BODY + 1, "a body without Content-Length is read up to the cap only"
    assert read_body({"wsgi.input": io.BytesIO(b"abc")}, SLACK_MAX_BODY) == b"", "no length, no body"
    with pytest.raises(ValueError):
        read_body({"wsgi.input": huge, "CONTENT_LENGTH": "-1"}, SLACK_MAX_BODY)


def test_the_largest_form_slack_can_send_us_fits_under_the_cap(dibs: AppDriver) -> None:
    """Every lead form input filled to its limit with characters Slack escapes as surrogate pairs."""
    form = {
        name: {"value": {"type": "plain_text_input", "value": "😀" * length}}
        for name, length in ((name, _max_length(name)) for name, *_ in FIELDS)
    }
    body = view_submission_body("U0ALICE", CALLBACK_ID, form, trigger_id=dibs.slack.new_trigger_id())
    assert len(body) < SLACK_MAX_BODY / 2, f"{len(body)} bytes leave too little room"
    response = dibs.slack_request(body)
    assert response.status == 200, "refused by the form's own rules, not by the size cap"
    assert response.json()["response_action"] == "errors"


def _max_length(field: str) -> int:
    from handlers.lead_form import lead_form

    block = next(b for b in lead_form()["blocks"] if b["block_id"] == field)
    return block["element"]["max_length"]


# ---- signature before parsing -----------------------------------------------------------------


def test_bad_or_missing_signature_headers_are_401_never_500(dibs: AppDriver) -> None:
    body = slash_command_body(
        "help",
        user_id="U0ALICE",
        channel_id="C0EAST",
        trigger_id=dibs.slack.new_trigger_id(),
        response_url=dibs.slack.new_response_url("C0EAST", "U0ALICE"),
    )
    good = signed_headers(body, SIGNING_SECRET)
    for changed in (
        {"X-Slack-Request-Timestamp": "yesterday"},
        {"X-Slack-Request-Timestamp": "9" * 5000},
        {"X-Slack-Request-Timestamp": ""},
        {"X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Signature": "nonsense"},
    ):
        response = dibs.request("POST", "/slack/events", body, good | changed)
        assert response.status == 401, (changed, response.status)
        assert response.json() == {"error": "invalid or missing Slack signature"}
    missing = {k: v for k, v in good.items() if k != "X-Slack-Signature"}
    assert dibs.request("POST", "/slack/events", body, missing).status == 401
    not_utf8 = b"text=\xff\xfe&command=%2Fdibs"
    assert dibs.request("POST", "/slack/events", not_utf8, {"X-Slack-Request-Timestamp": "1"}).status == 401
    assert dibs.request("POST", "/slack/events", body, good).status == 200


# ---- idle and slow connections ----------------------------------------------------------------


def test_200_idle_connections_do_not_keep_a_real_request_waiting(dibs: AppDriver) -> None:
    port = dibs.runtime.http.port
    with ExitStack() as stack:
        for _ in range(200):
            stack.enter_context(closing(socket.create_connection(("127.0.0.1", port), timeout=5)))
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - started < 2.0


def test_an_idle_connection_is_closed_after_the_channel_timeout(dibs: AppDriver) -> None:
    server = HttpServer(dibs.runtime.http._server.application, "127.0.0.1", 0, channel_timeout=1, cleanup_interval=1)
    server.start()
    try:
        with closing(socket.create_connection(("127.0.0.1", server.port), timeout=10)) as idle:
            idle.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            started = time.monotonic()
            assert idle.recv(1024) == b"", "the server hung up"
            assert time.monotonic() - started < 5
    finally:
        server.stop()


# ---- replays ----------------------------------------------------------------------------------


def test_a_replayed_signed_command_acts_once(dibs: AppDriver) -> None:
    ref = announce(dibs)
    claim = slash_command_body(
        f"claim {ref}",
        user_id="U0ALICE",
        channel_id="C0EAST",
        trigger_id=dibs.slack.new_trigger_id(),
        response_url=dibs.slack.new_response_url("C0EAST", "U0ALICE"),
    )
    claim_headers = signed_headers(claim, SIGNING_SECRET)
    assert dibs.request("POST", "/slack/events", claim, claim_headers).json()["text"].startswith(f"{ref} is yours.")

    release = slash_command_body(
        f"release {ref}",
        user_id="U0ALICE",
        channel_id="C0EAST",
        trigger_id=dibs.slack.new_trigger_id(),
        response_url=dibs.slack.new_response_url("C0EAST", "U0ALICE"),
    )
    headers = signed_headers(release, SIGNING_SECRET)
    first = dibs.request("POST", "/slack/events", release, headers)
    second = dibs.request("POST", "/slack/events", release, headers)
    assert first.json()["text"].startswith(f"{ref} is back with the team")
    assert (second.status, second.json()) == (
        200,
        {"response_type": "ephemeral", "text": "Dibs already handled this exact request; nothing was done again."},
    )
    again = dibs.request("POST", "/slack/events", claim, claim_headers)
    assert again.json()["text"] == "Dibs already handled this exact request; nothing was done again."
    with dibs.runtime.sessions() as session:
        actions = session.scalars(sql_select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert (actions.count("lead.owned"), actions.count("claim.released")) == (1, 1), actions
