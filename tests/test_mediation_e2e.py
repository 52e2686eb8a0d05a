"""Mediation end to end: the case in Slack, buttons, modals, the thread and the lead card."""

from __future__ import annotations

import json

import pytest

from models import Dispute
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce, card_shows


def case_message(dibs: AppDriver) -> dict:
    call = next(c for c in dibs.slack.wait_for("chat.postMessage", count=2) if c.args["channel"] == "C0EASTMED")
    return call.args


def click(dibs: AppDriver, user: str, action_id: str, value: str, channel: str = "C0EASTMED") -> None:
    assert dibs.click(user, action_id, value, channel).status == 200


@pytest.fixture
def dispute(dibs: AppDriver) -> str:
    """L-1 claimed by Alice, then Bob inside the contest window: D-1 is open."""
    assert dibs.reply_text("limits set contest_window_minutes 10", user="U0MGR1").startswith("`contest_window")
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    assert dibs.reply_text(f"claim {ref}", user="U0BOB").endswith("so D-1 is open and a manager will decide.")
    return ref


def test_the_case_is_laid_out_for_the_mediator(dibs: AppDriver, dispute: str) -> None:
    case = case_message(dibs)
    text = json.dumps(case["blocks"], ensure_ascii=False)
    assert "<@U0MGR1>, please decide. <@U0ALICE>, <@U0BOB> both want the same lead" in text
    assert "claimed Mon 10:00 (first) · load 1/5 active · fair-share ratio" in text
    assert "Policy suggests: <@U0ALICE> (first claim)." in text
    actions = [e for b in case["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in actions] == [
        "Award to U0ALICE",
        "Award to U0BOB",
        "Split credit…",
        "Reassign…",
        "Withdraw",
    ]
    card_shows(dibs, "Disputed — D-1, mediator <@U0MGR1>")
    assert "*D-1* on L-1" in json.dumps(dibs.command("disputes", user="U0MGR1").json())


def test_award_button_settles_it_in_the_thread(dibs: AppDriver, dispute: str) -> None:
    click(dibs, "U0BOB", "dispute_award", "1:U0BOB")  # a party may not decide
    assert dibs.answers_to("U0BOB") == ["Only a manager of the team can resolve a dispute."]
    click(dibs, "U0MGR1", "dispute_award", "1:U0BOB")
    outcome = f"D-1 resolved by <@U0MGR1>: {dispute} awarded to <@U0BOB>."
    assert dibs.answers_to("U0MGR1") == ["D-1 resolved: awarded to <@U0BOB>."], "told where they clicked"
    thread = dibs.message_to("C0EASTMED", outcome)
    posted = next(
        c
        for c in dibs.slack.calls_to("chat.postMessage")
        if c.args["channel"] == "C0EASTMED" and c.args.get("text") == thread
    )
    with dibs.runtime.sessions() as session:
        case_ts = session.get(Dispute, 1).thread_ts
    assert case_ts and posted.args["thread_ts"] == case_ts, "the outcome is posted in the case's thread"
    dibs.message_to("U0ALICE", outcome)
    dibs.message_to("U0BOB", outcome)
    card_shows(dibs, "Awarded to <@U0BOB>")
    resolved_case = next(c for c in dibs.slack.calls_to("chat.update") if c.args["channel"] == "C0EASTMED")
    assert '"type": "actions"' not in json.dumps(resolved_case.args["blocks"])


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
