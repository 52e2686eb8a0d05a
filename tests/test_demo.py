"""`dibs demo`: the week plays end to end and shows what a team would see in Slack."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import build_runtime
from sandbox import demo
from sandbox.slack_web import SlackStandIn

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class DemoRun:
    code: int
    out: str
    err: str
    out_dir: Path
    cwd: Path
    slack: SlackStandIn


def play(tmp_path_factory: pytest.TempPathFactory, steps: list[demo.Step] | None = None) -> DemoRun:
    """Run the demo from an empty working directory, keeping its output and the stand-in it used."""
    cwd, out_dir = tmp_path_factory.mktemp("cwd"), tmp_path_factory.mktemp("out") / "demo-out"
    standins: list[SlackStandIn] = []

    def recorded_standin() -> SlackStandIn:
        standins.append(SlackStandIn())
        return standins[-1]

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stdout(out), redirect_stderr(err):
        patch.setattr(demo, "SlackStandIn", recorded_standin)
        if steps is not None:
            patch.setattr(demo, "STEPS", steps)
        patch.chdir(cwd)
        code = demo.run_demo(out_dir, build_runtime)
    return DemoRun(code, out.getvalue(), err.getvalue(), out_dir, cwd, standins[0])


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return play(tmp_path_factory)


def test_the_week_plays_through_and_leaves_nothing_behind(week: DemoRun) -> None:
    assert (week.code, week.err) == (0, ""), week.out[-2000:]
    assert f"[{len(demo.STEPS)}/{len(demo.STEPS)}] The weekly fairness digest" in week.out
    assert list(week.cwd.iterdir()) == [], "no dibs.db (or anything else) in the working directory"
    with pytest.raises(RuntimeError, match="not started"):
        _ = week.slack.api_url


def test_shows_help_and_lead_cards_with_a_claim_button(week: DemoRun) -> None:
    assert "@Alice Adams types: /dibs help" in week.out
    assert "• `/dibs claim L-n` — claim a lead" in week.out
    assert "• `/dibs assign L-n @rep [reason]`" in week.out
    assert "│ L-1 Jane Doe · Acme Robotics   [Claim]" in week.out
    assert "│ Territory: NY · Score: 70 · Source: web · Value: $12,000" in week.out
    assert "↻ updated card in #C0DEMO: L-1 Jane Doe · Acme Robotics — 👤 Claimed by @Alice Adams" in week.out


def test_a_burst_is_grouped_up_to_ten_cards_a_message(week: DemoRun) -> None:
    announcements = [
        call.args["text"] for call in week.slack.calls_to("chat.postMessage") if "new lead" in call.args["text"].lower()
    ]
    cards = [len(text.split(":", 1)[1].split(",")) for text in announcements]
    # each of the 18 leads announced once, L-9 again when its SLA expired, L-18 after two of its three misses
    assert sum(cards) == 18 + 1 + 2
    assert 1 < max(cards) <= 10, "grouped, never more than 10 cards to a message"


def test_a_hostile_lead_name_is_shown_as_text_and_never_pings(week: DemoRun) -> None:
    assert "│ L-2 <!channel> FREE iPads, click now · *Totally Legit* & Sons   [Claim]" in week.out
    sent = [json.dumps(call.args) for call in week.slack.calls_to("chat.postMessage")]
    assert any("&lt;!channel&gt; FREE iPads" in text for text in sent)
    assert not any("<!channel>" in text for text in sent)


def test_shows_the_limit_refusal_the_draw_and_the_manager_override(week: DemoRun) -> None:
    assert (
        "(only @Alice Adams sees) You can't claim L-8. "
        "You hold 4 of 4 active claims; release one or close one as won/lost."
    ) in week.out
    assert "✉️  DM to @Carol Chen: L-3 is yours: you won the fair-start draw among 2." in week.out
    assert "Winner: @Carol Chen" in week.out
    assert "Auto-assigned to @" in week.out
    assert "↻ updated card in #C0DEMO: L-9 expired by @Bob Brown — re-announced below." in week.out
    assert "⚠️ This is over their limits: You hold 4 of 4 active claims" in week.out


def test_shows_a_dispute_opened_and_settled_with_a_split(week: DemoRun) -> None:
    assert "💬 #C0DEMOMED — D-1: L-17 is disputed by @Alice Adams, @Bob Brown" in week.out
    assert "Account held by @Alice Adams since 23 Nov. Policy suggests: @Alice Adams (account owner)." in week.out
    assert "[Award to Alice Adams]  [Award to Bob Brown]  [Split credit…]  [Reassign…]  [Withdraw]" in week.out
    assert "— 👤 Split between @Alice Adams 60% · @Bob Brown 40%" in week.out
    assert (
        "💬 #C0DEMOMED (in thread) — D-1 resolved by @Maya Patel: L-17 split: @Alice Adams 60% · @Bob Brown 40%."
        in week.out
    )


def test_ends_with_the_digest_and_its_chart(week: DemoRun) -> None:
    assert "💬 #C0DEMO — Fairness digest for Sales East, 2026-W48: 17 leads in" in week.out
    assert "│ == Fairness digest · Sales East · 2026-W48 ==" in week.out
    chart = week.out_dir / "digest-chart.png"
    assert f"saved at {chart}" in week.out
    assert chart.read_bytes().startswith(PNG_SIGNATURE)


def test_a_lead_missed_by_three_reps_reaches_the_managers(week: DemoRun) -> None:
    assert "(only @Bob Brown sees) Your hours: around the clock (the team's), America/New_York" in week.out
    told = (
        "L-18 missed its contact SLA 3 times (@Bob Brown, @Carol Chen, @Dave Diaz), so it comes to the managers "
        "instead of the channel. Assign it with `/dibs assign L-18 @rep`."
    )
    for shown in ("✉️  DM to @Maya Patel: ", "✉️  DM to @Omar Haddad: ", "💬 #C0DEMO (in thread) — "):
        assert shown + told in week.out
    assert "↻ updated card in #C0DEMO: L-18 expired by @Dave Diaz — sent to the managers." in week.out
    assert "(only @Maya Patel sees) L-18 has no owner: its contact SLA was missed 3 times" in week.out


def test_a_failing_step_is_named_in_one_line_and_everything_stops(tmp_path_factory: pytest.TempPathFactory) -> None:
    def card_never_updates(_: demo.Demo) -> None:
        """A step that breaks"""
        raise demo.DemoError("the card never updated")

    run = play(tmp_path_factory, [demo.dibs_starts, card_never_updates])
    assert run.code == 1
    assert run.err.strip() == "dibs demo failed in [2/2] A step that breaks: the card never updated"
    with pytest.raises(RuntimeError, match="not started"):
        _ = run.slack.api_url
    assert list(run.cwd.iterdir()) == []


def test_the_demos_json_log_parses_line_by_line_and_holds_no_secret_or_contact(tmp_path: Path) -> None:
    """`LOG_FORMAT=json dibs demo`, as an operator's log pipeline would read it."""
    env = {**os.environ, "LOG_FORMAT": "json"}
    env.pop("DATABASE_URL", None)
    dibs = str(Path(sys.executable).parent / "dibs")
    run = subprocess.run(
        [dibs, "demo", "--out", str(tmp_path / "out")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) > 20, "the demo's requests are logged"
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(event.get("lead") == "L-18" for event in events), "lead refs are in the log"
    assert not re.search(r"xox[bpa]-|Bearer |@[a-z0-9-]+\.(com|io)\b", run.stderr), "no token, credential or email"
    assert "olivia@umbrapharma.com" in run.stdout, "the demo did show the contact the log leaves out"
