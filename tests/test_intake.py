"""Lead intake end to end (DESIGN §4): the webhook, the announcements in Slack, the modal.

Everything goes through HTTP against the running app; Slack's side is the stand-in. The app's
clock (the `clock` fixture) runs with real time, so the outbox's pacing plays out as in production.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import func, select

from handlers.delivery import Deliverer
from handlers.server import BackgroundLoop
from handlers.views import CARDS_PER_MESSAGE, CLAIM_ACTION
from models import Lead, OutboxMessage
from sandbox.signing import slash_command_body, view_submission_body
from sandbox.slack_web import RecordedCall, SlackStandIn
from tests import fixtures_app
from tests.fixtures_app import AppDriver, eventually

ZWSP = "\u200b"


# ---- helpers ----------------------------------------------------------------------------------


def claim_values(call: RecordedCall) -> list[str]:
    """The lead ids behind the Claim buttons of one posted message, in order."""
    return [
        block["accessory"]["value"]
        for block in call.args.get("blocks") or []
        if block.get("accessory", {}).get("action_id") == CLAIM_ACTION
    ]


def announcements(slack: SlackStandIn, channel: str = "C0EAST") -> list[RecordedCall]:
    """Lead cards Slack accepted in `channel` (messages holding Claim buttons)."""
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == channel and claim_values(call)
    ]


def wait_announced(slack: SlackStandIn, lead_ids: set[str], timeout: float = 15.0) -> list[RecordedCall]:
    """Wait on the stand-in until every lead in `lead_ids` has been announced."""
    deadline = time.monotonic() + timeout
    while True:
        calls = announcements(slack)
        if lead_ids <= {value for call in calls for value in claim_values(call)}:
            return calls
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen = [claim_values(call) for call in calls]
            raise AssertionError(f"leads {sorted(lead_ids)} not all announced; cards seen: {seen}")
        posts = len(slack.calls_to("chat.postMessage"))
        with suppress(AssertionError):
            slack.wait_for("chat.postMessage", count=posts + 1, timeout=min(remaining, 1.0))


def count(dibs: AppDriver, model: type) -> int:
    with dibs.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def unsent(dibs: AppDriver) -> int:
    with dibs.runtime.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")) or 0
        )


def lead_id(response: fixtures_app.Response) -> str:
    return str(response.json()["id"]).removeprefix("L-")


def lead_fields(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": f"crm-{n}",
        "name": f"Contact {n}",
        "company": f"Company {n}",
        "email": f"contact{n}@company{n}.example.com",
        **extra,
    }


@contextmanager
def outbox_paused(dibs: AppDriver) -> Iterator[None]:
    """Hold the outbox worker so leads pile up as in a burst; a fresh worker resumes after."""
    loops = dibs.runtime.loops
    worker = next(loop for loop in loops if loop.name == "outbox")
    worker.stop()
    loops.remove(worker)
    yield
    runtime = dibs.runtime
    deliverer = Deliverer(runtime.client, runtime.sessions, runtime.metrics, dibs.clock)
    fresh = BackgroundLoop("outbox", deliverer.tick, interval=0.2)
    loops.append(fresh)  # stopped with the runtime at teardown
    fresh.start()


def fence(dibs: AppDriver, n: int = 999) -> str:
    """Post one more lead and wait for its card: whatever was queued before it has gone out."""
    response = dibs.post_lead(lead_fields(n))
    assert response.status == 201, response.text
    wait_announced(dibs.slack, {lead_id(response)})
    return lead_id(response)


# ---- the webhook ------------------------------------------------------------------------------

ACME = {
    "external_id": "crm-1",
    "name": "Jane Doe",
    "email": "jane@acme.com",
    "company": "Acme Inc",
    "territory": "NY",
    "score": 85,
    "source": "webinar",
    "value": 25000,
}


def test_a_new_lead_is_created_and_announced_with_a_claim_button(dibs: AppDriver) -> None:
    response = dibs.post_lead(ACME)

    assert response.status == 201
    assert response.json() == {"id": "L-1", "status": "announced", "account": "acme.com", "overlaps": []}
    [call] = dibs.slack.wait_for("chat.postMessage")
    assert call.ok and call.args["channel"] == "C0EAST"
    [card, status] = call.args["blocks"]
    assert card["text"]["text"] == "*L-1* *Jane Doe* · Acme Inc"
    fields = [f["text"] for f in card["fields"]]
    assert fields[:4] == ["*Territory*\nNY", "*Score*\n85 :fire:", "*Source*\nwebinar", "*Value*\n$25,000"]
    assert card["accessory"]["type"] == "button"
    assert card["accessory"]["text"]["text"] == "Claim"
    assert (card["accessory"]["action_id"], card["accessory"]["value"]) == (CLAIM_ACTION, "1")
    assert "Open" in status["elements"][0]["text"]
    assert "L-1" in call.args["text"]


def test_the_same_external_id_again_answers_the_first_lead_and_creates_nothing(
    dibs: AppDriver,
) -> None:
    first = dibs.post_lead(ACME)
    dibs.slack.wait_for("chat.postMessage")
    again = dibs.post_lead(ACME | {"name": "Someone Else", "score": 10})

    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json()
    assert count(dibs, Lead) == 1
    with dibs.runtime.sessions() as session:
        assert session.scalar(select(Lead.name)) == "Jane Doe"
    assert eventually(lambda: unsent(dibs) == 0)
    assert count(dibs, OutboxMessage) == 1, "the repeat queued no second announcement"
    assert [claim_values(c) for c in dibs.slack.calls_to("chat.postMessage")] == [["1"]]


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


BAD_FIELDS = {"external_id": "crm-bad", "score": 200, "email": "nope", "colour": "red"}

REFUSALS: list[tuple[str, Callable[[AppDriver], fixtures_app.Response], int, set[str]]] = [
    ("wrong token", lambda d: d.post_lead(ACME, token="west-token-999"), 401, {"authorization"}),
    ("no token", lambda d: d.post_lead(ACME, token=None), 401, {"authorization"}),
    ("over 64 KiB", lambda d: d.post_lead(ACME | {"notes": "x" * (65 * 1024)}), 413, {"body"}),
    ("not JSON", lambda d: d.post_lead(b'{"name": "Jane", '), 422, {"body"}),
    ("a JSON array", lambda d: d.post_lead(_json([ACME])), 422, {"body"}),
    ("bad fields", lambda d: d.post_lead(BAD_FIELDS), 422, {"score", "email", "colour", "name"}),
]


def test_every_refusal_says_why_and_leaves_nothing_behind(dibs: AppDriver) -> None:
    for what, send, status, bad_fields in REFUSALS:
        response = send(dibs)
        assert response.status == status, what
        assert set(response.json()["errors"]) == bad_fields, what
        assert (count(dibs, Lead), count(dibs, OutboxMessage)) == (0, 0), what

    errors = REFUSALS[-1][1](dibs).json()["errors"]
    assert errors["score"] == "Input should be less than or equal to 100"
    assert errors["email"] == "is not an email address"
    assert errors["colour"] == "is not a lead field"
    assert errors["name"] == "Field required"
    fence_id = fence(dibs)
    assert [claim_values(c) for c in dibs.slack.calls_to("chat.postMessage")] == [[fence_id]]


def test_a_second_lead_of_the_same_account_lists_the_first(dibs: AppDriver) -> None:
    dibs.post_lead(ACME)
    second = dibs.post_lead({"name": "John Roe", "email": "john@mail.acme.com", "company": "ACME"})

    assert second.status == 201
    assert second.json()["account"] == "acme.com"
    assert second.json()["overlaps"] == [{"lead": "L-1", "reason": "same domain", "held_by": None}]
    other = dibs.post_lead({"name": "Amy Poe", "email": "amy@globex.com"})
    assert other.json()["overlaps"] == []


SAME_NAME_AS_L1 = {"lead": "L-1", "reason": "same company name", "held_by": None}


def test_a_free_mail_lead_is_keyed_by_its_normalized_company(dibs: AppDriver) -> None:
    first = dibs.post_lead({"name": "Li Wei", "email": "li@gmail.com", "company": "Müller GmbH"})
    second = dibs.post_lead({"name": "Bo Chen", "email": "bo@gmail.com", "company": "MULLER, Inc."})
    third = dibs.post_lead({"name": "Al Ng", "email": "al@gmail.com", "company": "Initech"})

    assert first.json()["account"] == "muller"
    assert second.json()["overlaps"] == [SAME_NAME_AS_L1]
    assert third.json()["account"] == "initech"
    assert third.json()["overlaps"] == [], "sharing gmail.com makes no overlap"


def test_a_company_name_that_grows_when_normalized_is_still_taken(dibs: AppDriver) -> None:
    """200 CJK characters transliterate to 800; the account key must still fit its column."""
    company = "北京" * 100
    first = dibs.post_lead({"name": "Li Wei", "email": "li@gmail.com", "company": company})
    second = dibs.post_lead({"name": "Bo Chen", "email": "bo@gmail.com", "company": company})

    assert (first.status, second.status) == (201, 201), first.text
    assert first.json()["account"].startswith("bei jing bei jing")
    assert second.json()["overlaps"] == [SAME_NAME_AS_L1]


def test_hostile_text_neither_pings_nor_formats(dibs: AppDriver) -> None:
    response = dibs.post_lead(
        {
            "name": "<!channel> *bold*",
            "company": "<@U0BOB>",
            "territory": "<https://evil.example|NY>",
            "source": "_x_ & ~y~",
        }
    )
    assert response.status == 201

    [call] = dibs.slack.wait_for("chat.postMessage")
    assert call.ok
    raw = json.dumps(call.args, ensure_ascii=False)
    for injected in ("<!channel>", "<@U0BOB>", "<https://evil.example"):
        assert injected not in raw
    card = call.args["blocks"][0]
    assert "&lt;!channel&gt;" in card["text"]["text"]
    assert "&lt;@U0BOB&gt;" in card["text"]["text"]
    assert f"*{ZWSP}bold*{ZWSP}" in card["text"]["text"]
    assert "*bold*" not in raw
    fields = [f["text"] for f in card["fields"]]
    assert f"*Source*\n_{ZWSP}x_{ZWSP} &amp; ~{ZWSP}y~{ZWSP}" in fields


def test_leads_at_every_size_limit_are_announced_without_an_api_error(dibs: AppDriver) -> None:
    """Each field at its longest, in characters that grow when escaped; ten in one message."""
    with outbox_paused(dibs):
        for n in range(CARDS_PER_MESSAGE):
            response = dibs.post_lead(
                {
                    "external_id": f"big-{n}",
                    "name": "<&*" * 66 + "nn",
                    "company": "&>_" * 66 + "cc",
                    "email": "a" * 64 + "@" + "b" * 176 + ".example.com",
                    "phone": "+1 (555) 010-" + "9" * 37,
                    "territory": "<" * 50,
                    "source": "&" * 100,
                    "score": 100,
                    "value": "999999999999.99",
                    "notes": "<!here> " * 500,
                    "tags": ["t" * 50] * 20,
                }
            )
            assert response.status == 201, response.text
    [call] = wait_announced(dibs.slack, {str(n) for n in range(1, 11)})

    assert call.ok and len(claim_values(call)) == CARDS_PER_MESSAGE
    for block in call.args["blocks"]:
        texts = [block.get("text", {}).get("text", "")]
        texts += [f["text"] for f in block.get("fields", [])]
        texts += [e["text"] for e in block.get("elements", [])]
        assert all(len(t) <= 2000 for t in texts[1:]) and len(texts[0]) <= 3000
    assert "&lt;" * 50 in json.dumps(call.args)
    # the stand-in would fail the test (slack fixture) if any Slack limit had been broken


def test_a_field_longer_than_its_limit_is_refused_not_cut(dibs: AppDriver) -> None:
    response = dibs.post_lead({"name": "n" * 201, "notes": "x" * 4001})
    assert response.status == 422
    assert set(response.json()["errors"]) == {"name", "notes"}
    assert count(dibs, Lead) == 0


# ---- bursts -----------------------------------------------------------------------------------


def test_a_burst_is_announced_ten_cards_a_message_each_lead_once(dibs: AppDriver) -> None:
    with outbox_paused(dibs):
        ids = [lead_id(dibs.post_lead(lead_fields(n))) for n in range(25)]
        assert dibs.slack.calls_to("chat.postMessage") == [], "the webhook never waits on Slack"
    calls = wait_announced(dibs.slack, set(ids))

    per_message = [claim_values(call) for call in calls]
    assert [len(cards) for cards in per_message] == [10, 10, 5]
    assert sorted(v for cards in per_message for v in cards) == sorted(ids)
    for call in calls:
        assert len(call.args["blocks"]) <= 50
        buttons = [b["accessory"] for b in call.args["blocks"] if "accessory" in b]
        assert len({b["value"] for b in buttons}) == len(buttons), "one Claim button per card"
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert all(0.9 <= gap < 1.9 for gap in gaps), f"one message a second, not two: {gaps}"
    assert eventually(lambda: unsent(dibs) == 0), "every outbox row ends sent"


def test_under_slacks_channel_rate_limit_no_lead_is_lost(dibs: AppDriver) -> None:
    slack = dibs.slack
    slack.limit_channel_rate(1.0)
    with outbox_paused(dibs):
        ids = [lead_id(dibs.post_lead(lead_fields(n))) for n in range(30)]
        # someone else just posted in the channel, so the bot's first post is rate limited
        WebClient(token="xoxb-other", base_url=slack.api_url).chat_postMessage(channel="C0EAST", text="hello team")
    calls = wait_announced(slack, set(ids), timeout=20)

    announced = [value for call in calls for value in claim_values(call)]
    assert sorted(announced) == sorted(ids), "every lead announced exactly once"
    assert all(len(claim_values(call)) <= 10 for call in calls)
    limited = [c for c in slack.calls_to("chat.postMessage") if c.rate_limited]
    assert limited, "the stand-in rate limited at least one post"
    for refused in limited:
        retried = [c for c in calls if c.at > refused.at and claim_values(c) == claim_values(refused)]
        assert retried, f"rate-limited cards {claim_values(refused)} were posted again"
        assert retried[0].at - refused.at >= 0.95, "Retry-After: 1 was honoured"


# ---- the modal --------------------------------------------------------------------------------


def form_values(**fields: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {name: {"value": {"type": "plain_text_input", "value": value}} for name, value in fields.items()}


def lead_add(dibs: AppDriver, user: str) -> tuple[str, Any]:
    """`user` types `/dibs lead add` in the team channel: the command's trigger_id, and the answer."""
    trigger_id = dibs.slack.new_trigger_id()
    body = slash_command_body(
        "lead add",
        user_id=user,
        channel_id="C0EAST",
        trigger_id=trigger_id,
        response_url=dibs.slack.new_response_url("C0EAST", user),
    )
    return trigger_id, dibs.slack_request(body).json()


