"""The Slack stand-in, exercised through the real slack_sdk WebClient over loopback HTTP."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from sandbox.block_kit import block_kit_problems
from sandbox.signing import (
    block_actions_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from sandbox.slack_web import SlackStandIn

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Lead L-1*"}}


def test_post_message_is_recorded_with_its_blocks_decoded(slack: SlackStandIn, slack_client: WebClient) -> None:
    first = slack_client.chat_postMessage(channel="C1", text="Lead L-1", blocks=[SECTION])
    reply = slack_client.chat_postMessage(channel="C1", text="reply", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C1" and first["message"]["blocks"] == [SECTION]
    assert reply["message"]["thread_ts"] == first["ts"] and reply["ts"] > first["ts"]
    posted = slack.calls_to("chat.postMessage")
    assert [call.args.get("blocks") for call in posted] == [[SECTION], None]
    assert all(call.ok for call in posted)


def test_blocks_sent_as_a_form_field_are_decoded_too(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack_client.api_call("chat.postMessage", params={"channel": "C1", "text": "x", "blocks": json.dumps([SECTION])})

    assert slack.calls_to("chat.postMessage")[0].args["blocks"] == [SECTION]


def test_every_supported_method_answers_legit_calls_without_problems(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Split credit"}, "blocks": []}
    assert slack_client.auth_test()["bot_id"]
    posted = slack_client.chat_postMessage(channel="C1", text="x", blocks=[SECTION])
    assert slack_client.chat_update(channel="C1", ts=posted["ts"], text="y")["ts"] == posted["ts"]
    assert slack_client.chat_postEphemeral(channel="C1", user="U1", text="x")["message_ts"]
    assert slack_client.conversations_open(users=["U1"])["channel"]["id"].startswith("D")
    assert slack_client.views_open(trigger_id="1.2.3", view=modal)["view"]["id"]
    assert slack_client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]
    assert slack_client.views_update(view_id="V1", view=modal)["view"]["id"] == "V1"
    assert slack_client.users_info(user="U1")["user"]["tz"] == "America/New_York"

    assert slack.problems == []
    assert all(call.ok for call in slack.calls)


def test_rate_limit_then_success_with_the_retry_handler_posts_once(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    slack_client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    slack_client.chat_postMessage(channel="C1", text="x")

    calls = slack.calls_to("chat.postMessage")
    assert [call.status for call in calls] == [429, 200]
    assert [call.ok for call in calls].count(True) == 1


def test_rate_limit_without_a_retry_handler_surfaces_with_retry_after(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C1", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_server_error_surfaces_as_slack_api_error(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            slack_client.chat_postMessage(channel="C1", text="x")
        assert raised.value.response.status_code == 500
    slack_client.chat_postMessage(channel="C1", text="x")

    assert [call.status for call in slack.calls_to("chat.postMessage")] == [500, 500, 200]


def test_scripted_slack_error_answers_ok_false(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C404", text="x")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert slack.calls_to("chat.postMessage")[0].error == "channel_not_found"


def test_a_hung_call_times_the_client_out_and_is_still_recorded(slack: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    slack.hang_next("chat.postMessage", seconds=5)

    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="x")

    [call] = slack.calls_to("chat.postMessage")
    assert call.delayed == 5


def test_files_upload_v2_round_trip_stores_bytes_and_alt_text(
    slack: SlackStandIn, slack_client: WebClient, tmp_path: Path
) -> None:
    chart = tmp_path / "fairness.png"
    chart.write_bytes(b"\x89PNG fake chart")

    from_path = slack_client.files_upload_v2(
        channel="C1",
        file=str(chart),
        filename="fairness.png",
        title="Fairness 2026-W47",
        alt_txt="Credited leads against fair share per rep",
        initial_comment="Weekly digest",
    )
    from_bytes = slack_client.files_upload_v2(channel="C1", file=b"raw", filename="raw.txt")

    assert from_path["file"]["title"] == "Fairness 2026-W47"
    assert slack.uploads[from_path["file"]["id"]] == b"\x89PNG fake chart"
    assert slack.uploads[from_bytes["file"]["id"]] == b"raw"
    url_call = slack.calls_to("files.getUploadURLExternal")[0]
    assert url_call.args["alt_txt"] == "Credited leads against fair share per rep"
    complete = slack.calls_to("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == "C1"
    assert complete.args["initial_comment"] == "Weekly digest"


def test_unknown_method_is_refused_and_a_problem(
    slack: SlackStandIn, slack_client: WebClient, slack_reference: Path
) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack_client.api_call("chat.postMesage", params={"channel": "C1"})

    assert raised.value.response["error"] == "unknown_method"
    assert slack.take_problems() == ["chat.postMesage: no such Web API method"]


def test_argument_missing_from_the_reference_is_a_problem(
    slack: SlackStandIn, slack_client: WebClient, slack_reference: Path
) -> None:
    slack_client.chat_postMessage(channel="C1", text="x", colour="red")

    [problem] = slack.take_problems()
    assert problem == "chat.postMessage: argument 'colour' is not in Slack's reference"


def test_a_51_block_message_is_refused_as_invalid_blocks(slack: SlackStandIn, slack_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C1", text="x", blocks=[SECTION] * 51)

    assert raised.value.response["error"] == "invalid_blocks"
    assert slack.take_problems() == ["chat.postMessage: blocks has 51 blocks (limit 50)"]
    assert slack.calls_to("chat.postMessage")[0].error == "invalid_blocks"


def test_block_kit_limits_inside_blocks_and_views() -> None:
    button = {"type": "button", "action_id": "a" * 256, "text": {"type": "plain_text", "text": "b"}}
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 25},
        "private_metadata": "m" * 3001,
        "blocks": [{"type": "actions", "elements": [button] * 26}],
    }

    problems = block_kit_problems("views.open", {"view": view})

    assert "views.open: view.title.text is 25 chars (limit 24)" in problems
    assert "views.open: view.private_metadata is 3001 chars (limit 3000)" in problems
    assert "views.open: view.blocks[0].elements has 26 elements (limit 25)" in problems
    assert "views.open: view.blocks[0].elements[25].action_id is 256 chars (limit 255)" in problems
    assert block_kit_problems("chat.postMessage", {"text": "x", "blocks": [SECTION] * 50}) == []


def test_too_long_message_text_is_a_problem_but_still_posted(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack_client.chat_postMessage(channel="C1", text="x" * 40_001)

    assert slack.take_problems() == ["chat.postMessage: text is 40001 chars (limit 40000)"]
    assert slack.calls_to("chat.postMessage")[0].ok


def test_channel_pacing_answers_429_to_the_second_rapid_post(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.limit_channel_rate(per_second=1.0)

    slack_client.chat_postMessage(channel="C1", text="first")
    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C1", text="too soon")
    slack_client.chat_postMessage(channel="C2", text="another channel")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert [call.rate_limited for call in slack.calls_to("chat.postMessage")] == [
        False,
        True,
        False,
    ]


def test_calls_without_a_bot_token_are_refused(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as raised:
        WebClient(base_url=slack.api_url).auth_test()

    assert raised.value.response["error"] == "not_authed"
    assert slack.take_problems() == ["auth.test: no token sent"]


def test_wait_for_blocks_until_calls_arrive_and_names_them_on_timeout(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    later = threading.Timer(0.05, lambda: slack_client.chat_postMessage(channel="C1", text="x"))
    later.start()

    assert len(slack.wait_for("chat.postMessage", timeout=2)) == 1
    with pytest.raises(AssertionError, match=r"calls were \['chat.postMessage'\]"):
        slack.wait_for("chat.update", timeout=0.05)
    later.join()


def test_without_a_reference_only_the_limit_checks_run(tmp_path: Path) -> None:
    with SlackStandIn(reference_dir=tmp_path) as standin:
        client = WebClient(token="xoxb-test", base_url=standin.api_url)
        client.api_call("made.up", params={"anything": "goes"})
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C1", text="x", blocks=[SECTION] * 51)

        assert not standin.spec_available
        assert standin.problems == ["chat.postMessage: blocks has 51 blocks (limit 50)"]


def test_signed_requests_verify_like_slack_and_carry_slack_shapes() -> None:
    verifier = SignatureVerifier("shh")
    body = slash_command_body("claim L-1", "U0ALICE", "C0EAST")
    headers = signed_headers(body, "shh")

    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    assert parse_qs(body.decode())["text"] == ["claim L-1"]
    action = _payload(block_actions_body("U0BOB", "claim", "L-1"))
    assert (action["user"]["id"], action["actions"][0]["value"]) == ("U0BOB", "L-1")
    assert action["container"]["type"] == "message"
    values = {"b": {"a": {"type": "plain_text_input", "value": "60"}}}
    submission = _payload(view_submission_body("U0MGR1", "split", values, "D-1"))
    assert submission["view"]["state"]["values"] == values
    assert submission["view"]["private_metadata"] == "D-1"


def _payload(body: bytes) -> dict[str, Any]:
    """The JSON of an interactivity body (`payload=<url-encoded JSON>`)."""
    [payload] = parse_qs(body.decode())["payload"]
    return json.loads(payload)
