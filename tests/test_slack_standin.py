"""The Slack stand-in, exercised through the real slack_sdk WebClient over loopback HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox.block_kit import block_kit_problems
from sandbox.scopes import manifest_bot_scopes
from sandbox.signing import (
    block_actions_body,
    signed_headers,
    slash_command_body,
    view_submission_body,
)
from sandbox.slack_web import SlackStandIn, method_scopes
from tests.fixtures_slack import PRIVATE_CHANNEL, populate

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Lead L-1*"}}


def test_post_message_is_recorded_with_its_blocks_decoded(slack: SlackStandIn, slack_client: WebClient) -> None:
    first = slack_client.chat_postMessage(channel="C0EAST", text="Lead L-1", blocks=[SECTION])
    reply = slack_client.chat_postMessage(channel="C0EAST", text="reply", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C0EAST" and first["message"]["blocks"] == [SECTION]
    assert reply["message"]["thread_ts"] == first["ts"] and reply["ts"] > first["ts"]
    posted = slack.calls_to("chat.postMessage")
    assert [call.args.get("blocks") for call in posted] == [[SECTION], None]
    assert all(call.ok for call in posted)


def test_blocks_sent_as_a_form_field_are_decoded_too(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack_client.api_call(
        "chat.postMessage", params={"channel": "C0EAST", "text": "x", "blocks": json.dumps([SECTION])}
    )

    assert slack.calls_to("chat.postMessage")[0].args["blocks"] == [SECTION]


@contextmanager
def granting(*extra: str) -> Iterator[tuple[SlackStandIn, WebClient]]:
    """A populated stand-in whose token has manifest.yml's scopes and `extra` ones."""
    with SlackStandIn(scopes=manifest_bot_scopes() | set(extra)) as standin:
        populate(standin)
        yield standin, WebClient(token="xoxb-test", base_url=standin.api_url)
        assert standin.problems == []


@contextmanager
def withholding(*scopes: str) -> Iterator[tuple[SlackStandIn, WebClient]]:
    """A populated stand-in whose token has manifest.yml's scopes but `scopes`."""
    with SlackStandIn(scopes=manifest_bot_scopes() - set(scopes)) as standin:
        populate(standin)
        yield standin, WebClient(token="xoxb-test", base_url=standin.api_url)
        assert standin.problems == []


def test_every_supported_method_answers_legit_calls_without_problems() -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Split credit"}, "blocks": []}
    with granting("im:write", "mpim:write", "users:read", "channels:history") as (slack, slack_client):
        assert slack_client.auth_test()["bot_id"]
        assert slack_client.conversations_join(channel="C0EAST")["channel"]["is_member"]
        posted = slack_client.chat_postMessage(channel="C0EAST", text="x", blocks=[SECTION])
        assert slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="y")["ts"] == posted["ts"]
        assert slack_client.chat_postEphemeral(channel="C0EAST", user="U0ALICE", text="x")["message_ts"]
        assert slack_client.conversations_open(users=["U0ALICE"])["channel"]["id"].startswith("D")
        assert slack_client.conversations_open(users=["U0ALICE", "U0BOB"])["channel"]["id"].startswith("G")
        assert slack_client.conversations_info(channel="C0EAST")["channel"]["name"] == "sales-east"
        assert slack_client.conversations_history(channel="C0EAST")["messages"][0]["ts"] == posted["ts"]
        assert slack_client.views_open(trigger_id=slack.new_trigger_id(), view=modal)["view"]["id"]
        assert slack_client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})["ok"]
        assert slack_client.views_update(view_id="V1", view=modal)["view"]["id"] == "V1"
        assert slack_client.users_info(user="U0ALICE")["user"]["tz"] == "America/New_York"
        assert all(call.ok for call in slack.calls)


