"""Slack's Block Kit rules as the stand-in enforces them: each broken rule refused (or flagged) the
way Slack does, through the real slack_sdk WebClient, and the same payload within the rule accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.block_kit import COMMAND, VIEW_SUBMISSION, app_answer_problems
from sandbox.slack_web import SlackStandIn

Json = dict[str, Any]


def plain(text: str) -> Json:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> Json:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "Lead L-1", **extra: Any) -> Json:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(label: str | Json = "Claim", action_id: str = "claim_lead", **extra: Any) -> Json:
    text = label if isinstance(label, dict) else plain(label)
    return {"type": "button", "text": text, "action_id": action_id, "value": "1", **extra}


def actions(*elements: Json, **extra: Any) -> Json:
    return {"type": "actions", "elements": list(elements), **extra}


def option(text: str = "Alice", value: str = "U0ALICE", kind: str = "plain_text") -> Json:
    return {"text": {"type": kind, "text": text}, "value": value}


def menu(*options: Json, kind: str = "static_select", **extra: Any) -> Json:
    element = {"type": kind, "action_id": "pick", "options": list(options), **extra}
    if kind.endswith("select"):
        element.setdefault("placeholder", plain("Pick one"))
    return element


def text_input(block_id: str = "reason", label: Any = None, **extra: Any) -> Json:
    element = {"type": "plain_text_input", "action_id": "value", **extra.pop("element", {})}
    return {"type": "input", "block_id": block_id, "label": label or plain("Reason"), "element": element, **extra}


def modal(blocks: list[Json], **extra: Any) -> Json:
    return {"type": "modal", "title": plain("Contest a lead"), "submit": plain("Send"), "blocks": blocks, **extra}


def refusal(slack: SlackStandIn, call: Callable[[], Any]) -> tuple[str, list[str]]:
    """Make a call Slack refuses: its error and the problems the stand-in noted."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"], slack.take_problems()


def post(client: WebClient, blocks: list[Json]) -> Any:
    return client.chat_postMessage(channel="C0EAST", text="Lead L-1", blocks=blocks)


def update(client: WebClient, view: Json) -> Any:
    return client.views_update(view_id="V1", view=view)


# ----- the defect of issue 8


def test_two_award_buttons_sharing_an_action_id_refuse_the_whole_message(
    slack: SlackStandIn, slack_client: WebClient
) -> None:
    awards = [button("Award to Alice", "dispute_award"), button("Award to Bob", "dispute_award")]

    error, problems = refusal(slack, lambda: post(slack_client, [section(), actions(*awards)]))

    assert error == "invalid_blocks"
    assert problems == ["chat.postMessage: blocks[1] has action_id 'dispute_award' on 2 elements (unique per block)"]
    assert not slack.calls_to("chat.postMessage")[0].ok


def test_one_action_id_in_different_blocks_is_fine(slack: SlackStandIn, slack_client: WebClient) -> None:
    """Slack wants action_ids unique within their block; lead cards each carry a `claim_lead`."""
    cards = [section("L-1", accessory=button()), section("L-2", accessory=button())]
    unique = [button("Award to Alice", "dispute_award_0"), button("Award to Bob", "dispute_award_1")]

    assert post(slack_client, [*cards, actions(*unique)])["ok"]
    assert slack.problems == []


# ----- message rules: (rule, blocks Slack refuses, the problem named, blocks within the rule)

