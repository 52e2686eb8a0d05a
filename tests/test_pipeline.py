"""The Slack request pipeline (handlers/pipeline.py): one unit of work per listener, one error handler.

An unexpected error leaves nobody without an answer: the person reads a short reference, and
the log line with the traceback carries the same one.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import claiming
from handlers.dispute_views import CONTEST_CALLBACK
from handlers.views import CLAIM_ACTION
from models import Lead, Member, SeenEvent
from tests.fixtures_app import AppDriver, eventually
from tests.test_claims_e2e import announce

REFERENCE = re.compile(r"^Something went wrong \(ref ([0-9a-f]{8})\); the team can look it up in the log\.$")


class Boom(Exception):
    """What a bug looks like to the pipeline."""


def boom(*args: object, **kwargs: object) -> Any:
    raise Boom("a bug")


def reference_in(answer: str) -> str:
    match = REFERENCE.match(answer)
    assert match, answer
    return match.group(1)


def logged_with_traceback(caplog: pytest.LogCaptureFixture, ref: str) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if f"ref {ref}" in r.getMessage() and r.exc_info and isinstance(r.exc_info[1], Boom)
    ]


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR)
    return caplog


def test_an_unexpected_error_in_a_command_is_answered_with_the_reference_in_the_log(
    dibs: AppDriver, errors_logged: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claiming, "claim_lead", boom)
    response = dibs.command("claim L-1")

    assert response.status == 200
    assert response.json()["response_type"] == "ephemeral"
    ref = reference_in(response.json()["text"])
    [record] = logged_with_traceback(errors_logged, ref)
    assert "/dibs claim" in record.getMessage()
    assert "L-1" not in record.getMessage(), "what people type stays out of the log"


def test_an_unexpected_error_on_a_click_is_answered_by_its_response_url_and_changes_nothing(
    dibs: AppDriver, errors_logged: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = announce(dibs)
    claim_lead = claiming.claim_lead

    def claims_then_fails(*args: Any, **kwargs: Any) -> Any:
        claim_lead(*args, **kwargs)  # the claim is made in the request's transaction...
        raise Boom("a bug after the claim")  # ...and rolled back with it

    monkeypatch.setattr(claiming, "claim_lead", claims_then_fails)
    assert dibs.click_claim(ref, "U0ALICE").status == 200

    [answer] = dibs.answers_to("U0ALICE")
    assert logged_with_traceback(errors_logged, reference_in(answer))
    with dibs.runtime.sessions() as session:
        lead = session.scalars(select(Lead)).one()
        assert lead.claims == [], "the listener's work was rolled back"


def test_an_unexpected_error_in_a_form_is_shown_under_its_input(
    dibs: AppDriver, errors_logged: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claiming, "contest", boom)
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "they called me back"}}}
    response = dibs.submit_view("U0BOB", CONTEST_CALLBACK, reason, private_metadata="1")

    assert response.status == 200
    answer = response.json()
    assert (answer["response_action"], list(answer["errors"])) == ("errors", ["reason"])
    assert logged_with_traceback(errors_logged, reference_in(answer["errors"]["reason"]))


def test_a_listener_gets_its_unit_of_work_by_name_and_it_ends_with_the_listener(dibs: AppDriver) -> None:
    seen: dict[str, Any] = {}

    def probe(ack: Ack, session: Session, now: datetime, member: Member | None) -> None:
        seen.update(session=session, now=now, member=member and member.slack_user_id)
        session.add(SeenEvent(event_id="probe", seen_at=now))
        ack()

    def afterwards(context: BoltContext) -> None:
        seen["lazy_context"] = sorted(context.keys())

    assert dibs.runtime.bolt_app is not None
    dibs.runtime.bolt_app.action("probe")(ack=probe, lazy=[afterwards])
    before = dibs.clock()
    assert dibs.click("U0ALICE", "probe", "1").status == 200

    assert before <= seen["now"] <= dibs.clock() and seen["member"] == "U0ALICE"
    assert not seen["session"].in_transaction() and not list(seen["session"]), "committed and closed"
    with dibs.runtime.sessions() as session:
        assert session.get(SeenEvent, "probe") is not None
    assert eventually(lambda: "lazy_context" in seen)
    assert not {"session", "member", "tell_privately"} & set(seen["lazy_context"])


def test_work_the_database_refuses_at_commit_is_answered_too(
    dibs: AppDriver, errors_logged: pytest.LogCaptureFixture
) -> None:
    with dibs.runtime.sessions.begin() as session:
        session.add(SeenEvent(event_id="taken", seen_at=dibs.clock()))

    def clashes(ack: Ack, session: Session, now: datetime) -> None:
        session.add(SeenEvent(event_id="taken", seen_at=now))  # refused only when committed
        ack()

    assert dibs.runtime.bolt_app is not None
    dibs.runtime.bolt_app.action("clash")(clashes)
    assert dibs.click("U0ALICE", "clash", "1").status == 200

    [answer] = dibs.answers_to("U0ALICE")
    ref = reference_in(answer)
    assert [r for r in errors_logged.records if f"ref {ref}" in r.getMessage() and r.exc_info]


def test_a_clicks_answer_leaves_as_soon_as_its_work_commits(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.slack.wait_for("chat.postMessage")  # the card is out
    worker = next(loop for loop in dibs.runtime.loops if loop.name == "outbox")
    worker._on_stop = None  # stop the loop's rounds but keep its worker taking rows when asked
    worker.stop()

    assert dibs.click("U0ALICE", CLAIM_ACTION, ref.removeprefix("L-"), "C0EAST").status == 200

    [answer] = dibs.answers_to("U0ALICE")
    assert answer.startswith(f"{ref} is yours.")
    assert dibs.slack.calls_to("chat.update") == [], "the card's refresh waits for the outbox loop"


def test_an_answer_queued_before_the_listener_failed_is_never_sent(
    dibs: AppDriver, errors_logged: pytest.LogCaptureFixture
) -> None:
    """The answer a listener queued went with its rolled-back work: the rep gets the error's answer
    only, and the worker is not handed a row that was never committed."""

    def answers_then_fails(ack: Ack, tell_privately: Any) -> None:
        tell_privately({"response_type": "ephemeral", "text": "L-1 is yours."})
        raise Boom("a bug after answering")

    assert dibs.runtime.bolt_app is not None
    dibs.runtime.bolt_app.action("answers_then_fails")(answers_then_fails)
    assert dibs.click("U0ALICE", "answers_then_fails", "1").status == 200

    [answer] = dibs.answers_to("U0ALICE")
    reference_in(answer)
    assert not [r for r in errors_logged.records if "settling" in r.getMessage() or "outbox" in r.getMessage()]
    time.sleep(0.3)  # a second answer would have left by now
    assert [c.args["text"] for c in dibs.slack.responses_to("U0ALICE")] == [answer]
