"""Mediation end to end: the case in Slack, buttons, modals, the thread and the lead card."""

from __future__ import annotations

import json
import logging
import time

import pytest
from sqlalchemy import select

from models import Dispute, OutboxMessage
from sandbox.signing import event_body
from tests.fixtures_app import AppDriver, eventually
from tests.test_claims_e2e import announce, card_shows


def case_message(dibs: AppDriver) -> dict:
    call = next(c for c in dibs.slack.wait_for("chat.postMessage", count=2) if c.args["channel"] == "C0EASTMED")
    return call.args


def click(dibs: AppDriver, user: str, action_id: str, value: str, channel: str = "C0EASTMED") -> None:
    assert dibs.click(user, action_id, value, channel).status == 200


def open_dispute(dibs: AppDriver) -> str:
    """L-1 claimed by Alice, then Bob inside the contest window: D-1 is open."""
    assert dibs.reply_text("limits set contest_window_minutes 10", user="U0MGR1").startswith("`contest_window")
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    assert dibs.reply_text(f"claim {ref}", user="U0BOB").endswith("so D-1 is open and a manager will decide.")
    return ref


@pytest.fixture
def dispute(dibs: AppDriver) -> str:
    return open_dispute(dibs)


def test_the_case_is_laid_out_for_the_mediator(dibs: AppDriver, dispute: str) -> None:
    case = case_message(dibs)
    text = json.dumps(case["blocks"], ensure_ascii=False)
    assert "<@U0MGR1>, please decide. <@U0ALICE>, <@U0BOB> both want the same lead" in text
    assert "claimed Mon 10:00 (first) · load 1/5 active · fair-share ratio" in text
    assert "Policy suggests: <@U0ALICE> (first claim)." in text
    actions = [e for b in case["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in actions] == [
        "Award to Alice Adams",  # display names, as users.info gives them
        "Award to Bob Brown",
        "Split credit…",
        "Reassign…",
        "Withdraw",
    ]
    card_shows(dibs, "Disputed — D-1, mediator <@U0MGR1>")
    assert "*D-1* on L-1" in json.dumps(dibs.command("disputes", user="U0MGR1").json())


def test_award_button_settles_it_in_the_thread(dibs: AppDriver, dispute: str) -> None:
    click(dibs, "U0BOB", "dispute_award:U0BOB", "1:U0BOB")  # a party may not decide
    assert dibs.answers_to("U0BOB") == ["Only a manager of the team can resolve a dispute."]
    click(dibs, "U0MGR1", "dispute_award:U0BOB", "1:U0BOB")
    outcome = f"D-1 resolved by <@U0MGR1>: {dispute} awarded to <@U0BOB>."
    assert dibs.answers_to("U0MGR1") == ["D-1 resolved: awarded to <@U0BOB>."], "told where they clicked"
    thread = dibs.message_to("C0EASTMED", outcome)
    posted = next(
        c
        for c in dibs.slack.calls_to("chat.postMessage")
        if c.args["channel"] == "C0EASTMED" and c.args.get("text") == thread
    )
    with dibs.runtime.sessions() as session:
        case_ts = session.get_one(Dispute, 1).thread_ts
    assert case_ts and posted.args["thread_ts"] == case_ts, "the outcome is posted in the case's thread"
    dibs.message_to("U0ALICE", outcome)
    dibs.message_to("U0BOB", outcome)
    card_shows(dibs, "Awarded to <@U0BOB>")

    def case_updates() -> list[dict]:  # its lane goes side by side with the DMs' and the card's
        return [c.args for c in dibs.slack.calls_to("chat.update") if c.args["channel"] == "C0EASTMED"]

    assert eventually(lambda: bool(case_updates()))
    assert '"type": "actions"' not in json.dumps(case_updates()[0]["blocks"])


def award_buttons(dibs: AppDriver, parties: int) -> list[dict]:
    """The Award buttons of the newest case message (posted or updated) once it shows every party."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        cases = [
            c.args
            for c in dibs.slack.calls
            if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == "C0EASTMED"
        ]
        if cases and "blocks" in cases[-1]:
            actions = [e for b in cases[-1]["blocks"] if b["type"] == "actions" for e in b["elements"]]
            awards = [e for e in actions if e["text"]["text"].startswith("Award to")]
            if len(awards) == parties:
                ids = [e["action_id"] for e in actions]
                assert len(set(ids)) == len(ids), f"Slack refuses repeated action_ids in a block: {ids}"
                return awards
        time.sleep(0.05)
    raise AssertionError(f"no case message with {parties} Award buttons")


@pytest.mark.parametrize("winner", [0, 1, 2])
def test_each_award_button_of_a_three_party_case_works(dibs: AppDriver, dispute: str, winner: int) -> None:
    dibs.reply_text(f"claim {dispute}", user="U0CAROL")
    buttons = award_buttons(dibs, 3)
    chosen = buttons[winner]
    user = ["U0ALICE", "U0BOB", "U0CAROL"][winner]
    click(dibs, "U0MGR1", chosen["action_id"], chosen["value"])
    dibs.message_to("C0EASTMED", f"D-1 resolved by <@U0MGR1>: {dispute} awarded to <@{user}>.")
    card_shows(dibs, f"Awarded to <@{user}>")


def test_award_buttons_name_the_parties_as_slack_does(dibs: AppDriver) -> None:
    at_start = len(dibs.slack.calls_to("users.info"))  # the reps' away statuses, read at start
    dibs.slack.add_user("U0ALICE", display_name="Alice Adams", real_name="Alice Anne Adams")
    dibs.slack.add_user("U0BOB", display_name="", real_name="Bob <Brown> & Co")
    ref = open_dispute(dibs)
    assert [b["text"]["text"] for b in award_buttons(dibs, 2)] == ["Award to Alice Adams", "Award to Bob <Brown> & Co"]

    user = {"id": "U0ALICE", "name": "alice", "profile": {"display_name": "Ali", "real_name": "Alice Adams"}}
    event = event_body({"type": "user_change", "user": user}, "Ev0ALICE")
    assert dibs.slack_request(event, content_type="application/json").status == 200
    dibs.slack.fail_next("users.info", error="user_not_found")  # Carol is unknown to Slack
    dibs.reply_text(f"claim {ref}", user="U0CAROL")
    labels = [b["text"]["text"] for b in award_buttons(dibs, 3)]
    assert labels == ["Award to Ali", "Award to Bob <Brown> & Co", "Award to party 3"], "never a raw id"
    asked = [c.args["user"] for c in dibs.slack.calls_to("users.info")[at_start:]]
    assert asked == ["U0ALICE", "U0BOB", "U0CAROL"]


def outbox_rows(dibs: AppDriver) -> list[tuple[str, str, str]]:
    with dibs.runtime.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.dispute_id.is_not(None)).order_by("id"))
        return [(row.kind, row.status, row.last_error or "") for row in rows]


def test_a_refused_case_message_fails_its_thread_posts_and_refreshes_at_once(
    dibs: AppDriver, caplog: pytest.LogCaptureFixture
) -> None:
    dibs.reply_text("limits set contest_window_minutes 10", user="U0MGR1")
    ref = announce(dibs)
    dibs.message_to("C0EAST", f"New lead: {ref}")
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    dibs.clock.advance(minutes=11)
    dibs.slack.fail_next("chat.postMessage", error="invalid_blocks", channel="C0EASTMED")  # refuses the case message
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "they called me back"}}}
    assert dibs.submit_view("U0BOB", "contest_form", reason, private_metadata="1").status == 200
    assert eventually(lambda: [status for _, status, _ in outbox_rows(dibs)] == ["failed", "failed"])
    assert dibs.reply_text("resolve D-1 award <@U0BOB>", user="U0MGR1").startswith("D-1 resolved")

    def all_failed() -> bool:
        rows = outbox_rows(dibs)
        return len(rows) == 4 and all(status == "failed" for _, status, _ in rows)

    assert eventually(all_failed, timeout=3), outbox_rows(dibs)
    [case, *dependents] = outbox_rows(dibs)
    assert case[0] == "dispute_case" and "invalid_blocks" in case[2]
    assert sorted(kind for kind, _, _ in dependents) == ["dispute_refresh", "thread_post", "thread_post"]
    assert all("the case message of D-1 was never posted" in error for _, _, error in dependents), dependents
    assert [c.args["channel"] for c in dibs.slack.calls_to("chat.postMessage")].count("C0EASTMED") == 1
    metrics = dibs.request("GET", "/metrics").text
    assert 'dibs_outbox_failed_messages{kind="dispute_case"} 1.0' in metrics
    assert 'dibs_outbox_failed_messages{kind="thread_post"} 2.0' in metrics
    assert 'dibs_outbox_failed_messages{kind="dispute_refresh"} 1.0' in metrics
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("(thread_post) failed" in line and "case message of D-1" in line for line in logged), logged


def test_split_by_command_and_its_validation(dibs: AppDriver, dispute: str) -> None:
    assert "The shares add up to 90%, not 100%" in dibs.reply_text(
        "resolve D-1 split <@U0ALICE|a> 60 <@U0BOB|b> 30", user="U0MGR1"
    )
    assert "is not a member of this team" in dibs.reply_text(
        "resolve D-1 split <@U0ALICE|a> 50 <@U0WREP|w> 50", user="U0MGR1"
    )
    assert dibs.reply_text("resolve D-1 split <@U0ALICE|a> 60 <@U0BOB|b> 40 joint pursuit", user="U0MGR2") == (
        "D-1 resolved: split. The parties have been told."
    )
    card_shows(dibs, "Split between <@U0ALICE> 60% · <@U0BOB> 40%")
    assert dibs.reply_text("resolve D-1 award <@U0BOB>", user="U0MGR1").startswith(
        "D-1 was already resolved by <@U0MGR2>: split."
    )
    assert dibs.reply_text("resolve D-9 award <@U0BOB>", user="U0MGR1").startswith("There is no dispute D-9")
    assert dibs.reply_text("resolve D-1 award <@U0BOB>", user="U0WMGR").startswith("There is no dispute D-1")


def test_split_form(dibs: AppDriver, dispute: str) -> None:
    click(dibs, "U0MGR1", "dispute_split", "1")
    form = dibs.slack.wait_for("views.open")[0].args["view"]
    assert form["callback_id"] == "dispute_split_form" and form["private_metadata"] == "1"
    initial = [b["element"].get("initial_user") for b in form["blocks"] if b["block_id"].startswith("partner_")]
    assert initial[:2] == ["U0ALICE", "U0BOB"]

    def values(alice: int, bob: int) -> dict:
        return {
            "partner_0": {"value": {"type": "users_select", "selected_user": "U0ALICE"}},
            "percent_0": {"value": {"type": "number_input", "value": str(alice)}},
            "partner_1": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
            "percent_1": {"value": {"type": "number_input", "value": str(bob)}},
            "reason": {"value": {"type": "plain_text_input", "value": "both worked it"}},
        }

    bad = dibs.submit_view("U0MGR1", "dispute_split_form", values(50, 40), private_metadata="1")
    assert bad.json() == {"response_action": "errors", "errors": {"percent_0": "The shares add up to 90%, not 100%"}}
    good = dibs.submit_view("U0MGR1", "dispute_split_form", values(70, 30), private_metadata="1")
    assert (good.status, good.body) == (200, b"")
    card_shows(dibs, "Split between <@U0ALICE> 70% · <@U0BOB> 30%")


def test_withdraw_button_leaves_the_lead_with_the_other_party(dibs: AppDriver, dispute: str) -> None:
    click(dibs, "U0ALICE", "dispute_withdraw", "1")
    assert dibs.answers_to("U0ALICE") == ["You withdrew from D-1."]
    dibs.message_to("C0EASTMED", "<@U0ALICE> withdrew from D-1.")
    dibs.message_to("U0BOB", f"{dispute} goes to <@U0BOB>, the only party left")
    card_shows(dibs, "Claimed by <@U0BOB>")


def test_contest_button_after_the_window(dibs: AppDriver) -> None:
    dibs.reply_text("limits set contest_window_minutes 10", user="U0MGR1")
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    dibs.clock.advance(minutes=11)
    refused = dibs.command(f"claim {ref}", user="U0BOB").json()
    contest = refused["blocks"][0]["accessory"]
    assert (contest["action_id"], contest["value"]) == ("contest_lead", "1")
    click(dibs, "U0BOB", "contest_lead", "1", channel="C0EAST")
    form = dibs.slack.wait_for("views.open")[0].args["view"]
    assert form["callback_id"] == "contest_form"
    reason = {"reason": {"value": {"type": "plain_text_input", "value": "they called me back"}}}
    assert dibs.submit_view("U0BOB", "contest_form", reason, private_metadata="1").status == 200
    dibs.message_to("U0BOB", f"You contested {ref}; D-1 is open and a manager will decide.")
    dibs.message_to("C0EASTMED", "<@U0BOB> says: they called me back")


def test_another_teams_split_button_shows_no_parties(dibs: AppDriver, dispute: str) -> None:
    click(dibs, "U0WMGR", "dispute_split", "1", channel="C0WEST")  # West's manager, East's D-1
    assert dibs.answers_to("U0WMGR") == ["There is no dispute D-1 in your team. `/dibs disputes` lists the open ones."]
    assert dibs.slack.calls_to("views.open") == [], "no form naming East's parties"