MESSAGE_RULES = [
    (
        "block_id unique in a message",
        [section(block_id="card"), section(block_id="card")],
        "blocks has block_id 'card' on 2 blocks (unique per message or view)",
        [section(block_id="card-1"), section(block_id="card-2")],
    ),
    ("50 blocks per message", [section()] * 51, "blocks has 51 blocks (limit 50)", [section()] * 50),
    (
        "header text is plain_text only",
        [{"type": "header", "text": mrkdwn("*L-1*")}],
        "blocks[0].text must be a plain_text object, not mrkdwn",
        [{"type": "header", "text": plain("L-1")}],
    ),
    (
        "button text is plain_text only",
        [actions(button(mrkdwn("*Claim*")))],
        "blocks[0].elements[0].text must be a plain_text object, not mrkdwn",
        [actions(button("Claim"))],
    ),
    (
        "button text is an object",
        [actions({**button(), "text": "Claim"})],
        "blocks[0].elements[0].text must be a plain_text object, not a bare string",
        [actions(button("Claim"))],
    ),
    (
        "a menu's option text is plain_text only",
        [actions(menu(option(kind="mrkdwn")))],
        "blocks[0].elements[0].options[0].text must be a plain_text object, not mrkdwn",
        [actions(menu(option()), {"type": "radio_buttons", "action_id": "r", "options": [option(kind="mrkdwn")]})],
    ),
    (
        "a menu's placeholder is plain_text only",
        [actions(menu(option(), placeholder=mrkdwn("Pick")))],
        "blocks[0].elements[0].placeholder must be a plain_text object, not mrkdwn",
        [actions(menu(option(), placeholder=plain("Pick")))],
    ),
    (
        "a confirm dialog's title is plain_text only",
        [actions(button(confirm={"title": mrkdwn("Sure?"), "text": mrkdwn("Really"), "confirm": plain("Yes")}))],
        "blocks[0].elements[0].confirm.title must be a plain_text object, not mrkdwn",
        [actions(button(confirm={"title": plain("Sure?"), "text": mrkdwn("*Really*"), "confirm": plain("Yes")}))],
    ),
    ("section text 3,000", [section("x" * 3001)], "blocks[0].text is 3001 chars (limit 3000)", [section("x" * 3000)]),
    (
        "section fields 10",
        [section(fields=[mrkdwn("f")] * 11)],
        "blocks[0].fields has 11 fields (limit 10)",
        [section(fields=[mrkdwn("f")] * 10)],
    ),
    (
        "section field 2,000",
        [section(fields=[mrkdwn("f" * 2001)])],
        "blocks[0].fields[0] is 2001 chars (limit 2000)",
        [section(fields=[mrkdwn("f" * 2000)])],
    ),
    (
        "header text 150",
        [{"type": "header", "text": plain("h" * 151)}],
        "blocks[0].text is 151 chars (limit 150)",
        [{"type": "header", "text": plain("h" * 150)}],
    ),
    (
        "option text 75",
        [actions(menu(option("o" * 76)))],
        "blocks[0].elements[0].options[0].text is 76 chars (limit 75)",
        [actions(menu(option("o" * 75)))],
    ),
    (
        "option value 150",
        [actions(menu(option(value="v" * 151)))],
        "blocks[0].elements[0].options[0].value is 151 chars (limit 150)",
        [actions(menu(option(value="v" * 150)))],
    ),
    (
        "100 options per menu",
        [actions(menu(*[option(value=str(i)) for i in range(101)]))],
        "blocks[0].elements[0].options has 101 options (limit 100)",
        [actions(menu(*[option(value=str(i)) for i in range(100)]))],
    ),
    (
        "context 10 elements",
        [{"type": "context", "elements": [mrkdwn("c")] * 11}],
        "blocks[0].elements has 11 elements (limit 10)",
        [{"type": "context", "elements": [mrkdwn("c")] * 10}],
    ),
    (
        "context holds images and text only",
        [{"type": "context", "elements": [button()]}],
        "blocks[0].elements[0] is a 'button'; a context block takes images and text only",
        [
            {
                "type": "context",
                "elements": [plain("c"), {"type": "image", "image_url": "https://x/y.png", "alt_text": "y"}],
            }
        ],
    ),
    (
        "actions 25 elements",
        [actions(*[button(action_id=f"b{i}") for i in range(26)])],
        "blocks[0].elements has 26 elements (limit 25)",
        [actions(*[button(action_id=f"b{i}") for i in range(25)])],
    ),
    (
        "button text 75",
        [actions(button("b" * 76))],
        "blocks[0].elements[0].text is 76 chars (limit 75)",
        [actions(button("b" * 75))],
    ),
    (
        "button value 2,000",
        [actions(button(value="v" * 2001))],
        "blocks[0].elements[0].value is 2001 chars (limit 2000)",
        [actions(button(value="v" * 2000))],
    ),
    (
        "button url 3,000",
        [actions(button(url="https://x/" + "u" * 2991))],
        "blocks[0].elements[0].url is 3001 chars (limit 3000)",
        [actions(button(url="https://x/" + "u" * 2990))],
    ),
    (
        "action_id 255",
        [actions(button(action_id="a" * 256))],
        "blocks[0].elements[0].action_id is 256 chars (limit 255)",
        [actions(button(action_id="a" * 255))],
    ),
    (
        "block_id 255",
        [section(block_id="b" * 256)],
        "blocks[0].block_id is 256 chars (limit 255)",
        [section(block_id="b" * 255)],
    ),
    (
        "image alt_text 2,000",
        [{"type": "image", "image_url": "https://x/chart.png", "alt_text": "a" * 2001}],
        "blocks[0].alt_text is 2001 chars (limit 2000)",
        [{"type": "image", "image_url": "https://x/chart.png", "alt_text": "a" * 2000}],
    ),
    (
        "input blocks only in views",
        [text_input()],
        "blocks[0] is an input block, which only modals and App Home take",
        [section()],
    ),
    (
        "a text object has text",
        [section(fields=[mrkdwn("*Score*"), mrkdwn("")])],
        "blocks[0].fields[1].text is empty",
        [section(fields=[mrkdwn("*Score*"), mrkdwn("—")])],
    ),
    (
        "unknown block types",
        [{"type": "sectoin", "text": mrkdwn("x")}],
        "blocks[0] has unknown block type 'sectoin'",
        [section()],
    ),
    (
        "an element where its block cannot hold it",
        [actions({"type": "plain_text_input", "action_id": "value"})],
        "blocks[0].elements[0] is a 'plain_text_input', which this block cannot hold",
        [actions(menu(option()))],
    ),
    (
        "slack_sdk's own limits (placeholder 150)",
        [actions(menu(option(), placeholder=plain("p" * 151)))],
        "blocks[0]: placeholder attribute cannot exceed 150 characters (slack_sdk)",
        [actions(menu(option(), placeholder=plain("p" * 150)))],
    ),
]


