"""Fair share, Gini/Jain and ISO weeks (DESIGN §9), against hand-computed examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import InvalidInput
from bot.fairness import (
    Flag,
    effective_weights,
    eligible_reps,
    fair_share_ratios,
    fairness_flags,
    gini,
    iso_week_bounds,
    jain,
    parse_week,
    previous_week,
    week_containing,
    week_label,
)
from models import AwayPeriod, Claim, CreditShare, Lead, Member, Team
from tests.wording import refusal

NY = "America/New_York"
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
# 2026-W46 in New York: Mon 9 Nov 00:00 EST (05:00 UTC) to Mon 16 Nov 00:00 EST, 7 × 24 h.
W46 = (2026, 46)
W46_START = datetime(2026, 11, 9, 5, tzinfo=UTC)
W46_END = datetime(2026, 11, 16, 5, tzinfo=UTC)


# --- builders shared with test_digest -----------------------------------------------------------


def local(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> datetime:
    """A New York wall time in 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(UTC)


def make_team(
    session: Session, team_id: str = "t", tz: str = NY, *, digest_day: str = "mon", digest_time: str = "09:00"
) -> Team:
    team = Team(
        id=team_id,
        name=f"Team {team_id.upper()}",
        channel="C0T",
        timezone=tz,
        limits={},
        limit_overrides={},
        digest_day=digest_day,
        digest_time=digest_time,
        updated_at=LONG_AGO,
    )
    session.add(team)
    session.flush()
    return team


def make_member(
    session: Session,
    team: Team,
    uid: str,
    *,
    role: str = "rep",
    weight: float = 1.0,
    joined_at: datetime = LONG_AGO,
    left_at: datetime | None = None,
) -> Member:
    member = Member(
        team_id=team.id,
        slack_user_id=uid,
        role=role,
        weight=weight,
        territories=[],
        skills=[],
        active=left_at is None,
        joined_at=joined_at,
        left_at=left_at,
    )
    session.add(member)
    session.flush()
    return member


def make_lead(
    session: Session,
    team: Team,
    created_at: datetime,
    *,
    score: int | None = None,
    source: str | None = None,
    credit: dict[Member, int] | None = None,
    value: Decimal | None = None,
) -> Lead:
    lead = Lead(
        team_id=team.id,
        name="Jane Doe",
        tags=[],
        status="claimed" if credit else "open",
        created_at=created_at,
        announced_at=created_at,
        score=score,
        source=source,
        value=value,
    )
    session.add(lead)
    session.flush()
    for member, percent in (credit or {}).items():
        session.add(CreditShare(lead_id=lead.id, member_id=member.id, percent=percent, created_at=created_at))
    session.flush()
    return lead


def make_claim(
    session: Session,
    lead: Lead,
    member: Member,
    *,
    how: str = "claim",
    status: str = "active",
    started: bool = True,
    **fields: object,
) -> Claim:
    claim = Claim(
        lead_id=lead.id,
        member_id=member.id,
        status=status,
        how=how,
        requested_at=lead.created_at,
        started_at=lead.created_at + timedelta(minutes=1) if started else None,
        **fields,
    )
    session.add(claim)
    session.flush()
    return claim


def make_away(session: Session, member: Member, starts_at: datetime, ends_at: datetime | None) -> None:
    session.add(AwayPeriod(member_id=member.id, starts_at=starts_at, ends_at=ends_at))
    session.flush()


# --- pure metrics -------------------------------------------------------------------------------


