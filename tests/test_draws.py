"""Verifiable fair-start draws: the card commits to a seed, `/dibs why` reveals it, anyone recomputes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy.orm import Session, sessionmaker

import app
from bot import draws, ownership, scheduler
from bot.leads import lead_state
from handlers.answers import why_text
from handlers.views import lead_card
from models import Lead
from tests.test_claims import START, claim, new_lead, owner_of, set_limits


def test_the_recipe_picks_the_lowest_ratio_and_breaks_ties_by_the_seed_hash() -> None:
    """Hand-checked: U0A and U0C tie at 0.5, so the winner is tied[int(sha256("s:U0A,U0C")) % 2]."""
    entrants = [("U0C", 0.5), ("U0B", 0.75), ("U0A", 0.5)]
    index = int(hashlib.sha256(b"s:U0A,U0C").hexdigest(), 16) % 2
    assert draws.pick("s", entrants) == ("U0A", "U0C")[index]
    assert draws.pick("s", list(reversed(entrants))) == draws.pick("s", entrants), "click order plays no part"
    assert draws.pick("anything", [("U0B", 0.75), ("U0Z", 0.25)]) == "U0Z", "no tie: the lowest ratio wins"


def test_a_seed_is_checked_against_its_commitment() -> None:
    seed = draws.new_seed()
    committed = draws.commitment(seed)
    assert committed == hashlib.sha256(seed.encode()).hexdigest()
    draws.check_seed(seed, committed)
    with pytest.raises(draws.DrawTampered):
        draws.check_seed(draws.new_seed(), committed)


def open_draw(sessions: sessionmaker[Session]) -> int:
    """A lead with a 10 s window and two claimants tied at ratio 0."""
    with freeze_time(START):
        set_limits(sessions, fair_start_seconds=10)
        lead = new_lead(sessions)
        claim(sessions, "U0ALICE", lead)
        claim(sessions, "U0BOB", lead)
    return lead


def card_text(sessions: sessionmaker[Session], lead_id: int) -> str:
    with sessions() as session:
        lead = session.get_one(Lead, lead_id)
        return str(lead_card(lead_state(session, lead), lead.team.timezone, 80))


def test_the_card_shows_the_commitment_and_why_reveals_the_seed_that_verifies(teams) -> None:
    lead_id = open_draw(teams)
    with teams() as session:
        lead = session.get_one(Lead, lead_id)
        seed, committed = lead.draw_seed, lead.draw_commitment
    assert seed is not None and committed == draws.commitment(seed)
    shown = card_text(teams, lead_id)
    assert committed in shown and seed not in shown, "the card commits to the seed without revealing it"
    with freeze_time(START + timedelta(seconds=10)):
        scheduler.run_due(teams, datetime.now(UTC))
    with teams() as session:
        lead = session.get_one(Lead, lead_id)
        why = why_text(ownership.explain(lead))
        check = ownership.draw_check(lead)
    assert f"Seed `{seed}`, committed to as `{committed}`" in why
    assert check is not None and check.ok
    assert check.recorded_winner == owner_of(teams, lead_id) == draws.pick(seed, [("U0ALICE", 0.0), ("U0BOB", 0.0)])


def test_a_tampered_seed_is_never_used_to_settle_a_draw(teams) -> None:
    lead_id = open_draw(teams)
    with teams.begin() as session:
        session.get_one(Lead, lead_id).draw_seed = draws.new_seed()  # the operator swaps the seed
    with freeze_time(START + timedelta(seconds=10)), pytest.raises(draws.DrawTampered):
        scheduler.run_due(teams, datetime.now(UTC))
    assert owner_of(teams, lead_id) is None


@pytest.fixture
def cli(teams, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    return teams


def test_verify_draw_recomputes_and_rejects_a_seed_changed_after_the_fact(cli, capsys) -> None:
    lead_id = open_draw(cli)
    with freeze_time(START + timedelta(seconds=10)):
        scheduler.run_due(cli, datetime.now(UTC))
    assert app.main(["verify-draw", f"L-{lead_id}"]) == 0
    assert "verified: the draw follows from what was published" in capsys.readouterr().out
    with cli.begin() as session:
        lead = session.get_one(Lead, lead_id)
        lead.assignment = {**lead.assignment, "seed": draws.new_seed()}  # the record rewritten
    assert app.main(["verify-draw", f"L-{lead_id}"]) == 1
    out = capsys.readouterr().out
    assert "sha256(seed) does NOT match the commitment" in out and "NOT verified" in out


def test_verify_draw_on_a_lead_without_a_draw_says_so(cli, capsys) -> None:
    with freeze_time(START):
        lead_id = new_lead(cli)
        claim(cli, "U0ALICE", lead_id)
    assert app.main(["verify-draw", f"L-{lead_id}"]) == 2
    assert "not chosen by a fair-start draw" in capsys.readouterr().err


def test_the_recipe_in_docs_gives_the_same_winners_as_dibs() -> None:
    """docs/fairness.md's ten lines, run as printed, agree with bot/draws.py on many draws."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "fairness.md"
    recipe = docs.read_text().split("```python\n")[1].split("\n\n\nseed, commitment")[0]
    namespace: dict[str, object] = {}
    exec(recipe, namespace)  # the recipe's own code, nothing else
    winner = namespace["winner"]
    assert callable(winner)
    for n in range(50):
        seed = draws.new_seed()
        entrants = [(f"U0REP{i}", (i * 7 + n) % 3 / 2) for i in range(n % 5 + 1)]
        assert winner(seed, entrants) == draws.pick(seed, entrants)