@pytest.mark.parametrize(
    ("bad", "problem", "good"), [case[1:] for case in MESSAGE_RULES], ids=[c[0] for c in MESSAGE_RULES]
)
def test_message_rule(
    slack: SlackStandIn, slack_client: WebClient, bad: list[Json], problem: str, good: list[Json]
) -> None:
    error, problems = refusal(slack, lambda: post(slack_client, bad))

    assert error == "invalid_blocks"
    assert f"chat.postMessage: {problem}" in problems
    assert post(slack_client, good)["ok"]
    assert slack.problems == []


# ----- view rules: (rule, view Slack refuses, the problem named, view within the rule)

VIEW_RULES = [
    (
        "block_id unique in a view",
        modal([text_input("reason"), text_input("reason")]),
        "view.blocks has block_id 'reason' on 2 blocks (unique per message or view)",
        modal([text_input("reason"), text_input("detail")]),
    ),
    (
        "100 blocks per view",
        modal([section()] * 101),
        "view.blocks has 101 blocks (limit 100)",
        modal([section()] * 100),
    ),
    (
        "modal title plain_text only",
        modal([section()], title=mrkdwn("*Contest*")),
        "view.title must be a plain_text object, not mrkdwn",
        modal([section()], title=plain("Contest")),
    ),
    (
        "modal submit and close plain_text only",
        modal([section()], close=mrkdwn("_Cancel_")),
        "view.close must be a plain_text object, not mrkdwn",
        modal([section()], close=plain("Cancel")),
    ),
    (
        "input label plain_text only",
        modal([text_input(label=mrkdwn("*Why*"))]),
        "view.blocks[0].label must be a plain_text object, not mrkdwn",
        modal([text_input(label=plain("Why"))]),
    ),
    (
        "input hint plain_text only",
        modal([text_input(hint=mrkdwn("_short_"))]),
        "view.blocks[0].hint must be a plain_text object, not mrkdwn",
        modal([text_input(hint=plain("short"))]),
    ),
    (
        "input placeholder plain_text only",
        modal([text_input(element={"placeholder": mrkdwn("_why_")})]),
        "view.blocks[0].element.placeholder must be a plain_text object, not mrkdwn",
        modal([text_input(element={"placeholder": plain("why")})]),
    ),
    (
        "modal title 24",
        modal([section()], title=plain("t" * 25)),
        "view.title.text is 25 chars (limit 24)",
        modal([section()], title=plain("t" * 24)),
    ),
    (
        "modal submit 24",
        modal([section()], submit=plain("s" * 25)),
        "view.submit.text is 25 chars (limit 24)",
        modal([section()], submit=plain("s" * 24)),
    ),
    (
        "modal close 24",
        modal([section()], close=plain("c" * 25)),
        "view.close.text is 25 chars (limit 24)",
        modal([section()], close=plain("c" * 24)),
    ),
    (
        "private_metadata 3,000",
        modal([section()], private_metadata="m" * 3001),
        "view.private_metadata is 3001 chars (limit 3000)",
        modal([section()], private_metadata="m" * 3000),
    ),
    (
        "callback_id 255",
        modal([section()], callback_id="c" * 256),
        "view.callback_id is 256 chars (limit 255)",
        modal([section()], callback_id="c" * 255),
    ),
    (
        "a whole view 250 kB",
        modal([section("x" * 2900)] * 90),
        "bytes (limit 250000)",
        modal([section("x" * 2700)] * 90),
    ),
    (
        "a modal with inputs needs submit",
        {k: v for k, v in modal([text_input()]).items() if k != "submit"},
        "view.submit is missing (a modal with input blocks needs one)",
        modal([text_input()]),
    ),
    (
        "a modal's title has text",
        modal([section()], title=plain("")),
        "view.title.text is empty",
        modal([section()], title=plain("Dibs")),
    ),
    (
        "a view needs blocks",
        {"type": "modal", "title": plain("Dibs")},
        "view.blocks is not a JSON array of blocks",
        modal([section()]),
    ),
    ("a modal needs a title", {"type": "modal", "blocks": [section()]}, "view.title is missing", modal([section()])),
    (
        "messages-only blocks",
        modal([{"type": "file", "external_id": "F1", "source": "remote"}]),
        "view.blocks[0] is a file block, which only messages take",
        modal([section()]),
    ),
]


