"""`fair_share_period`: draws, auto-assign and the share cap balance credit over the week or the month.

The east reps joined at START, Monday 23 November 10:00 in New York, and work around the clock;
weights Alice 1, Bob 1, Carol 2 (fair share = leads × weight / 4). Monday 30 November is a new
week but the same month.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import ownership, scheduler
from bot.config import parse_config
from bot.errors import ConfigError, InvalidInput
from bot.teams import effective_limits, set_limit
from handlers.answers import claim_text, why_text
from models import Lead, Member, Team
from tests.test_claims import START, claim, new_lead, owner_of, set_limits

NEXT_MONDAY = START + timedelta(days=7)  # Monday 30 November 10:00 in New York


@pytest.mark.parametrize(("period", "refused"), [("week", False), ("month", True)])
def test_a_surplus_from_last_week_still_counts_under_a_monthly_period(
    teams: sessionmaker[Session], period: str, refused: bool
) -> None:
    """Alice took the only lead of last week. This Monday's lead: by the week she has 0 of 0.25;
    by the month 1 of 2 × 1/4 = 0.5, ratio 2.0 > 1.5, so she waits until others catch up."""
    with freeze_time(START):
        set_limits(teams, max_share_ratio=1.5, fair_share_period=period)
        first = new_lead(teams, "First")
        assert not claim(teams, "U0ALICE", first).refused
    with freeze_time(NEXT_MONDAY):
        second = new_lead(teams, "Second")
    with freeze_time(NEXT_MONDAY + timedelta(minutes=1)):  # the period so far holds the new lead
        result = claim(teams, "U0ALICE", second)
    assert result.refused is refused
    if refused:
        text = claim_text(result)
        assert text.startswith(f"You can't claim L-{second}. You have 1 leads this month against a fair share of 0.5")
        assert "(×2.00; this team allows ×1.5 before others catch up)" in text
        assert text.endswith("or when the month turns: it frees up Tue 01 Dec 00:00 EST, in 13h 59m.")


@pytest.mark.parametrize(("period", "winner"), [("week", "U0ALICE"), ("month", "U0CAROL")])
def test_auto_assign_goes_to_the_rep_furthest_behind_over_the_period(
    teams: sessionmaker[Session], period: str, winner: str
) -> None:
    """Last week Alice took 2 leads, then Bob 1, then Carol 1. This Monday, by the week everyone is
    at 0 and Alice has waited longest; by the month (5 leads) Alice is at 2/1.25, Bob 1/1.25 and
    Carol 1/2.5, so Carol is furthest behind."""
    with freeze_time(START):
        set_limits(teams, fair_share_period=period, auto_assign_after_minutes=1)
        leads = [new_lead(teams, f"Lead {n}") for n in range(4)]
    for minute, (uid, lead) in enumerate(zip(["U0ALICE", "U0ALICE", "U0BOB", "U0CAROL"], leads, strict=True)):
        with freeze_time(START + timedelta(seconds=10 + minute)):
            assert not claim(teams, uid, lead).refused
    with freeze_time(NEXT_MONDAY):
        unclaimed = new_lead(teams, "Unclaimed")
    with freeze_time(NEXT_MONDAY + timedelta(minutes=2)):
        scheduler.run_due(teams, datetime.now(UTC))
    assert owner_of(teams, unclaimed) == winner


def test_a_draw_goes_by_the_month_and_why_says_so(teams: sessionmaker[Session]) -> None:
    """Alice took last week's lead; this Monday she and Bob click the same lead. By the month she
    is at 1 of 0.5 (ratio 2.0) and Bob at 0: Bob wins outright (by the week both are at 0, a tie)."""
    with freeze_time(START):
        set_limits(teams, fair_share_period="month")
        first = new_lead(teams, "First")
        assert not claim(teams, "U0ALICE", first).refused
    with freeze_time(NEXT_MONDAY):
        set_limits(teams, fair_start_seconds=10)
        second = new_lead(teams, "Second")
        claim(teams, "U0ALICE", second)
        claim(teams, "U0BOB", second)
    with freeze_time(NEXT_MONDAY + timedelta(seconds=20)):
        scheduler.run_due(teams, datetime.now(UTC))
    assert owner_of(teams, second) == "U0BOB"
    with teams() as session:
        why = why_text(ownership.explain(session.get_one(Lead, second)))
    assert "The claimant with the lowest ratio of credited leads to fair share this month wins." in why
    assert "<@U0ALICE>: 1 credited vs 0.5 fair share (ratio 2.000)" in why


def test_the_period_is_validated_by_key_path_and_settable_in_slack(teams: sessionmaker[Session], now) -> None:
    text = '[teams.a]\nname = "A"\nchannel = "C0A"\n[teams.a.limits]\nfair_share_period = "year"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.problems == ["teams.a.limits.fair_share_period: Input should be 'week' or 'month'"]
    with teams.begin() as session:
        manager = session.scalars(select(Member).where(Member.slack_user_id == "U0MGR1")).one()
        assert set_limit(session, manager, "fair_share_period", "month", now) == "month"
        with pytest.raises(InvalidInput):
            set_limit(session, manager, "fair_share_period", "quarter", now)
        assert effective_limits(session.get_one(Team, "east")).fair_share_period == "month"