def test_lead_add_opens_the_form_with_the_commands_trigger(dibs: AppDriver) -> None:
    trigger_id, answer = lead_add(dibs, "U0ALICE")
    assert answer["text"] == "Opening the lead form…"

    [call] = dibs.slack.wait_for("views.open")
    assert call.ok, "the trigger_id was used once, within 3 s"
    assert call.args["trigger_id"] == trigger_id
    assert call.args["view"]["callback_id"] == "lead_add"
    assert {b["block_id"] for b in call.args["view"]["blocks"]} >= {"name", "email", "score"}


def test_a_submitted_form_creates_and_announces_the_lead(dibs: AppDriver) -> None:
    response = dibs.submit_view(
        "U0ALICE",
        "lead_add",
        form_values(
            name="Jane Doe",
            company="Acme Inc",
            email="jane@acme.com",
            score="70",
            value="1200",
            territory="NY",
            source="manual",
        ),
    )

    assert response.status == 200
    with dibs.runtime.sessions() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.score, lead.account_key) == ("Jane Doe", 70, "acme.com")
    [card] = wait_announced(dibs.slack, {str(lead.id)})
    assert card.args["blocks"][0]["text"]["text"] == f"*{lead.ref}* *Jane Doe* · Acme Inc"
    dibs.slack.wait_for("chat.postMessage", count=2)
    told = [c for c in dibs.slack.calls_to("chat.postMessage") if c.args["channel"] == "U0ALICE"]
    assert [c.args["text"] for c in told] == [f"{lead.ref} added and announced."]