@pytest.mark.parametrize(("bad", "problem", "good"), [case[1:] for case in VIEW_RULES], ids=[c[0] for c in VIEW_RULES])
def test_view_rule(slack: SlackStandIn, slack_client: WebClient, bad: Json, problem: str, good: Json) -> None:
    error, problems = refusal(slack, lambda: update(slack_client, bad))

    assert error == "invalid_arguments"
    assert any(p.startswith("views.update: ") and problem in p for p in problems), problems
    assert update(slack_client, good)["ok"]
    assert slack.problems == []


def test_app_home_takes_a_home_view_only(slack: SlackStandIn, slack_client: WebClient) -> None:
    error, problems = refusal(slack, lambda: slack_client.views_publish(user_id="U0ALICE", view=modal([section()])))

    assert error == "invalid_arguments"
    assert problems == ["views.publish: view.type is 'modal', not home"]
    home = {"type": "home", "blocks": [{"type": "header", "text": plain("Dibs")}, section()]}
    assert slack_client.views_publish(user_id="U0ALICE", view=home)["ok"]
    assert slack.problems == []


# ----- plain_text shows what it holds: flagged, though Slack posts it


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("Award to <@U0ALICE>", "is plain_text, so '<@U0ALICE>' shows as typed"),
        ("Tell <!here>", "is plain_text, so '<!here>' shows as typed"),
        ("Post in <#C0EAST>", "is plain_text, so '<#C0EAST>' shows as typed"),
        ("Award to U0ALICE", "shows the raw user id 'U0ALICE'"),
    ],
)
def test_mentions_and_user_ids_in_plain_text_are_a_problem(
    slack: SlackStandIn, slack_client: WebClient, label: str, problem: str
) -> None:
    assert post(slack_client, [actions(button(label))])["ok"]

    assert slack.take_problems() == [f"chat.postMessage: blocks[0].elements[0].text.text {problem}"]
    assert post(slack_client, [section("Award to <@U0ALICE>?", accessory=button("Award to Alice"))])["ok"]
    assert slack.problems == []


def test_a_mention_in_a_modal_title_is_a_problem_too(slack: SlackStandIn, slack_client: WebClient) -> None:
    update(slack_client, modal([section()], title=plain("Ask <@U0MGR1>")))

    assert slack.take_problems() == ["views.update: view.title.text is plain_text, so '<@U0MGR1>' shows as typed"]


# ----- the app's own answers to Slack


def answer(kind: str, body: Any, submitted: Json | None = None) -> list[str]:
    return app_answer_problems(kind, json.dumps(body).encode(), submitted)


