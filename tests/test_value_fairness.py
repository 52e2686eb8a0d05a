"""Fairness by value, not only count: the digest's share of pipeline value and its low-value flag."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from bot.digest import compute_digest
from bot.fairness import Flag, fairness_flags, period_credit
from handlers.digest_view import digest_text
from tests.test_digest import AFTER_W46
from tests.test_fairness import W46_END, W46_START, local, make_lead, make_member, make_team


def test_a_fair_count_of_cheap_leads_is_flagged_low_value(sessions: sessionmaker[Session]) -> None:
    """Alice and Bob each get 3 leads (count ratio 1.0 each). Pipeline value, value × score / 100:
    Alice 2 × $1000 at score 50 = $1000; Bob 2 × $100 unscored = $200; the third lead each has no value.
    Total $1200, fair share $600 each: Alice ×1.67, Bob ×0.33 (< 0.5) and so flagged low-value.
    Quality (scores): Alice 50 + 50 + 90 = 190 of 280, fair 140: ×1.36."""
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UALICE"), make_member(session, team, "UBOB")
        for day in (9, 10):
            make_lead(session, team, local(day), score=50, value=Decimal(1000), credit={alice: 100})
            make_lead(session, team, local(day, 13), value=Decimal(100), credit={bob: 100})
        make_lead(session, team, local(11), score=90, credit={alice: 100})
        make_lead(session, team, local(11, 13), score=90, credit={bob: 100})
        credit = period_credit(session, "t", W46_START, W46_END)
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    assert credit.value == 1200.0
    assert credit.credited_value == {alice.id: 1000.0, bob.id: 200.0}
    rows = {r.slack_user_id: r for r in digest.reps}
    assert (rows["UALICE"].ratio, rows["UBOB"].ratio) == (1.0, 1.0)
    assert round(rows["UALICE"].value_ratio or 0, 3) == 1.667 and round(rows["UBOB"].value_ratio or 0, 3) == 0.333
    assert rows["UBOB"].flags == (Flag.LOW_VALUE,) and rows["UALICE"].flags == ()
    text = digest_text(digest)
    assert "@UBOB 💸 low value: ×0.33 of fair pipeline value, though ×1.00 of fair lead count" in text
    assert "@UALICE 3 of 3 fair · ×1.00 · quality ×1.36 · value ×1.67" in text


def test_a_starved_rep_is_flagged_starved_not_low_value() -> None:
    assert fairness_flags(0.3, 0, 0, None, None, value_ratio=0.1) == (Flag.STARVED,)
    assert fairness_flags(1.0, 0, 0, None, None, value_ratio=None) == ()