def test_a_form_that_carries_a_response_url_is_answered_by_it(dibs: AppDriver) -> None:
    url = dibs.slack.new_response_url("C0EAST", "U0ALICE")  # a modal with response_url_enabled gets one
    body = view_submission_body(
        "U0ALICE",
        "lead_add",
        form_values(name="Jane Doe"),
        trigger_id=dibs.slack.new_trigger_id(),
        response_urls=[{"block_id": "where", "action_id": "channel", "channel_id": "C0EAST", "response_url": url}],
    )
    assert dibs.slack_request(body).status == 200
    assert dibs.answers_to("U0ALICE") == ["L-1 added and announced."]
    assert not [c for c in dibs.slack.calls_to("chat.postMessage") if c.args["channel"] == "U0ALICE"]


def test_a_form_with_bad_values_shows_errors_on_those_fields(dibs: AppDriver) -> None:
    response = dibs.submit_view("U0ALICE", "lead_add", form_values(name="Jane Doe", email="nope", score="200"))

    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"email", "score"}
    assert (count(dibs, Lead), count(dibs, OutboxMessage)) == (0, 0)


def test_someone_outside_every_team_is_told_so(dibs: AppDriver) -> None:
    _, answer = lead_add(dibs, "U0NOBODY")
    assert answer["text"].startswith("You are not in a Dibs team yet")

    response = dibs.submit_view("U0NOBODY", "lead_add", form_values(name="Jane Doe"))
    assert response.status == 200
    [told] = dibs.slack.wait_for("chat.postMessage")
    assert told.args["channel"] == "U0NOBODY"
    assert told.args["text"].startswith("You are not in a Dibs team yet")
    assert count(dibs, Lead) == 0
    member_trigger, _ = lead_add(dibs, "U0ALICE")
    opened = dibs.slack.wait_for("views.open")
    assert [c.args["trigger_id"] for c in opened] == [member_trigger], "no form for the outsider"
