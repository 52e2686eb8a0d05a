"""User text on every path reaches Slack escaped: statements, reasons, `why` (DESIGN §6).

A slash command delivers what a person typed as `@here` as `<!here>` (mentions arrive
escaped); posted back unescaped it would ping everyone. Each test asserts on what the Slack
stand-in received over HTTP.
"""

from __future__ import annotations

import json

from models import Dispute
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce, card_shows

ZWSP = "\u200b"
PINGS = ("<!here>", "<!channel>")


def never_sent(dibs: AppDriver) -> None:
    """No call Slack received carries a live broadcast mention."""
    for call in dibs.slack.calls:
        sent = json.dumps(call.args, ensure_ascii=False)
        assert not any(ping in sent for ping in PINGS), f"{call.method} would ping: {sent[:300]}"


def thread_message(dibs: AppDriver, containing: str) -> dict:
    """The args of a post in the dispute's thread whose text has `containing`."""
    text = dibs.message_to("C0EASTMED", containing)
    with dibs.runtime.sessions() as session:
        thread_ts = session.get_one(Dispute, 1).thread_ts
    call = next(
        c
        for c in dibs.slack.calls_to("chat.postMessage")
        if c.args["channel"] == "C0EASTMED" and c.args["text"] == text
    )
    assert thread_ts and call.args["thread_ts"] == thread_ts, "posted in the case's thread"
    return call.args


def test_a_contest_statement_arrives_escaped_in_the_thread(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    answer = dibs.reply_text(f"contest {ref} <!here> <!channel> *bold* & more", user="U0BOB")
    assert answer == f"You contested {ref}; D-1 is open and a manager will decide."
    posted = thread_message(dibs, "<@U0BOB> says:")
    assert posted["text"] == f"<@U0BOB> says: &lt;!here&gt; &lt;!channel&gt; *{ZWSP}bold*{ZWSP} &amp; more"
    never_sent(dibs)


def test_a_resolution_reason_arrives_escaped_in_the_thread_and_the_dms(dibs: AppDriver) -> None:
    assert dibs.reply_text("limits set contest_window_minutes 10", user="U0MGR1").startswith("`contest_window")
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}", user="U0ALICE")
    dibs.reply_text(f"claim {ref}", user="U0BOB")
    answer = dibs.reply_text("resolve D-1 award <@U0BOB|bob> <!channel> said _so_", user="U0MGR1")
    assert answer == "D-1 resolved: award. The parties have been told."
    outcome = f"D-1 resolved by <@U0MGR1>: {ref} awarded to <@U0BOB>. Reason: &lt;!channel&gt; said _{ZWSP}so_{ZWSP}"
    assert thread_message(dibs, "D-1 resolved")["text"] == outcome
    assert dibs.message_to("U0ALICE", "D-1 resolved") == outcome
    assert dibs.message_to("U0BOB", "D-1 resolved") == outcome
    card_shows(dibs, "Awarded to <@U0BOB>")
    never_sent(dibs)


def test_an_assignment_reason_is_escaped_in_why(dibs: AppDriver) -> None:
    ref = announce(dibs)
    answer = dibs.reply_text(f"assign {ref} <@U0ALICE|alice> <!here> knows *them*", user="U0MGR1")
    assert answer.startswith(f"{ref} is now assigned to <@U0ALICE>.")
    why = dibs.reply_text(f"why {ref}", user="U0BOB")
    assert why == (f"{ref} was assigned to <@U0ALICE> by <@U0MGR1>. Reason: &lt;!here&gt; knows *{ZWSP}them*{ZWSP}")
    dibs.message_to("U0ALICE", f"<@U0MGR1> assigned {ref} to you")
    never_sent(dibs)


def test_a_release_reason_shows_escaped_on_the_old_card(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}")
    card_shows(dibs, "Claimed by <@U0ALICE>")
    assert dibs.reply_text(f"release {ref} <!channel> wrong region") == (
        f"{ref} is back with the team and has been re-announced."
    )
    card_shows(dibs, "released by <@U0ALICE> — re-announced below. Reason: &lt;!channel&gt; wrong region")
    never_sent(dibs)


def test_a_lost_reason_shows_escaped_on_the_card(dibs: AppDriver) -> None:
    ref = announce(dibs)
    dibs.reply_text(f"claim {ref}")
    assert dibs.reply_text(f"lost {ref} <!here> budget ~cut~") == f"{ref} closed as lost."
    card_shows(dibs, f":x: Lost by <@U0ALICE> — &lt;!here&gt; budget ~{ZWSP}cut~{ZWSP}")
    never_sent(dibs)
