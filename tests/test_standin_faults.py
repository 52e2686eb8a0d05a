"""The stand-in's scriptable faults and clock (what the delivery fault tests drive)."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from sandbox.slack_web import SlackStandIn
from tests.outbox_helpers import FakeClock


def test_an_outage_answers_500_to_everything_for_its_window_of_the_stand_ins_clock(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    clock = FakeClock()
    slack.set_clock(clock.epoch)
    slack.outage(150)
    url = slack.new_response_url("C0EAST", "U0ALICE")
    with pytest.raises(SlackApiError) as down:
        slack_client.chat_postMessage(channel="C0EAST", text="lost?")
    assert (down.value.response.status_code, down.value.response["error"]) == (500, "fatal_error")
    assert WebhookClient(url).send(text="answer").status_code == 500
    clock.advance(149)
    with pytest.raises(SlackApiError):
        slack_client.auth_test()

    clock.advance(1)
    assert slack_client.chat_postMessage(channel="C0EAST", text="back")["ok"]
    assert WebhookClient(url).send(text="answer").status_code == 200
    history = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert [c.args["text"] for c in history] == ["back"], "nothing posted while down"


def test_message_ts_follow_the_stand_ins_clock_and_never_repeat(slack: SlackStandIn, slack_client: WebClient) -> None:
    clock = FakeClock()
    slack.set_clock(clock.epoch)
    first = slack_client.chat_postMessage(channel="C0EAST", text="a")["ts"]
    second = slack_client.chat_postMessage(channel="C0EAST", text="b")["ts"]
    assert float(first) == clock.epoch() and float(second) > float(first)
    clock.advance(60)
    assert float(slack_client.chat_postMessage(channel="C0EAST", text="c")["ts"]) == clock.epoch()


def test_latency_slows_every_answer_after_the_call_took_effect(slack: SlackStandIn) -> None:
    slack.set_latency(0.5)
    impatient = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0EAST", text="slow")
    assert time.monotonic() - started < 0.45
    [posted] = slack.calls_to("chat.postMessage")
    assert posted.ok and posted.delayed == 0.5, "Slack took it; only the answer was late"
    slack.set_latency(0)
    started = time.monotonic()
    impatient.auth_test()
    assert time.monotonic() - started < 0.2


def test_replies_list_a_thread_with_its_metadata(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.add_channel("C0MED", "mediation", bot_member=True)
    parent = slack_client.chat_postMessage(channel="C0MED", text="case")["ts"]
    metadata = {"event_type": "dibs_outbox", "event_payload": {"row": 7}}
    reply = slack_client.chat_postMessage(channel="C0MED", text="note", thread_ts=parent, metadata=metadata)["ts"]
    slack_client.chat_postMessage(channel="C0MED", text="elsewhere")

    thread = slack_client.conversations_replies(channel="C0MED", ts=parent, include_all_metadata=True)
    assert [m["ts"] for m in thread["messages"]] == [parent, reply]
    assert thread["messages"][1]["metadata"] == metadata
    later = slack_client.conversations_replies(channel="C0MED", ts=parent, oldest=reply)
    assert [m["ts"] for m in later["messages"]] == [parent], "the parent always; replies after `oldest`"
    with pytest.raises(SlackApiError) as missing:
        slack_client.conversations_replies(channel="C0MED", ts="1.000001")
    assert missing.value.response["error"] == "thread_not_found"
