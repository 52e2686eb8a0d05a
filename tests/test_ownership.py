"""How a lead got its owner is one typed record, stored as JSON exactly as earlier releases stored it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.errors import Limit, LimitReached
from bot.ownership import (
    AssignedByManager,
    AutoAssigned,
    DecidedInDispute,
    FirstClaim,
    RoutedToAccountOwner,
    WonDraw,
    from_json,
    to_json,
)
from models import DisputeOutcome, How

AT = "2026-11-23T15:00:00+00:00"
TERRITORY = LimitReached(Limit.TERRITORY, lead="L-1", territory="CA", yours=["NY"]).as_record()

# What the previous release wrote into `Lead.assignment` for each way to an owner.
STORED: list[dict[str, Any]] = [
    {"kind": "first_claim", "at": AT, "winner": "U0ALICE"},
    {
        "kind": "draw",
        "at": AT,
        "window_seconds": 30,
        "seed": 7,
        "claimants": [
            {"rep": "U0ALICE", "credited": 1.0, "fair_share": 0.5, "ratio": 2.0, "claimed_at": AT},
            {"rep": "U0BOB", "credited": 0.0, "fair_share": 0.5, "ratio": 0.0, "claimed_at": AT},
        ],
        "tied": ["U0BOB"],
        "winner": "U0BOB",
    },
    {
        "kind": "auto",
        "at": AT,
        "after_minutes": 30,
        "candidates": [{"rep": "U0BOB", "credited": 0.0, "fair_share": 1.0, "ratio": 0.0}],
        "skipped": {"U0CAROL": TERRITORY},
        "winner": "U0BOB",
    },
    {
        "kind": "manager",
        "at": AT,
        "by": "U0MGR1",
        "reason": "knows the buyer",
        "over_limit": TERRITORY,
        "winner": "U0BOB",
    },
    {"kind": "manager", "at": AT, "by": "U0MGR1", "reason": None, "over_limit": None, "winner": "U0BOB"},
    {
        "kind": "dispute",
        "dispute": "D-1",
        "outcome": "split",
        "at": AT,
        "by": "U0MGR1",
        "reason": None,
        "shares": [["U0ALICE", 60], ["U0BOB", 40]],
        "winner": "U0ALICE",
    },
    {"kind": "route", "at": AT, "winner": "U0ALICE", "account_lead": "L-1"},
]


@pytest.mark.parametrize("stored", STORED, ids=lambda stored: stored["kind"])
def test_stored_choices_read_back_and_are_written_the_same(stored: dict[str, Any]) -> None:
    assert to_json(from_json(stored)) == stored


def test_each_record_is_typed_with_its_inputs() -> None:
    first, draw, auto, manager, _, dispute, route = (from_json(stored) for stored in STORED)
    at = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert first == FirstClaim("U0ALICE", at)
    assert isinstance(draw, WonDraw) and draw.tied == ("U0BOB",) and draw.claimants[0].claimed_at == at
    assert isinstance(auto, AutoAssigned) and auto.skipped[0][0] == "U0CAROL"
    assert isinstance(auto.skipped[0][1], LimitReached) and auto.skipped[0][1].why == Limit.TERRITORY
    assert isinstance(manager, AssignedByManager) and isinstance(manager.over_limit, LimitReached)
    assert isinstance(dispute, DecidedInDispute) and dispute.outcome == DisputeOutcome.SPLIT
    assert dispute.shares == (("U0ALICE", 60), ("U0BOB", 40))
    assert route == RoutedToAccountOwner("U0ALICE", "L-1", at)


def test_the_claim_is_typed_by_how_its_lead_was_chosen() -> None:
    hows = [from_json(stored).how for stored in STORED]
    assert hows == [How.CLAIM, How.CLAIM, How.AUTO, How.ASSIGN, How.ASSIGN, How.SPLIT, How.ROUTE]


def test_a_row_of_the_earliest_release_still_reads() -> None:
    """No decision time, and the limit stored as the sentence it was shown as."""
    stored = {"kind": "manager", "by": "U0MGR1", "winner": "U0BOB", "reason": None, "over_limit": "L-7 is out."}
    assert from_json(stored) == AssignedByManager("U0BOB", "U0MGR1", None, "L-7 is out.")
    assert to_json(from_json(stored)) == stored


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind 'coin_toss'"):
        from_json({"kind": "coin_toss", "winner": "U0BOB"})