def test_a_slash_command_answer_follows_the_message_rules() -> None:
    card = [section("L-1", accessory=button())]
    assert answer(COMMAND, {"response_type": "ephemeral", "text": "L-1 is yours.", "blocks": card}) == []
    assert answer(COMMAND, {"response_type": "in_channel", "text": "Done"}) == []
    assert app_answer_problems(COMMAND, b"") == []
    assert app_answer_problems(COMMAND, b"Shown as the message text") == []

    assert answer(COMMAND, {"response_type": "private", "text": "x"}) == [
        "command answer: response_type is 'private', not 'ephemeral' or 'in_channel'"
    ]
    assert answer(COMMAND, {"response_type": "ephemeral"}) == ["command answer: has neither text nor blocks"]
    assert answer(COMMAND, {"text": "x", "channel": "C0EAST"}) == [
        "command answer: has 'channel', which a slash command answer does not take"
    ]
    assert answer(COMMAND, {"text": "x", "blocks": [section()] * 51}) == [
        "command answer: blocks has 51 blocks (limit 50)"
    ]
    assert answer(COMMAND, {"text": "x", "blocks": [text_input()]}) == [
        "command answer: blocks[0] is an input block, which only modals and App Home take"
    ]
    awards = actions(button("Award to <@U0BOB>", "dispute_award"), button("Award", "dispute_award"))
    assert answer(COMMAND, {"text": "x", "blocks": [awards]}) == [
        "command answer: blocks[0].elements[0].text.text is plain_text, so '<@U0BOB>' shows as typed",
        "command answer: blocks[0] has action_id 'dispute_award' on 2 elements (unique per block)",
    ]


def test_a_response_action_names_blocks_of_the_submitted_view() -> None:
    submitted = {"blocks": [section(block_id="intro"), text_input("percent_0")], "state": {"values": {}}}
    values_only = {"blocks": [], "state": {"values": {"reason": {"value": {"value": "x"}}}}}
    errors = {"response_action": "errors", "errors": {"percent_0": "The shares add up to 90%"}}
    assert answer(VIEW_SUBMISSION, errors, submitted) == []
    assert answer(VIEW_SUBMISSION, {"response_action": "errors", "errors": {"reason": "Say why"}}, values_only) == []
    assert app_answer_problems(VIEW_SUBMISSION, b"", submitted) == []

    assert answer(VIEW_SUBMISSION, {"response_action": "errors", "errors": {"intro": "No"}}, submitted) == [
        "view_submission answer: errors names 'intro', which is no input block of the submitted view"
    ]
    assert answer(VIEW_SUBMISSION, {"response_action": "errors", "errors": {}}, submitted) == [
        "view_submission answer: errors is not a JSON object of messages by block_id"
    ]
    assert answer(VIEW_SUBMISSION, {"response_action": "close"}, submitted) == [
        "view_submission answer: response_action is 'close', not one of clear, errors, push, update"
    ]


def test_a_response_action_update_or_push_carries_a_valid_modal() -> None:
    good = modal([text_input()])
    assert answer(VIEW_SUBMISSION, {"response_action": "update", "view": good}) == []
    assert answer(VIEW_SUBMISSION, {"response_action": "push", "view": good}) == []
    assert answer(VIEW_SUBMISSION, {"response_action": "clear"}) == []

    assert answer(VIEW_SUBMISSION, {"response_action": "update", "view": modal([], title=plain("t" * 25))}) == [
        "view_submission answer: view.title.text is 25 chars (limit 24)"
    ]
    assert answer(VIEW_SUBMISSION, {"response_action": "push"}) == ["view_submission answer: view is not a JSON object"]
    assert answer(VIEW_SUBMISSION, {"response_action": "push", "view": {"type": "home", "blocks": []}}) == [
        "view_submission answer: view.type is 'home', not modal"
    ]
    assert answer(VIEW_SUBMISSION, {"response_action": "clear", "view": good}) == [
        "view_submission answer: has 'view', which response_action 'clear' does not take"
    ]


def test_an_unknown_kind_of_answer_is_a_mistake_in_the_test() -> None:
    with pytest.raises(ValueError, match="unknown kind of answer 'block_actions'"):
        app_answer_problems("block_actions", b"")