def test_gini_and_jain_by_hand() -> None:
    # Equal shares: no differences, so Gini 0 and Jain (3)²/(3·3) = 1.
    assert gini([1.0, 1.0, 1.0]) == 0.0
    assert jain([1.0, 1.0, 1.0]) == pytest.approx(1.0)
    # [1, 3]: Σ|xi−xj| over ordered pairs = 2 + 2 = 4; 4 / (2·n·Σx) = 4 / (2·2·4) = 0.25.
    # Jain: (1+3)² / (2·(1+9)) = 16/20 = 0.8.
    assert gini([1.0, 3.0]) == pytest.approx(0.25)
    assert jain([1.0, 3.0]) == pytest.approx(0.8)
    # [0, 0, 3]: |0−3| four times = 12; 12 / (2·3·3) = 2/3. Jain: 9 / (3·9) = 1/3 (one has it all).
    assert gini([0.0, 3.0, 0.0]) == pytest.approx(2 / 3)
    assert jain([0.0, 3.0, 0.0]) == pytest.approx(1 / 3)


def test_gini_and_jain_of_nothing_are_perfectly_even() -> None:
    assert gini([]) == 0.0 and jain([]) == 1.0
    assert gini([0.0, 0.0]) == 0.0 and jain([0.0, 0.0]) == 1.0


def test_flags_thresholds() -> None:
    assert fairness_flags(0.49, 0, 0, None, None) == (Flag.STARVED,)
    assert fairness_flags(0.5, 0, 0, None, None) == ()
    assert fairness_flags(1.5, 0, 0, None, None) == ()
    assert fairness_flags(1.51, 0, 0, None, None) == (Flag.HOARDING,)
    assert fairness_flags(1.0, 3, 0, None, None) == (Flag.HOARDING,)
    assert fairness_flags(1.0, 2, 0, None, None) == ()
    # Cherry-picking needs 5+ own claims averaging 20+ points over the team.
    assert fairness_flags(1.0, 0, 5, 70.0, 50.0) == (Flag.CHERRY_PICKING,)
    assert fairness_flags(1.0, 0, 4, 90.0, 50.0) == ()
    assert fairness_flags(1.0, 0, 5, 69.9, 50.0) == ()
    # No fair share, no flags, whatever else happened.
    assert fairness_flags(None, 9, 9, 99.0, 10.0) == ()


# --- weeks --------------------------------------------------------------------------------------


def test_week_bounds_across_the_autumn_dst_change() -> None:
    # 2026-11-01 (Sunday) ends DST in New York and belongs to 2026-W44:
    # Mon 26 Oct 00:00 EDT (UTC−4) = 04:00 UTC to Mon 2 Nov 00:00 EST (UTC−5) = 05:00 UTC: 169 h.
    start, end = iso_week_bounds(NY, 2026, 44)
    assert start == datetime(2026, 10, 26, 4, tzinfo=UTC)
    assert end == datetime(2026, 11, 2, 5, tzinfo=UTC)
    assert end - start == timedelta(hours=169)
    assert week_containing(NY, datetime(2026, 11, 1, 12, tzinfo=UTC)) == (2026, 44)
    # 04:30 UTC on 2 Nov is still Sunday 23:30 EST in New York, but already Monday in UTC.
    assert week_containing(NY, datetime(2026, 11, 2, 4, 30, tzinfo=UTC)) == (2026, 44)
    assert week_containing("UTC", datetime(2026, 11, 2, 4, 30, tzinfo=UTC)) == (2026, 45)
    assert week_containing(NY, datetime(2026, 11, 2, 5, tzinfo=UTC)) == (2026, 45)


def test_week_bounds_across_the_spring_dst_change() -> None:
    # DST starts Sun 8 Mar 2026: 2026-W10 runs 05:00 UTC Mon 2 Mar to 04:00 UTC Mon 9 Mar, 167 h.
    start, end = iso_week_bounds(NY, 2026, 10)
    assert start == datetime(2026, 3, 2, 5, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 4, tzinfo=UTC)


def test_previous_week_crosses_years() -> None:
    assert previous_week(2026, 47) == (2026, 46)
    assert previous_week(2027, 1) == (2026, 53)  # 2026 starts on a Thursday: 53 ISO weeks
    assert previous_week(2026, 1) == (2025, 52)
    assert week_containing("UTC", datetime(2027, 1, 1, tzinfo=UTC)) == (2026, 53)


