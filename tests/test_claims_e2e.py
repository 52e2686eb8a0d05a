"""Claiming end to end: a lead arrives, reps click and type, Slack shows the outcome."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from handlers.delivery import Deliverer
from models import OutboxMessage
from tests.fixtures_app import AppDriver


def announce(dibs: AppDriver, **fields: object) -> str:
    response = dibs.post_lead(
        {
            "name": "Jane Doe",
            "company": "Acme Corp",
            "email": "jane@acme.com",
            "territory": "NY",
            "score": 70,
            "source": "web",
            "value": 12000,
        }
        | fields
    )
    assert response.status == 201, response.text
    return response.json()["id"]


def card_shows(dibs: AppDriver, expected: str, timeout: float = 5.0) -> str:
    """Wait until a card update shows `expected`; return that update's blocks as text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for update in reversed(dibs.slack.calls_to("chat.update")):
            text = json.dumps(update.args["blocks"], ensure_ascii=False)
            if expected in text:
                return text
        time.sleep(0.05)
    shown = [json.dumps(u.args["blocks"])[:300] for u in dibs.slack.calls_to("chat.update")]
    raise AssertionError(f"no card update showed {expected!r}; updates were {shown}")


def test_button_claim_makes_the_owner_and_updates_the_card(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.message_to("C0EAST", f"New lead: {ref}")
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    [answer] = dibs.slack.wait_for("response_url")
    assert (answer.args["user"], answer.args["channel"]) == ("U0ALICE", "C0EAST")
    assert (answer.args["response_type"], answer.args["replace_original"]) == ("ephemeral", False)
    assert answer.args["text"].startswith(f"{ref} is yours.")
    card = card_shows(dibs, "Claimed by <@U0ALICE>")
    assert '"action_id": "claim_lead"' not in card

    assert dibs.click_claim(ref, "U0BOB").status == 200
    [refusal] = dibs.answers_to("U0BOB")
    assert refusal.startswith(f"{ref} is held by <@U0ALICE> since")
    assert dibs.slack.calls_to("chat.postEphemeral") == [], "Slack refuses ephemerals where Dibs is not a member"


def test_claim_from_leads_typed_in_a_dm_between_two_people_is_answered(dibs: AppDriver) -> None:
    ref = announce(dibs)
    people_dm = dibs.slack.add_dm("U0ALICE", "U0BOB")  # the bot can neither see nor join it
    assert dibs.command("leads", channel=people_dm).json()["text"] == "1 open lead(s)"
    assert dibs.click_claim(ref, "U0ALICE", channel=people_dm).status == 200
    assert dibs.answers_to("U0ALICE")[0].startswith(f"{ref} is yours.")
    assert [c.args["channel"] for c in dibs.slack.responses_to("U0ALICE")] == [people_dm]


def test_an_expired_response_url_falls_back_to_a_dm(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.message_to("C0EAST", f"New lead: {ref}")
    dibs.runtime.loops[0].stop()  # hold the outbox until the click's response_url has expired
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    dibs.slack.expire_response_urls()
    Deliverer(dibs.runtime.client, dibs.runtime.sessions, dibs.runtime.metrics, dibs.clock).drain(
        lambda: bool(dibs.slack.calls_to("response_url")) and dibs.slack.dm_with("U0ALICE") is not None, timeout=10
    )
    [gone] = dibs.slack.calls_to("response_url")
    assert (gone.status, gone.error) == (404, "expired_url")
    assert dibs.message_to("U0ALICE", f"{ref} is yours.")


def test_an_answer_queued_over_30_minutes_ago_goes_by_dm(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.message_to("C0EAST", f"New lead: {ref}")
    dibs.runtime.loops[0].stop()
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    dibs.clock.advance(minutes=31)
    Deliverer(dibs.runtime.client, dibs.runtime.sessions, dibs.runtime.metrics, dibs.clock).drain(
        lambda: dibs.slack.dm_with("U0ALICE") is not None, timeout=10
    )
    assert dibs.message_to("U0ALICE", f"{ref} is yours.")
    assert dibs.slack.calls_to("response_url") == [], "Slack would refuse a response_url that old"


def test_commands_through_the_lifecycle(dibs: AppDriver) -> None:
    ref = announce(dibs)
    assert dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours.")
    assert "1/5 active" in dibs.reply_text("mine")
    assert dibs.reply_text(f"why {ref}").startswith(f"{ref} went to <@U0ALICE>: the first valid claim")
    assert dibs.reply_text(f"contacted {ref}").startswith(f"{ref} marked contacted.")
    assert dibs.reply_text(f"won {ref} $12,500") == f":trophy: {ref} closed as won for $12,500.00."
    card_shows(dibs, "Won by <@U0ALICE> · $12,500")
    assert dibs.reply_text(f"lost {ref}") == f"{ref} is closed."


def test_release_reannounces_and_retires_the_old_card(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}")
    card_shows(dibs, "Claimed by <@U0ALICE>")
    assert dibs.reply_text(f"release {ref} wrong region") == (f"{ref} is back with the team and has been re-announced.")
    posts = dibs.slack.wait_for("chat.postMessage", count=2)
    assert '"action_id": "claim_lead"' in json.dumps(posts[1].args["blocks"]), "a fresh card to claim"
    card_shows(dibs, "released by <@U0ALICE> — re-announced below")


def test_limit_refusal_and_manager_assignment(dibs: AppDriver) -> None:
    assert dibs.reply_text("limits set max_active_claims 1", user="U0MGR1") == (
        "`max_active_claims` is now 1 for Sales East."
    )
    first, second = announce(dibs, external_id="a"), announce(dibs, external_id="b", name="Other")
    dibs.reply_text(f"claim {first}")
    assert dibs.reply_text(f"claim {second}") == (
        f"You can't claim {second}. You hold 1 of 1 active claims; release one or close one as won/lost."
    )
    assert dibs.reply_text(f"assign {second} <@U0ALICE|alice>") == "`/dibs assign` is for managers of the team."
    answer = dibs.reply_text(f"assign {second} <@U0ALICE|alice> key account", user="U0MGR1")
    assert answer.startswith(f"{second} is now assigned to <@U0ALICE>.")
    assert "over their limits: You hold 1 of 1 active claims" in answer
    dibs.message_to("U0ALICE", f"<@U0MGR1> assigned {second} to you")


def test_fair_start_draw_end_to_end(dibs: AppDriver) -> None:
    dibs.reply_text("limits set fair_start_seconds 30", user="U0MGR1")
    ref = announce(dibs)
    assert dibs.reply_text(f"claim {ref}", user="U0ALICE").startswith(f"You're in the fair-start draw for {ref}")
    dibs.reply_text(f"claim {ref}", user="U0BOB")
    card_shows(dibs, "Fair start: 2 claim(s) so far")
    dibs.clock.advance(seconds=31)
    card = card_shows(dibs, "Claimed by")
    winner = "U0ALICE" if "Claimed by <@U0ALICE>" in card else "U0BOB"
    loser = ({"U0ALICE", "U0BOB"} - {winner}).pop()
    dibs.message_to(winner, f"{ref} is yours: you won the fair-start draw among 2")
    dibs.message_to(loser, f"{ref} went to <@{winner}> in the fair-start draw among 2")
    assert f"Winner: <@{winner}>" in dibs.reply_text(f"why {ref}", user=loser)


def test_bad_arguments_change_nothing(dibs: AppDriver) -> None:
    ref = announce(dibs)
    assert dibs.reply_text("claim L-99999") == (
        "There is no lead L-99999 in your team. `/dibs leads` lists the open ones."
    )
    assert dibs.reply_text(f"won {ref} lots").startswith("lots is not an amount")
    assert dibs.reply_text("away until tomorrow").startswith("tomorrow is not a date like 2026-12-01")
    assert "is not a limit" in dibs.reply_text("limits set colour 3", user="U0MGR1")
    assert "max_active_claims input should be greater than or equal to 0" in dibs.reply_text(
        "limits set max_active_claims -2", user="U0MGR1"
    )
    assert dibs.reply_text(f"claim {ref}", user="U0WREP").startswith(f"There is no lead {ref} in your team")
    assert dibs.reply_text("mine", user="U0STRANGER").startswith("You are not in a Dibs team yet")
    assert "<!channel>" not in dibs.reply_text("claim <!channel>")
    assert dibs.reply_text("leads").startswith("1 open lead(s)")


def test_away_and_back(dibs: AppDriver) -> None:
    ref = announce(dibs)
    assert dibs.reply_text("away until 2026-11-30") == (
        "You're away until 2026-11-30: no leads come your way and your fair share pauses."
    )
    assert "You are marked away until Mon 30 Nov 00:00 EST" in dibs.reply_text(f"claim {ref}")
    assert dibs.reply_text("back") == "Welcome back: you can claim leads again."
    assert dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours.")


def test_team_membership_from_slack(dibs: AppDriver) -> None:
    assert dibs.reply_text("team add <@U0NEWREP|nina> rep", user="U0MGR1") == "<@U0NEWREP> joined Sales East as a rep."
    assert dibs.reply_text("mine", user="U0NEWREP").startswith("Your claims: 0")
    assert "already in team west" in dibs.reply_text("team add <@U0WREP> rep", user="U0MGR1")
    assert dibs.reply_text("team remove <@U0NEWREP>", user="U0MGR1") == (
        "<@U0NEWREP> no longer takes leads in Sales East."
    )
    assert dibs.reply_text("mine", user="U0NEWREP").startswith("You are not in a Dibs team yet")


def test_app_home_is_published_once_per_event(dibs: AppDriver) -> None:
    event = {
        "type": "event_callback",
        "event_id": "Ev0HOME1",
        "team_id": "T0DIBSTEST",
        "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
    }
    body = json.dumps(event).encode()
    assert dibs.slack_request(body, content_type="application/json").status == 200
    assert dibs.slack_request(body, content_type="application/json").status == 200  # Slack's retry
    published = dibs.slack.wait_for("views.publish")
    assert published[0].args["user_id"] == "U0ALICE"
    assert "Your claims" in json.dumps(published[0].args["view"])
    with dibs.runtime.sessions() as session:
        queued = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "publish_home")
        )
    assert queued == 1, "a retried event does not act twice"
