"""Wording lives in one layer: bot/ writes no Slack text, handlers/ words every fact it can get."""

from __future__ import annotations

import ast
from enum import Enum
from pathlib import Path

import pytest

from bot.errors import Clash, Forbidden, Invalid, Limit, Missing
from bot.outbox import Notice
from bot.ownership import explain
from handlers.answers import why_text
from handlers.notices import NOTICES, notice_text
from handlers.refusals import CONFLICTS, INVALID, LIMITS, NOT_ALLOWED, NOT_FOUND
from handlers.text import escape
from models import Lead

BOT = Path(__file__).resolve().parent.parent / "bot"
SLACK_MARKUP = ("<@", "<!", "<#", "/dibs ")


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string nodes that are docstrings (of the module, classes and functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _slack_text_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and any(mark in node.value for mark in SLACK_MARKUP)
    ]


def test_bot_writes_no_slack_markup() -> None:
    """Mentions, channel pings and `/dibs` hints are worded in handlers/, never in the domain."""
    found = [hit for path in sorted(BOT.glob("*.py")) for hit in _slack_text_in(path)]
    assert found == [], "Slack text in bot/ (word it in handlers/):\n" + "\n".join(found)


def test_bot_defines_no_mention_or_escape() -> None:
    names = {
        node.name
        for path in BOT.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
    }
    assert not names & {"mention", "escape", "plain"}


@pytest.mark.parametrize(
    ("reasons", "sentences"),
    [(Missing, NOT_FOUND), (Forbidden, NOT_ALLOWED), (Invalid, INVALID), (Limit, LIMITS), (Clash, CONFLICTS)],
)
def test_every_refusal_has_a_sentence(reasons: type[Enum], sentences: dict) -> None:
    assert set(sentences) == set(reasons)


def test_every_notice_has_a_renderer() -> None:
    assert set(NOTICES) == set(Notice)


def test_one_escape_neutralizes_pings_and_formatting() -> None:
    zwsp = "\u200b"
    assert escape("<!here> & <@U1> *b* _i_ ~s~ `c`") == (
        f"&lt;!here&gt; &amp; &lt;@U1&gt; *{zwsp}b*{zwsp} _{zwsp}i_{zwsp} ~{zwsp}s~{zwsp} `{zwsp}c`{zwsp}"
    )


def test_a_thread_post_queued_before_notices_keeps_its_text() -> None:
    """Rows written by the previous release carry their text and are still delivered as they are."""
    assert notice_text({"text": "<@U0BOB> withdrew from D-1."}) == "<@U0BOB> withdrew from D-1."
    worded = notice_text({"notice": "party_withdrew", "facts": {"user": "U0BOB", "dispute": "D-1"}})
    assert worded == "<@U0BOB> withdrew from D-1."


def test_why_words_a_limit_stored_as_a_sentence_by_the_previous_release() -> None:
    """Leads assigned before refusals were stored as facts keep their sentence, escaped."""
    lead = Lead(
        id=7,
        status="claimed",
        assignment={
            "kind": "manager",
            "by": "U0MGR1",
            "winner": "U0BOB",
            "reason": None,
            "over_limit": "L-7 is in territory <!here> and this team requires a territory match (yours: none).",
        },
    )
    assert why_text(explain(lead)) == (
        "L-7 was assigned to <@U0BOB> by <@U0MGR1>. This went over a limit: L-7 is in territory &lt;!here&gt; "
        "and this team requires a territory match (yours: none)."
    )