@pytest.mark.parametrize(
    ("text", "week"), [("2026-W47", (2026, 47)), (" 2026w05 ", (2026, 5)), ("2026-W53", (2026, 53))]
)
def test_parse_week(text: str, week: tuple[int, int]) -> None:
    assert parse_week(text) == week
    assert parse_week(week_label(*week)) == week


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-47", "write it like 2026-W47"),
        ("W47", "write it like 2026-W47"),
        ("last week", "write it like 2026-W47"),
        ("2025-W53", "2025 has no ISO week 53"),
        ("2026-W00", "2026 has no ISO week 0"),
    ],
)
def test_parse_week_refuses_bad_input(text: str, message: str) -> None:
    with refusal(InvalidInput, match=message):
        parse_week(text)


# --- fair share against the database ------------------------------------------------------------


def test_split_counts_its_percentages(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        carol = make_member(session, team, "UC", weight=2.0)
        manager = make_member(session, team, "UM", role="manager")
        at = local(10)
        make_lead(session, team, at, credit={alice: 100})
        make_lead(session, team, at, credit={alice: 60, bob: 40})
        make_lead(session, team, at, credit={bob: 100})
        make_lead(session, team, at, credit={bob: 100})
        for _ in range(4):
            make_lead(session, team, at, credit={carol: 100})
        # Outside the week (either edge) or of another team: never counted.
        make_lead(session, team, W46_START - timedelta(seconds=1), credit={alice: 100})
        make_lead(session, team, W46_END, credit={alice: 100})
        other = make_team(session, "o")
        make_lead(session, other, at)
        ratios = fair_share_ratios(session, "t", W46_START, W46_END)
    # total 8 leads; e = 1, 1, 2 (Σe = 4) so f = 8·1/4 = 2, 2 and 8·2/4 = 4.
    # c_alice = 1 + 0.6 = 1.6, c_bob = 0.4 + 1 + 1 = 2.4, c_carol = 4.
    # r = 1.6/2 = 0.8, 2.4/2 = 1.2, 4/4 = 1.0. Managers get no row.
    assert set(ratios) == {alice.id, bob.id, carol.id}
    assert manager.id not in ratios
    assert ratios[alice.id].credited == pytest.approx(1.6)
    assert ratios[bob.id].credited == pytest.approx(2.4)
    assert [ratios[m.id].fair_share for m in (alice, bob, carol)] == pytest.approx([2, 2, 4])
    assert [ratios[m.id].ratio for m in (alice, bob, carol)] == pytest.approx([0.8, 1.2, 1.0])


def test_away_rep_is_measured_against_the_time_they_were_there(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        carol = make_member(session, team, "UC")
        make_away(session, carol, local(9, 0), local(12, 0))  # Mon 00:00 to Thu 00:00: 3 days
        for member, count in ((alice, 7), (bob, 7), (carol, 4)):
            for _ in range(count):
                make_lead(session, team, local(13), credit={member: 100})
        ratios = fair_share_ratios(session, "t", W46_START, W46_END)
    # e = 1, 1, 4/7 (carol away 3 of 7 days); Σe = 18/7; total 18.
    # f = 18·1/(18/7) = 7, 7 and 18·(4/7)/(18/7) = 4. Carol's 4 credited is exactly her share.
    assert [ratios[m.id].fair_share for m in (alice, bob, carol)] == pytest.approx([7, 7, 4])
    assert ratios[carol.id].ratio == pytest.approx(1.0)
    assert fairness_flags(ratios[carol.id].ratio, 0, 0, None, None) == ()


def test_mid_week_joiner_and_reps_outside_the_week(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        alice = make_member(session, team, "UA")
        dave = make_member(session, team, "UD", joined_at=local(13, 0))  # Fri 00:00: 3 days
        make_member(session, team, "UGONE", left_at=W46_START)  # left as the week began
        make_member(session, team, "ULATE", joined_at=W46_END)  # joins the next week
        for member, count in ((alice, 7), (dave, 3)):
            for _ in range(count):
                make_lead(session, team, local(14), credit={member: 100})
        reps = eligible_reps(session, "t", W46_START, W46_END)
        ratios = fair_share_ratios(session, "t", W46_START, W46_END)
    # e = 1 and 3/7; Σe = 10/7; total 10: f = 10·1/(10/7) = 7 and 10·(3/7)/(10/7) = 3.
    assert [r.slack_user_id for r in reps] == ["UA", "UD"]
    assert [ratios[m.id].fair_share for m in (alice, dave)] == pytest.approx([7, 3])
    assert [ratios[m.id].ratio for m in (alice, dave)] == pytest.approx([1, 1])


def test_overlapping_and_open_away_periods(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        bob, carol = make_member(session, team, "UB"), make_member(session, team, "UC")
        make_away(session, bob, local(9, 0), local(11, 0))  # Mon–Wed 00:00
        make_away(session, bob, local(10, 0), local(12, 0))  # Tue–Thu 00:00 (overlaps)
        make_away(session, carol, local(14, 0), None)  # from Sat 00:00, still away
        weights = effective_weights(session, [bob, carol], W46_START, W46_END)
    # Bob: the union is Mon–Thu 00:00 = 3 days away, 4/7 left. Carol: Sat+Sun away, 5/7 left.
    assert weights == pytest.approx({bob.id: 4 / 7, carol.id: 5 / 7})


def test_away_over_the_25_hour_day(sessions: sessionmaker[Session]) -> None:
    start, end = iso_week_bounds(NY, 2026, 44)
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        make_away(session, bob, local(1, 0), end)  # Sunday 1 Nov: 25 hours long
        weights = effective_weights(session, [alice, bob], start, end)
    # The week is 169 h; Bob was there 169 − 25 = 144 h.
    assert weights == pytest.approx({alice.id: 1.0, bob.id: 144 / 169})


def test_empty_week_and_empty_period(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        ratios = fair_share_ratios(session, "t", W46_START, W46_END)
        # Week-to-date at Monday 00:00 exactly: a zero-length period.
        instant = fair_share_ratios(session, "t", W46_START, W46_START)
    # No leads: every fair share is 0, so no ratio (and no division by zero).
    for share in (*ratios.values(), *instant.values()):
        assert (share.credited, share.fair_share, share.ratio) == (0.0, 0.0, None)
    assert set(ratios) == set(instant) == {alice.id, bob.id}


def test_team_of_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        solo = make_member(session, team, "US")
        make_lead(session, team, local(10), credit={solo: 100})
        make_lead(session, team, local(10), credit={solo: 100})
        make_lead(session, team, local(10))  # nobody took it
        ratios = fair_share_ratios(session, "t", W46_START, W46_END)
    # f = 3 (all of it), c = 2, r = 2/3.
    assert ratios[solo.id].fair_share == pytest.approx(3)
    assert ratios[solo.id].ratio == pytest.approx(2 / 3)


def test_week_to_date_counts_only_elapsed_time(sessions: sessionmaker[Session]) -> None:
    now = local(11, 0)  # Wed 00:00: two days into the week
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        make_away(session, bob, local(10, 0), None)  # away since Tue 00:00
        make_lead(session, team, local(9), credit={alice: 100})
        make_lead(session, team, local(9), credit={alice: 100})
        make_lead(session, team, local(10, 6), credit={alice: 100})
        ratios = fair_share_ratios(session, "t", W46_START, now)
    # Over Mon–Tue: e_alice = 1, e_bob = 1/2 (away since Tuesday); Σe = 3/2; total 3:
    # f_alice = 3·1/(3/2) = 2, f_bob = 3·(1/2)/(3/2) = 1.
    assert [ratios[m.id].fair_share for m in (alice, bob)] == pytest.approx([2, 1])
    assert [ratios[m.id].ratio for m in (alice, bob)] == pytest.approx([1.5, 0])
