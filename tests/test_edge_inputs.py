"""Input bounded at the edge (issue 10): out-of-range numbers, control characters, deep JSON and
forged payloads get a clear answer and change nothing; none reaches the database as a 500."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from handlers.dispute_views import AWARD_ACTION_PREFIX, CONTEST_CALLBACK, SPLIT_ACTION, WITHDRAW_ACTION
from handlers.views import CLAIM_ACTION
from models import AuditEvent, Claim, Lead, OutboxMessage, SeenEvent
from sandbox.signing import block_actions_body, event_body
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce


def changes(dibs: AppDriver) -> tuple[int, ...]:
    """Rows a successful action would add: leads, claims, audit events, outbox messages."""
    with dibs.runtime.sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Lead, Claim, AuditEvent, OutboxMessage)
        )


# ---- slash commands --------------------------------------------------------------------------


def test_out_of_range_references_amounts_and_weeks_get_a_usage_line(dibs: AppDriver) -> None:
    ref = announce(dibs)
    assert dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours.")
    before = changes(dibs)
    answers = {
        "claim L-999999999999": "L-999999999999 is not a L-number reference",
        "release L-99999999999": "L-99999999999 is not a L-number reference",
        "resolve D-4294967296 award <@U0BOB>": "D-4294967296 is not a D-number reference",
        f"won {ref} 99999999999999999": "99999999999999999 is more than Dibs can record",
    }
    for text, expected in answers.items():
        user = "U0MGR1" if text.startswith("resolve") else "U0ALICE"
        assert dibs.reply_text(text, user=user).startswith(expected), text
    assert changes(dibs) == before


def test_weeks_outside_the_calendar_get_a_usage_line(dibs: AppDriver) -> None:
    for week, expected in (
        ("9999-W52", "Dibs keeps weeks of the years 2000 to 2999 only"),
        ("2026-W99", "2026 has no ISO week 99"),
        ("0001-W01", "Dibs keeps weeks of the years 2000 to 2999 only"),
    ):
        answer = dibs.reply_text(f"digest preview {week}", user="U0MGR1")
        assert expected in answer and "Usage: `/dibs digest" in answer, answer


def test_control_characters_in_a_command_get_a_usage_line(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}")
    before = changes(dibs)
    for text in (f"release {ref} gone\x00away", f"lost {ref} \x07bell", f"claim {ref}\x00"):
        answer = dibs.reply_text(text)
        assert "control characters" in answer and "Usage: `/dibs" in answer, (text, answer)
    assert changes(dibs) == before
    assert dibs.reply_text(f"release {ref} tab\there is fine").startswith(f"{ref} is back with the team")


def test_a_mention_longer_than_a_slack_id_is_not_a_person(dibs: AppDriver) -> None:
    long_id = "U" + "A" * 40
    answer = dibs.reply_text(f"team add <@{long_id}> rep", user="U0MGR1")
    assert answer.startswith(f"&lt;@{long_id}&gt; is not a @mention of a person")


# ---- the webhook -----------------------------------------------------------------------------


def test_webhook_control_characters_are_a_422_naming_the_field(dibs: AppDriver) -> None:
    for fields, bad in (
        ({"name": "\u0000"}, "name"),
        ({"name": "Jane", "company": "Acme\u0000"}, "company"),
        ({"name": "Jane", "tags": ["ok", "b\u001bad"]}, "tags.1"),
        ({"name": "Jane", "notes": "line one\u0007"}, "notes"),
    ):
        response = dibs.post_lead(fields)
        assert response.status == 422, (fields, response.text)
        assert response.json()["errors"][bad] == "may not contain control characters", fields
    assert dibs.post_lead({"name": "Jane", "notes": "line one\nline two\ttabbed"}).status == 201
    assert changes(dibs)[0] == 1


def test_webhook_huge_numbers_and_deep_json_are_422(dibs: AppDriver) -> None:
    huge_score = b'{"name": "Jane", "score": ' + b"9" * 5000 + b"}"
    response = dibs.post_lead(huge_score)
    assert response.status == 422, response.text
    assert "score" in response.json()["errors"]

    deep = b'{"name": "Jane", "tags": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    response = dibs.post_lead(deep)
    assert response.status == 422, response.text
    assert response.json()["errors"] == {"body": "nested deeper than 32 levels"}

    response = dibs.post_lead({"name": "Jane", "value": 1e300})
    assert response.status == 422 and "value" in response.json()["errors"]
    assert changes(dibs)[0] == 0


# ---- forged Slack payloads -------------------------------------------------------------------


def test_forged_button_values_get_a_clear_answer_and_change_nothing(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.slack.wait_for("chat.postMessage")
    before = changes(dibs)
    forged = [
        (CLAIM_ACTION, "abc"),
        (CLAIM_ACTION, "99999999999999999999"),
        (CLAIM_ACTION, "-1"),
        (WITHDRAW_ACTION, "1; drop table leads"),
        (AWARD_ACTION_PREFIX + "U0BOB", "1"),
        (AWARD_ACTION_PREFIX + "U0BOB", "x:U0BOB"),
        (AWARD_ACTION_PREFIX + "U0BOB", "1:<!channel>"),
        (SPLIT_ACTION, "9" * 30),
    ]
    for action_id, value in forged:
        response = dibs.slack_request(
            block_actions_body(
                "U0ALICE",
                action_id,
                value,
                channel_id="C0EAST",
                trigger_id=dibs.slack.new_trigger_id(),
                response_url=dibs.slack.new_response_url("C0EAST", "U0ALICE"),
            )
        )
        assert response.status == 200, (action_id, value, response.text)
    answers = dibs.answers_to("U0ALICE", count=len(forged))
    assert set(answers) == {"Dibs could not read that button; nothing was done."}
    assert changes(dibs)[:3] == before[:3]
    assert dibs.slack.calls_to("views.open") == []
    assert dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours."), "the real lead is untouched"


def test_another_teams_lead_behind_a_button_is_not_found(dibs: AppDriver) -> None:
    west = dibs.post_lead({"name": "Wes"}, token="west-token-456")
    assert west.status == 201
    west_id = west.json()["id"].removeprefix("L-")
    response = dibs.slack_request(
        block_actions_body(
            "U0ALICE",
            CLAIM_ACTION,
            west_id,
            channel_id="C0EAST",
            trigger_id=dibs.slack.new_trigger_id(),
            response_url=dibs.slack.new_response_url("C0EAST", "U0ALICE"),
        )
    )
    assert response.status == 200
    [answer] = dibs.answers_to("U0ALICE")
    assert answer.startswith(f"There is no lead L-{west_id} in your team")


def test_edited_private_metadata_is_shown_on_the_form(dibs: AppDriver) -> None:
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "mine"}}}
    for metadata in ("abc", "9" * 40, "", "1:2"):
        response = dibs.submit_view("U0ALICE", CONTEST_CALLBACK, reason, private_metadata=metadata)
        assert response.status == 200, response.text
        assert response.json() == {
            "response_action": "errors",
            "errors": {"reason": "This form was changed after Dibs opened it; close it and start again."},
        }


def test_control_characters_in_a_form_are_shown_on_their_field(dibs: AppDriver) -> None:
    values = {
        "name": {"value": {"type": "plain_text_input", "value": "Jane"}},
        "notes": {"value": {"type": "plain_text_input", "value": "hi\x00there"}},
    }
    response = dibs.submit_view("U0ALICE", "lead_add", values)
    assert response.json() == {
        "response_action": "errors",
        "errors": {"notes": "may not contain control characters"},
    }
    assert changes(dibs)[0] == 0


def test_an_event_id_longer_than_slack_makes_is_ignored(dibs: AppDriver) -> None:
    event = {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}
    before = changes(dibs)
    body = event_body(event, event_id="Ev" + "X" * 100)
    assert dibs.slack_request(body, content_type="application/json").status == 200
    with dibs.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SeenEvent)) == 0
    assert changes(dibs) == before
    good = event_body(event, event_id="Ev0GOOD")
    assert dibs.slack_request(good, content_type="application/json").status == 200
    assert json.dumps(dibs.slack.wait_for("views.publish")[0].args["view"])