def test_rate_limit_then_success_with_the_retry_handler_posts_once(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    slack_client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    slack_client.chat_postMessage(channel="C0EAST", text="x")

    calls = slack.calls_to("chat.postMessage")
    assert [call.status for call in calls] == [429, 200]
    assert [call.ok for call in calls].count(True) == 1


def test_rate_limit_without_a_retry_handler_surfaces_with_retry_after(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C0EAST", text="x")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_server_error_surfaces_as_slack_api_error(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            slack_client.chat_postMessage(channel="C0EAST", text="x")
        assert raised.value.response.status_code == 500
    slack_client.chat_postMessage(channel="C0EAST", text="x")

    assert [call.status for call in slack.calls_to("chat.postMessage")] == [500, 500, 200]


def test_scripted_slack_error_answers_ok_false(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")

    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C0EAST", text="x")

    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "channel_not_found"
    assert slack.calls_to("chat.postMessage")[0].error == "channel_not_found"


def test_a_hung_call_times_the_client_out_and_is_still_recorded(slack: SlackStandIn) -> None:
    # slack_sdk annotates timeout as int; urllib takes float seconds
    client = WebClient(token="xoxb-test", base_url=slack.api_url, timeout=0.2)  # type: ignore[arg-type]
    slack.hang_next("chat.postMessage", seconds=5)

    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C0EAST", text="x")

    [call] = slack.calls_to("chat.postMessage")
    assert call.delayed == 5


def test_files_upload_v2_round_trip_stores_bytes_and_alt_text(
    slack: SlackStandIn, slack_client: WebClient, tmp_path: Path
) -> None:
    slack_client.conversations_join(channel="C0EAST")
    chart = tmp_path / "fairness.png"
    chart.write_bytes(b"\x89PNG fake chart")

    from_path = slack_client.files_upload_v2(
        channel="C0EAST",
        file=str(chart),
        filename="fairness.png",
        title="Fairness 2026-W47",
        alt_txt="Credited leads against fair share per rep",
        initial_comment="Weekly digest",
    )
    from_bytes = slack_client.files_upload_v2(channel="C0EAST", file=b"raw", filename="raw.txt")

    assert from_path["file"]["title"] == "Fairness 2026-W47"
    assert slack.uploads[from_path["file"]["id"]] == b"\x89PNG fake chart"
    assert slack.uploads[from_bytes["file"]["id"]] == b"raw"
    url_call = slack.calls_to("files.getUploadURLExternal")[0]
    assert url_call.args["alt_txt"] == "Credited leads against fair share per rep"
    complete = slack.calls_to("files.completeUploadExternal")[0]
    assert complete.args["channel_id"] == "C0EAST"
    assert complete.args["initial_comment"] == "Weekly digest"


def test_unknown_method_is_refused_and_a_problem(
    slack: SlackStandIn, slack_client: WebClient, slack_reference: Path
) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack_client.api_call("chat.postMesage", params={"channel": "C0EAST"})

    assert raised.value.response["error"] == "unknown_method"
    assert slack.take_problems() == ["chat.postMesage: no such Web API method"]


def test_argument_missing_from_the_reference_is_a_problem(
    slack: SlackStandIn, slack_client: WebClient, slack_reference: Path
) -> None:
    slack_client.chat_postMessage(channel="C0EAST", text="x", colour="red")

    [problem] = slack.take_problems()
    assert problem == "chat.postMessage: argument 'colour' is not in Slack's reference"


def test_a_51_block_message_is_refused_as_invalid_blocks(slack: SlackStandIn, slack_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C0EAST", text="x", blocks=[SECTION] * 51)

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
    slack_client.chat_postMessage(channel="C0EAST", text="x" * 40_001)

    assert slack.take_problems() == ["chat.postMessage: text is 40001 chars (limit 40000)"]
    assert slack.calls_to("chat.postMessage")[0].ok


def test_channel_pacing_answers_429_to_the_second_rapid_post(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.limit_channel_rate(per_second=1.0)

    slack_client.chat_postMessage(channel="C0EAST", text="first")
    with pytest.raises(SlackApiError) as raised:
        slack_client.chat_postMessage(channel="C0EAST", text="too soon")
    slack_client.chat_postMessage(channel="C0WEST", text="another channel")

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
    later = threading.Timer(0.05, lambda: slack_client.chat_postMessage(channel="C0EAST", text="x"))
    later.start()

    assert len(slack.wait_for("chat.postMessage", timeout=2)) == 1
    with pytest.raises(AssertionError, match=r"calls were \['chat.postMessage'\]"):
        slack.wait_for("chat.update", timeout=0.05)
    later.join()


def test_without_a_reference_only_the_limit_checks_run(tmp_path: Path) -> None:
    with SlackStandIn(reference_dir=tmp_path, scopes=[]) as standin:
        populate(standin)
        client = WebClient(token="xoxb-test", base_url=standin.api_url)
        client.api_call("made.up", params={"anything": "goes"})
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C0EAST", text="x", blocks=[SECTION] * 51)
        assert raised.value.response["error"] == "invalid_blocks", "no scope is checked without the spec"

        assert not standin.spec_available
        assert standin.problems == ["chat.postMessage: blocks has 51 blocks (limit 50)"]


def test_signed_requests_verify_like_slack_and_carry_what_the_standin_issued(slack: SlackStandIn) -> None:
    verifier = SignatureVerifier("shh")
    trigger_id, response_url = slack.new_trigger_id(), slack.new_response_url("C0EAST", "U0ALICE")
    body = slash_command_body("claim L-1", "U0ALICE", "C0EAST", trigger_id=trigger_id, response_url=response_url)
    headers = signed_headers(body, "shh")

    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    command = parse_qs(body.decode())
    assert (command["text"], command["trigger_id"], command["response_url"]) == (
        ["claim L-1"],
        [trigger_id],
        [response_url],
    )
    assert response_url.startswith(slack.base_url)
    click = block_actions_body(
        "U0BOB", "claim", "L-1", channel_id="C0EAST", trigger_id=trigger_id, response_url=response_url
    )
    action = _payload(click)
    assert (action["user"]["id"], action["actions"][0]["value"]) == ("U0BOB", "L-1")
    assert (action["container"]["type"], action["response_url"]) == ("message", response_url)
    home = _payload(
        block_actions_body("U0BOB", "claim", "L-1", channel_id=None, trigger_id=trigger_id, response_url=None)
    )
    assert "response_url" not in home, "Slack gives no response_url to a click in App Home"
    values = {"b": {"a": {"type": "plain_text_input", "value": "60"}}}
    submission = _payload(view_submission_body("U0MGR1", "split", values, "D-1", trigger_id=trigger_id))
    assert submission["view"]["state"]["values"] == values
    assert submission["view"]["private_metadata"] == "D-1"
    assert submission["response_urls"] == [], "only a modal with response_url_enabled gets one"


def _payload(body: bytes) -> dict[str, Any]:
    """The JSON of an interactivity body (`payload=<url-encoded JSON>`)."""
    [payload] = parse_qs(body.decode())["payload"]
    return json.loads(payload)


# ---- the workspace: every rule refused with Slack's error, and the allowed case accepted ------


def refused(call: Callable[[], Any]) -> dict[str, Any]:
    """Slack's `ok: false` answer to a call that must be refused."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


def client_of(standin: SlackStandIn) -> WebClient:
    return WebClient(token="xoxb-test", base_url=standin.api_url)


def test_an_unknown_channel_is_channel_not_found(slack_client: WebClient) -> None:
    assert refused(lambda: slack_client.chat_postMessage(channel="C0NOWHERE", text="x"))["error"] == (
        "channel_not_found"
    )
    assert refused(lambda: slack_client.conversations_info(channel="C0NOWHERE"))["error"] == "channel_not_found"
    assert slack_client.chat_postMessage(channel="C0EAST", text="x")["ok"]


def test_a_public_channel_the_bot_is_not_in_takes_posts_only_with_chat_write_public(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    assert "chat:write.public" in slack.scopes
    assert not slack.bot_is_member("C0EAST")
    assert slack_client.chat_postMessage(channel="C0EAST", text="x")["channel"] == "C0EAST"
    with SlackStandIn(scopes=slack.scopes - {"chat:write.public"}) as standin:
        populate(standin)
        client = client_of(standin)
        assert refused(lambda: client.chat_postMessage(channel="C0EAST", text="x"))["error"] == "not_in_channel"
        client.conversations_join(channel="C0EAST")
        assert client.chat_postMessage(channel="C0EAST", text="x")["ok"]


def test_private_channels_and_dms_between_people_the_bot_is_not_in_are_channel_not_found(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    people_dm = slack.add_dm("U0ALICE", "U0BOB")
    assert people_dm.startswith("D") and slack.add_dm("U0BOB", "U0ALICE") == people_dm
    for channel in (PRIVATE_CHANNEL, people_dm):
        assert refused(partial(slack_client.chat_postMessage, channel=channel, text="x"))["error"] == (
            "channel_not_found"
        )
    slack.add_channel("C0INVITED", "invited", private=True, members=["U0ALICE"], bot_member=True)
    assert slack_client.chat_postMessage(channel="C0INVITED", text="x")["ok"]


def test_an_archived_channel_is_archived(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack.add_channel("C0OLD", "old-sales", archived=True, bot_member=True)
    assert refused(lambda: slack_client.chat_postMessage(channel="C0OLD", text="x"))["error"] == "is_archived"
    assert refused(lambda: slack_client.conversations_join(channel="C0OLD"))["error"] == "is_archived"


def test_a_message_to_a_user_id_opens_the_bots_dm_and_answers_its_d_id(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    first = slack_client.chat_postMessage(channel="U0ALICE", text="hello")
    again = slack_client.chat_postMessage(channel="U0ALICE", text="again")
    assert first["channel"].startswith("D") and again["channel"] == first["channel"] == slack.dm_with("U0ALICE")
    assert slack.calls_to("chat.postMessage")[0].args["channel"] == "U0ALICE"
    assert refused(lambda: slack_client.chat_update(channel="U0ALICE", ts=first["ts"], text="edited"))["error"] == (
        "channel_not_found"
    )
    assert slack_client.chat_update(channel=first["channel"], ts=first["ts"], text="edited")["ok"]
    assert refused(lambda: slack_client.chat_postMessage(channel="U0GHOST", text="x"))["error"] == ("channel_not_found")


def test_chat_update_only_on_a_message_the_bot_posted_there(slack: SlackStandIn, slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(channel="C0EAST", text="card")
    theirs = slack.add_message("C0EAST", "U0ALICE", "hi all")
    assert refused(lambda: slack_client.chat_update(channel="C0EAST", ts="1.000001", text="x"))["error"] == (
        "message_not_found"
    )
    assert refused(lambda: slack_client.chat_update(channel="C0WEST", ts=posted["ts"], text="x"))["error"] == (
        "message_not_found"
    )
    assert refused(lambda: slack_client.chat_update(channel="C0EAST", ts=theirs, text="x"))["error"] == (
        "cant_update_message"
    )
    updated = slack_client.chat_update(channel="C0EAST", ts=posted["ts"], text="card, claimed")
    assert updated["message"]["text"] == "card, claimed"


def test_an_ephemeral_needs_the_bot_and_the_user_in_the_channel(slack: SlackStandIn, slack_client: WebClient) -> None:
    people_dm = slack.add_dm("U0ALICE", "U0BOB")

    def ephemeral(channel: str, user: str = "U0ALICE") -> Callable[[], Any]:
        return lambda: slack_client.chat_postEphemeral(channel=channel, user=user, text="only you")

    assert refused(ephemeral("C0EAST"))["error"] == "not_in_channel"
    assert refused(ephemeral(PRIVATE_CHANNEL))["error"] == "channel_not_found"
    assert refused(ephemeral(people_dm))["error"] == "channel_not_found"
    slack_client.conversations_join(channel="C0EAST")
    assert refused(ephemeral("C0EAST", user="U0WREP"))["error"] == "user_not_in_channel"
    assert ephemeral("C0EAST")()["ok"]


def test_sharing_a_file_needs_the_bot_in_the_channel(slack_client: WebClient) -> None:
    share: dict[str, Any] = {"channel": "C0EAST", "file": b"\x89PNG chart", "filename": "chart.png"}
    assert refused(lambda: slack_client.files_upload_v2(**share))["error"] == "not_in_channel"
    assert refused(lambda: slack_client.files_upload_v2(**share | {"channel": PRIVATE_CHANNEL}))["error"] == (
        "channel_not_found"
    )
    slack_client.conversations_join(channel="C0EAST")
    assert slack_client.files_upload_v2(**share)["file"]["name"] == "chart.png"
    assert slack_client.files_upload_v2(file=b"unshared", filename="mine.txt")["ok"], "no channel: no membership"


def test_alt_text_over_1000_characters_is_alt_txt_too_large(slack_client: WebClient) -> None:
    slack_client.conversations_join(channel="C0EAST")
    upload: dict[str, Any] = {"channel": "C0EAST", "file": b"chart", "filename": "chart.png"}
    assert refused(lambda: slack_client.files_upload_v2(**upload, alt_txt="a" * 1001))["error"] == "alt_txt_too_large"
    assert slack_client.files_upload_v2(**upload, alt_txt="a" * 1000)["ok"]


def test_conversations_join_works_for_public_channels_only(slack: SlackStandIn, slack_client: WebClient) -> None:
    joined = slack_client.conversations_join(channel="C0EAST")
    assert (joined["channel"]["id"], joined["channel"]["is_member"], "warning" in joined.data) == (
        "C0EAST",
        True,
        False,
    )
    assert slack.bot_is_member("C0EAST")
    assert slack_client.conversations_join(channel="C0EAST")["warning"] == "already_in_channel"
    for channel in (PRIVATE_CHANNEL, slack.add_dm("U0ALICE", "U0BOB")):
        assert refused(partial(slack_client.conversations_join, channel=channel))["error"] == (
            "method_not_supported_for_channel_type"
        )
    assert refused(lambda: slack_client.conversations_join(channel="C0NOWHERE"))["error"] == "channel_not_found"
    assert not slack.bot_is_member(PRIVATE_CHANNEL)


def test_conversations_info_shows_what_the_bot_may_see(slack: SlackStandIn, slack_client: WebClient) -> None:
    public = slack_client.conversations_info(channel="C0EAST")["channel"]
    assert {k: public[k] for k in ("id", "name", "is_private", "is_member", "is_archived")} == {
        "id": "C0EAST",
        "name": "sales-east",
        "is_private": False,
        "is_member": False,
        "is_archived": False,
    }
    assert refused(lambda: slack_client.conversations_info(channel=PRIVATE_CHANNEL))["error"] == "channel_not_found"
    slack.add_channel("C0INVITED", "invited", private=True, bot_member=True)
    invited = slack_client.conversations_info(channel="C0INVITED")["channel"]
    assert (invited["is_private"], invited["is_member"]) == (True, True)


def test_conversations_history_lists_top_level_messages_newest_first() -> None:
    with granting("channels:history") as (_, slack_client):
        assert refused(lambda: slack_client.conversations_history(channel="C0EAST"))["error"] == "not_in_channel"
        slack_client.conversations_join(channel="C0EAST")
        metadata = {"event_type": "lead_announced", "event_payload": {"lead": 1}}
        first = slack_client.chat_postMessage(channel="C0EAST", text="first", metadata=metadata)["ts"]
        slack_client.chat_postMessage(channel="C0EAST", text="a reply", thread_ts=first)
        second = slack_client.chat_postMessage(channel="C0EAST", text="second")["ts"]
        third = slack_client.chat_postMessage(channel="C0EAST", text="third")["ts"]
        slack_client.chat_postMessage(channel="C0WEST", text="elsewhere")

        newest = slack_client.conversations_history(channel="C0EAST")
        assert [m["text"] for m in newest["messages"]] == ["third", "second", "first"]
        assert "metadata" not in newest["messages"][2], "metadata only when asked for"
        with_metadata = slack_client.conversations_history(channel="C0EAST", include_all_metadata=True)
        assert with_metadata["messages"][2]["metadata"] == metadata
        page = slack_client.conversations_history(channel="C0EAST", limit=2)
        assert ([m["ts"] for m in page["messages"]], page["has_more"]) == ([third, second], True)
        between = slack_client.conversations_history(channel="C0EAST", oldest=first, latest=third)
        assert [m["ts"] for m in between["messages"]] == [second]
        inclusive = slack_client.conversations_history(channel="C0EAST", oldest=first, latest=third, inclusive=True)
        assert [m["ts"] for m in inclusive["messages"]] == [third, second, first]


def test_users_info_answers_from_the_directory() -> None:
    with withholding("users:read.email") as (slack, slack_client):
        slack.add_user(
            "U0ZOE",
            display_name="Zoe",
            real_name="Zoe Zhang",
            email="zoe@example.com",
            status_text="On a call",
            status_emoji=":phone:",
            tz="Europe/Berlin",
        )
        zoe = slack_client.users_info(user="U0ZOE")["user"]
        assert (zoe["real_name"], zoe["tz"], zoe["tz_offset"], zoe["deleted"]) == (
            "Zoe Zhang",
            "Europe/Berlin",
            3600,
            False,
        )
        assert {k: zoe["profile"][k] for k in ("display_name", "status_text", "status_emoji")} == {
            "display_name": "Zoe",
            "status_text": "On a call",
            "status_emoji": ":phone:",
        }
        assert "email" not in zoe["profile"], "an email needs users:read.email"
        assert slack_client.users_info(user="U0ALICE")["user"]["profile"]["display_name"] == "Alice Adams"
        assert refused(lambda: slack_client.users_info(user="U0GHOST"))["error"] == "user_not_found"
        with SlackStandIn(scopes=slack.scopes | {"users:read", "users:read.email"}) as standin:
            standin.add_user("U0ZOE", email="zoe@example.com")
            assert client_of(standin).users_info(user="U0ZOE")["user"]["profile"]["email"] == "zoe@example.com"


def test_granted_scopes_are_manifest_ymls_and_auth_test_names_them(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    assert slack.scopes == manifest_bot_scopes()
    granted = slack_client.auth_test().headers["X-OAuth-Scopes"]
    assert set(granted.split(",")) == set(manifest_bot_scopes())


def test_a_method_without_its_scope_is_missing_scope(slack: SlackStandIn, slack_reference: Path) -> None:
    with SlackStandIn(scopes=["chat:write", "groups:read"]) as standin:
        populate(standin)
        client = client_of(standin)
        answer = refused(lambda: client.files_upload_v2(channel="C0EAST", file=b"x", filename="x.txt"))
        assert (answer["error"], answer["needed"], answer["provided"]) == (
            "missing_scope",
            "files:write",
            "chat:write,groups:read",
        )
        assert refused(lambda: client.users_info(user="U0ALICE"))["needed"] == "users:read"
        # conversations.info needs the scope of the channel's kind: channels:read for a public one.
        assert refused(lambda: client.conversations_info(channel="C0EAST"))["needed"] == "channels:read"
        assert client.chat_postMessage(channel="U0ALICE", text="x")["ok"]
        assert client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})["ok"], "needs none"


def test_scopes_come_from_the_specs_security_entries(slack_reference: Path) -> None:
    scopes = method_scopes(slack_reference)
    assert scopes["chat.postMessage"] == {"chat:write"}, "the spec's classic chat:write:bot, as granted today"
    assert scopes["conversations.join"] == {"channels:join"}, "a bot token joins with channels:join"
    assert scopes["conversations.info"] >= {"channels:read", "groups:read"}
    assert scopes["views.open"] == scopes["auth.test"] == frozenset()
    assert scopes["files.completeUploadExternal"] == {"files:write"}, "newer than the spec: NEWER_METHOD_SCOPES"


def test_a_trigger_id_opens_one_view_within_3_seconds(slack: SlackStandIn, slack_client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Split credit"}, "blocks": []}
    trigger_id = slack.new_trigger_id()
    assert slack_client.views_open(trigger_id=trigger_id, view=modal)["ok"]
    assert refused(lambda: slack_client.views_push(trigger_id=trigger_id, view=modal))["error"] == (
        "exchanged_trigger_id"
    )
    assert refused(lambda: slack_client.views_open(trigger_id="1.2.made-up", view=modal))["error"] == (
        "invalid_trigger_id"
    )
    late = slack.new_trigger_id()
    slack.expire_trigger_ids()
    assert refused(lambda: slack_client.views_open(trigger_id=late, view=modal))["error"] == "expired_trigger_id"


def test_a_response_url_takes_5_posts_then_answers_expired_url(slack: SlackStandIn) -> None:
    url = slack.new_response_url("C0EAST", "U0ALICE")
    webhook = WebhookClient(url)
    answers = [webhook.send(text=f"answer {i}", response_type="ephemeral") for i in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [404]
    assert answers[5].body == "Expired url"
    recorded = slack.calls_to("response_url")
    assert [(c.args["user"], c.args["channel"], c.args["text"]) for c in recorded[:1]] == [
        ("U0ALICE", "C0EAST", "answer 0")
    ]
    assert [c.error for c in recorded] == [None] * 5 + ["expired_url"]
    assert [c.args["text"] for c in slack.responses_to("U0ALICE")] == [f"answer {i}" for i in range(5)]


def test_a_response_url_expires_after_30_minutes(slack: SlackStandIn) -> None:
    url = slack.new_response_url("C0EAST", "U0BOB")
    slack.expire_response_urls()
    fresh = slack.new_response_url("C0EAST", "U0BOB")

    assert WebhookClient(url).send(text="too late").status_code == 404
    assert WebhookClient(fresh).send(text="in time").status_code == 200
    assert WebhookClient(f"{slack.base_url}/response/never-issued").send(text="x").status_code == 404
    assert [c.args["text"] for c in slack.responses_to("U0BOB")] == ["in time"]


def test_a_response_url_checks_blocks_like_a_message(slack: SlackStandIn) -> None:
    url = slack.new_response_url("C0EAST", "U0ALICE")

    answer = WebhookClient(url).send(text="x", blocks=[SECTION] * 51)
    assert (answer.status_code, answer.body) == (400, "invalid_blocks")
    assert slack.take_problems() == ["chat.postMessage: blocks has 51 blocks (limit 50)"]
    assert WebhookClient(url).send(text="x", blocks=[SECTION]).status_code == 200


def test_reset_empties_the_workspace(slack: SlackStandIn, slack_client: WebClient) -> None:
    slack_client.conversations_join(channel="C0EAST")
    slack.reset()
    assert refused(lambda: slack_client.chat_postMessage(channel="C0EAST", text="x"))["error"] == "channel_not_found"
    assert refused(lambda: slack_client.chat_postMessage(channel="U0ALICE", text="x"))["error"] == "channel_not_found"
    populate(slack)
    assert not slack.bot_is_member("C0EAST")


def test_add_teams_makes_a_team_configs_workspace() -> None:
    with granting("users:read") as (slack, slack_client):
        slack.add_teams('[teams.north]\nname = "Sales North"\nchannel = "C0NORTH"\nreps = [{ id = "U0NIA" }]\n')
        north = slack_client.conversations_info(channel="C0NORTH")["channel"]
        assert (north["name"], north["is_private"], north["is_member"]) == ("sales-north", False, False)
        assert slack_client.users_info(user="U0NIA")["user"]["profile"]["display_name"] == "Nia"
        slack_client.conversations_join(channel="C0NORTH")
        assert slack_client.chat_postEphemeral(channel="C0NORTH", user="U0NIA", text="x")["ok"], (
            "people in their channel"
        )
