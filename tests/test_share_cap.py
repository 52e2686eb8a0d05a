"""The share cap (`max_share_ratio`): a rep far ahead of their fair share this week may not claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduler
from bot.config import parse_config
from bot.digest import compute_digest
from bot.errors import ConfigError, InvalidInput
from bot.fairness import Flag
from bot.teams import effective_limits, set_limit
from handlers.answers import claim_text
from models import Member, Team
from tests.test_claims import START, claim, new_lead, owner_of, set_limits

# The east reps joined at START; weights Alice 1, Bob 1, Carol 2 (fair share = leads × weight / 4).


def test_a_rep_above_the_cap_is_refused_until_teammates_catch_up(teams: sessionmaker[Session]) -> None:
    """1 lead: Alice takes it. 2 leads: her fair share is 2 × 1/4 = 0.5, ratio 2.0 > 1.5: refused.
    Bob takes the second. 3 leads: her fair share is 0.75, ratio 1.33 ≤ 1.5: she may claim again."""
    with freeze_time(START + timedelta(minutes=1)):
        set_limits(teams, max_share_ratio=1.5)
        first, second = new_lead(teams, "First"), new_lead(teams, "Second")
    with freeze_time(START + timedelta(minutes=2)):  # the week so far holds both leads
        assert not claim(teams, "U0ALICE", first).refused
        refused = claim(teams, "U0ALICE", second)
        assert refused.refused and owner_of(teams, second) is None
        text = claim_text(refused)
        assert text.startswith(f"You can't claim L-{second}. You have 1 leads this week against a fair share of 0.5")
        assert "(×2.00; this team allows ×1.5 before others catch up)" in text
        # Monday 10:02 in New York; the week turns at Monday 30 Nov 00:00 EST, 157 h 58 m away.
        assert "You can claim again once teammates catch up, or when the week turns: it frees up" in text
        assert text.endswith("it frees up Mon 30 Nov 00:00 EST, in 157h 58m.")
        assert not claim(teams, "U0BOB", second).refused
        third = new_lead(teams, "Third")
    with freeze_time(START + timedelta(minutes=3)):
        assert not claim(teams, "U0ALICE", third).refused, "the team caught up: ratio 1.33 is under the cap"


def test_the_cap_binds_claims_only_auto_assign_still_gives_leads(teams: sessionmaker[Session]) -> None:
    with freeze_time(START + timedelta(minutes=1)):
        set_limits(teams, max_share_ratio=1.0, auto_assign_after_minutes=1)
        with teams.begin() as session:
            for member in session.scalars(select(Member).where(Member.slack_user_id.in_(["U0BOB", "U0CAROL"]))):
                member.active = False  # only Alice is left to take leads
        first, second = new_lead(teams, "First"), new_lead(teams, "Second")
    with freeze_time(START + timedelta(minutes=2)):
        assert not claim(teams, "U0ALICE", first).refused
        assert claim(teams, "U0ALICE", second).refused
    with freeze_time(START + timedelta(minutes=3)):
        scheduler.run_due(teams, datetime.now(UTC))
    assert owner_of(teams, second) == "U0ALICE", "auto-assign passes no share cap"


def test_the_cap_is_validated_by_key_path_and_settable_in_slack(teams: sessionmaker[Session], now) -> None:
    text = '[teams.a]\nname = "A"\nchannel = "C0A"\n[teams.a.limits]\nmax_share_ratio = 0.5\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert caught.value.problems == ["teams.a.limits.max_share_ratio: Input should be greater than or equal to 1"]
    with teams.begin() as session:
        manager = session.scalars(select(Member).where(Member.slack_user_id == "U0MGR1")).one()
        assert set_limit(session, manager, "max_share_ratio", "1.25", now) == 1.25
        with pytest.raises(InvalidInput):
            set_limit(session, manager, "max_share_ratio", "0.9", now)
        assert effective_limits(session.get_one(Team, "east")).max_share_ratio == 1.25


def test_share_cap_refusals_are_no_sign_of_hoarding(teams: sessionmaker[Session]) -> None:
    """Three share-cap refusals leave the digest's limit hits at 0 (three other refusals would flag
    hoarding by themselves); Alice's ratio 2.0 is flagged on its own account."""
    with freeze_time(START + timedelta(minutes=1)):
        set_limits(teams, max_share_ratio=1.5)
        first, second = new_lead(teams, "First"), new_lead(teams, "Second")
    with freeze_time(START + timedelta(minutes=2)):
        assert not claim(teams, "U0ALICE", first).refused
        assert all(claim(teams, "U0ALICE", second).refused for _ in range(3)), "ratio 2.0 > 1.5, three times"
    with teams() as session:
        digest = compute_digest(session, "east", 2026, 48, START + timedelta(hours=1))
    alice = next(r for r in digest.reps if r.slack_user_id == "U0ALICE")
    assert alice.cap_hits == 0 and alice.flags == (Flag.HOARDING,) and alice.ratio == 2.0
