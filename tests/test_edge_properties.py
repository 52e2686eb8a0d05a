"""Property tests of the edge (issue 10): whatever a person types after `/dibs`, and whatever JSON
a CRM posts, the answer is a text or a 4xx, never a 5xx and never a traceback in the log.

Examples are drawn from a fixed seed so `make test` is repeatable and quick; set
HYPOTHESIS_PROFILE=fuzz to search much further.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.intake_routes import MAX_BODY_BYTES
from handlers.slack_app import COMMANDS
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce

settings.register_profile(
    "edge",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("fuzz", parent=settings.get_profile("edge"), max_examples=2000, derandomize=False)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "edge"))

USERS = ["U0ALICE", "U0ALICE", "U0MGR1", "U0BOB", "U0WREP", "U0STRANGER"]  # Alice holds L-1

# ---- what people type --------------------------------------------------------------------------

# Characters that have broken text handling somewhere: NUL (PostgreSQL refuses it), other
# controls, a line separator, a byte-order mark, a right-to-left override, non-ASCII digits.
odd_characters = st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\ufeff", "\u202e", "²", "٣", "😀"])
odd_text = st.text(alphabet=st.characters(codec="utf-8") | odd_characters, max_size=30)
words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Zs", "Cc"]) | odd_characters, min_size=1, max_size=12
)

numbers = st.one_of(
    st.integers(min_value=-5, max_value=200).map(str),
    st.integers(min_value=2**31 - 2, max_value=2**31 + 2).map(str),
    st.integers(min_value=0, max_value=10**30).map(str),
    st.text("0123456789", min_size=20, max_size=5000),
    words,
)
leads = st.sampled_from(["L-1", "L-2", "l-1"]) | st.tuples(st.sampled_from(["L-", "L", "D-"]), numbers).map("".join)
disputes = st.sampled_from(["D-1"]) | st.tuples(st.sampled_from(["D-", "L-"]), numbers).map("".join)
people = st.one_of(
    st.sampled_from([f"<@{u}>" for u in USERS] + ["<@U0ALICE|alice>", "<!channel>", "<@>", "<#C0EAST>"]),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=80).map(lambda s: f"<@U{s}>"),
)
amounts = numbers | st.tuples(st.sampled_from(["$", ""]), numbers, st.sampled_from(["", "k", "m", ".5"])).map("".join)
weeks = (
    st.tuples(
        st.integers(min_value=0, max_value=9999).map(lambda y: f"{y:04d}"),
        st.sampled_from(["-W", "W", "-w"]),
        st.integers(min_value=0, max_value=120).map(str),
    ).map("".join)
    | words
)
dates = st.dates().map(str) | words
limits = st.sampled_from(["max_active_claims", "contest_window_minutes", "daily_claims", "colour"])


def said(*parts: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    """A command built from fixed words and drawn ones, joined by spaces."""
    return st.tuples(*(st.just(p) if isinstance(p, str) else p for p in parts)).map(" ".join)


command_texts = st.one_of(
    said("claim", leads),
    said("release", leads, odd_text),
    said("contacted", leads),
    said("won", leads, amounts),
    said("lost", leads, odd_text),
    said("why", leads),
    said("contest", leads, odd_text),
    said("assign", leads, people, odd_text),
    said("resolve", disputes, "award", people, odd_text),
    said("resolve", disputes, "split", people, numbers, people, numbers, odd_text),
    said("digest", st.sampled_from(["preview", "post"]), weeks),
    said("limits", "set", limits, numbers),
    said("team", st.sampled_from(["add", "remove"]), people, st.sampled_from(["rep", "manager", ""])),
    said("away", "until", dates),
    said(st.sampled_from(sorted(COMMANDS.names())), odd_text),
    odd_text,
)


def test_any_command_text_gets_an_answer_never_a_failure(dibs: AppDriver, caplog: pytest.LogCaptureFixture) -> None:
    announce(dibs)
    announce(dibs, email="bo@other.example", company="Other")
    assert dibs.reply_text("claim L-1").startswith("L-1 is yours.")
    caplog.set_level(logging.ERROR)

    @PROFILE
    @given(text=command_texts, user=st.sampled_from(USERS))
    def typed(text: str, user: str) -> None:
        response = dibs.command(text, user=user)
        assert response.status == 200, (text, response.status, response.text[:300])
        answer = response.json()
        assert isinstance(answer.get("text"), str) and answer["text"], (text, answer)

    typed()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


# ---- what a CRM posts --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**40, max_value=10**60)
    | st.floats()
    | odd_text
    | st.text("x", min_size=190, max_size=5000),
    lambda inner: st.lists(inner, max_size=25) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
# JSON no Python value serializes to: numbers past the int parser's digit limit, deep nesting.
raw_json = st.one_of(
    st.text("0123456789", min_size=4000, max_size=6000),
    st.integers(min_value=30, max_value=25_000).map(lambda depth: "[" * depth + "]" * depth),
    json_values.map(json.dumps),
)
FIELDS = ["external_id", "name", "email", "company", "website", "phone", "territory", "tags", "source", "score"]
LEAD_LIKE = {  # values a CRM might well send, so that a lead gets as far as the database
    "email": st.emails(),
    "company": odd_text,
    "territory": st.sampled_from(["NY", "CA", ""]),
    "tags": st.lists(odd_text, max_size=4),
    "score": st.integers(min_value=-1, max_value=101),
    "notes": odd_text,
}


def with_one_raw_field(fields: dict[str, Any], name: str, raw: str) -> bytes:
    """`fields` as JSON with one more field whose value is the raw JSON text `raw`."""
    head = json.dumps(fields)[:-1]
    return f'{head}{", " if fields else ""}"{name}": {raw}}}'.encode()


lead_bodies = st.one_of(
    st.fixed_dictionaries({"name": odd_text}, optional=LEAD_LIKE).map(lambda body: json.dumps(body).encode()),
    st.builds(
        with_one_raw_field,
        st.fixed_dictionaries({"name": odd_text}, optional=LEAD_LIKE),
        st.sampled_from([*FIELDS, "value", "notes", "colour"]),
        raw_json,
    ),
    st.dictionaries(st.sampled_from([*FIELDS, "value", "notes"]), json_values, max_size=8).map(
        lambda body: json.dumps(body).encode()
    ),
    st.binary(max_size=2000),
)


def test_any_webhook_body_gets_a_2xx_or_a_4xx(dibs: AppDriver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)

    @PROFILE
    @given(body=lead_bodies)
    def posted(body: bytes) -> None:
        response = dibs.post_lead(body)
        expected = {201, 200, 422} if len(body) <= MAX_BODY_BYTES else {413}
        assert response.status in expected, (body[:300], response.status, response.text[:300])
        answer: dict[str, Any] = response.json()
        assert ("id" in answer) == (response.status < 300), answer

    posted()
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
