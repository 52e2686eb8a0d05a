"""Leads go to people who are working (issue 13): two reps in two zones, a weekend, a holiday."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import claiming, scheduler
from bot.config import parse_config
from bot.errors import ConfigError
from bot.fairness import effective_weights, eligible_reps
from bot.intake import LeadIn, take_lead
from bot.leads import lead_state, owning_claim
from bot.ownership import explain
from bot.teams import apply_config
from handlers.answers import claim_text, why_text
from handlers.views import lead_card
from models import Lead, Member, OutboxMessage, Team
from tests.wording import sent_text

HOURS_TOML = """
[teams.coast]
name = "Both Coasts"
channel = "C0COAST"
timezone = "America/New_York"
hours = "mon-fri 09:00-17:30"
holidays = ["2026-12-25"]
managers = ["U0BOSS"]
reps = [{ id = "U0NYREP" },
        { id = "U0SFREP", timezone = "America/Los_Angeles" }]

[teams.coast.limits]
fair_start_seconds = 0
auto_assign_after_minutes = 30
"""

NY = ZoneInfo("America/New_York")


def ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


@pytest.fixture
def coast(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as session:
        apply_config(session, parse_config(HOURS_TOML), ny(2026, 11, 2, 0, 0))
    return sessions


def member(session: Session, uid: str) -> Member:
    return session.scalars(select(Member).where(Member.slack_user_id == uid)).one()


def new_lead(sessions: sessionmaker[Session], at: datetime, name: str = "Jane Doe") -> int:
    with sessions.begin() as session:
        return take_lead(session, session.get_one(Team, "coast"), LeadIn(name=name), at, "test").lead.id


def owner_of(sessions: sessionmaker[Session], lead_id: int) -> str | None:
    with sessions() as session:
        owning = owning_claim(session, lead_id)
        return owning.member.slack_user_id if owning else None


def test_a_lead_at_18_00_new_york_time_goes_to_the_san_francisco_rep_still_working(coast) -> None:
    arrives = ny(2026, 11, 24, 18, 0)  # Tuesday; 15:00 in San Francisco
    lead = new_lead(coast, arrives)
    scheduler.run_due(coast, arrives + timedelta(minutes=30))
    assert owner_of(coast, lead) == "U0SFREP"
    with coast() as session:
        why = why_text(explain(session.get_one(Lead, lead)))
    assert "<@U0NYREP> was not eligible: Outside working hours; back Wed 25 Nov 09:00 EST." in why


def test_the_rep_who_left_may_still_claim_by_hand(coast) -> None:
    at = ny(2026, 11, 24, 20, 0)
    lead = new_lead(coast, at)
    with coast.begin() as session:
        claiming.claim_lead(session, member(session, "U0NYREP"), lead, at + timedelta(seconds=5))
    assert owner_of(coast, lead) == "U0NYREP"


def test_fair_share_counts_working_time_only(coast) -> None:
    # Tuesday 00:00 to 18:00 New York: New York worked 8.5 h, San Francisco 9:00-15:00 PT = 6 h of it.
    start, end = ny(2026, 11, 24, 0, 0), ny(2026, 11, 24, 18, 0)
    with coast() as session:
        reps = eligible_reps(session, "coast", start, end)
        weights = {
            m.slack_user_id: w for m, w in zip(reps, effective_weights(session, reps, start, end).values(), strict=True)
        }
    span = 18 * 3600
    assert weights == pytest.approx({"U0NYREP": 8.5 * 3600 / span, "U0SFREP": 6 * 3600 / span})


def test_nobody_working_on_a_holiday_means_the_lead_waits(coast) -> None:
    christmas = ny(2026, 12, 25, 11, 0)
    lead = new_lead(coast, christmas)
    scheduler.run_due(coast, christmas + timedelta(minutes=30))
    assert owner_of(coast, lead) is None


def test_config_errors_for_hours_zones_and_holidays_are_listed_by_key_path() -> None:
    bad = (
        HOURS_TOML.replace('hours = "mon-fri 09:00-17:30"', 'hours = "weekdays 9-5"')
        .replace('"2026-12-25"', '"2026-12-25", "xmas"')
        .replace('timezone = "America/Los_Angeles"', 'timezone = "Pacific/Nowhere", hours = "mon-fri 18:00-02:00"')
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(bad)
    assert refused.value.problems == [
        "teams.coast.reps[1].timezone: unknown time zone 'Pacific/Nowhere' (use an IANA name such as Europe/Berlin)",
        "teams.coast.reps[1].hours: 'mon-fri 18:00-02:00' ends before it starts (a shift cannot cross midnight)",
        "teams.coast.hours: 'weekdays 9-5' is not working hours like 'mon-fri 09:00-17:30'",
        "teams.coast.holidays[1]: 'xmas' is not a date like 2026-12-25",
    ]


def dms_to(sessions: sessionmaker[Session], uid: str) -> list[str]:
    with sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "notice", OutboxMessage.channel == uid)
        )
        return [sent_text(row) for row in rows]


def claim_at(sessions: sessionmaker[Session], uid: str, lead_id: int, at: datetime) -> str:
    with sessions.begin() as session:
        return claim_text(claiming.claim_lead(session, member(session, uid), lead_id, at))


def why(sessions: sessionmaker[Session], lead_id: int) -> str:
    with sessions() as session:
        return why_text(explain(session.get_one(Lead, lead_id)))


def test_a_friday_17_25_claim_is_still_owned_on_monday_morning(coast) -> None:
    friday = ny(2026, 11, 27, 17, 25)
    lead = new_lead(coast, friday - timedelta(minutes=1))
    answer = claim_at(coast, "U0NYREP", lead, friday)
    assert "within 2h 00m of your working time, by Mon 30 Nov 10:55 EST" in answer
    assert "Contact due Mon 30 Nov 10:55 EST (the holder's working time)." in why(coast, lead)
    for moment in (ny(2026, 11, 27, 19, 25), ny(2026, 11, 28, 12, 0), ny(2026, 11, 30, 9, 30)):
        scheduler.run_due(coast, moment)
    assert owner_of(coast, lead) == "U0NYREP"
    assert dms_to(coast, "U0NYREP") == []
    scheduler.run_due(coast, ny(2026, 11, 30, 9, 55))  # half of the working time: 5 min Friday, 55 Monday
    assert [t for t in dms_to(coast, "U0NYREP") if t.startswith("Reminder")] == [
        f"Reminder: L-{lead} has not been marked contacted. Do it by Mon 30 Nov 10:55 EST "
        f"(`/dibs contacted L-{lead}`) or it goes back to the team."
    ]
    scheduler.run_due(coast, ny(2026, 11, 30, 10, 54))
    assert owner_of(coast, lead) == "U0NYREP"
    scheduler.run_due(coast, ny(2026, 11, 30, 10, 55))
    assert owner_of(coast, lead) is None


def test_the_due_time_is_shown_in_the_holders_own_zone(coast) -> None:
    at = ny(2026, 11, 24, 19, 0)  # 16:00 in San Francisco, 90 minutes before they stop
    lead = new_lead(coast, at)
    assert "by Wed 25 Nov 09:30 PST" in claim_at(coast, "U0SFREP", lead, at)
    assert "Contact due Wed 25 Nov 09:30 PST" in why(coast, lead)
    with coast() as session:
        card = lead_card(lead_state(session, session.get_one(Lead, lead)), "America/New_York", 80)
    assert "contact due Wed 25 Nov 09:30 PST" in json.dumps(card)


def test_a_contact_sla_across_the_spring_dst_change_keeps_local_hours(coast) -> None:
    friday = ny(2027, 3, 12, 17, 0)  # clocks go forward on Sunday 14 March, in both zones
    lead = new_lead(coast, friday - timedelta(minutes=1))
    assert "by Mon 15 Mar 10:30 EDT" in claim_at(coast, "U0NYREP", lead, friday)  # 30 min Friday, 90 Monday
    scheduler.run_due(coast, ny(2027, 3, 15, 10, 29))
    assert owner_of(coast, lead) == "U0NYREP"
    scheduler.run_due(coast, ny(2027, 3, 15, 10, 30))
    assert owner_of(coast, lead) is None
    other = new_lead(coast, friday)
    sf_friday = friday + timedelta(hours=3)  # 17:00 in San Francisco
    assert "by Mon 15 Mar 10:30 PDT" in claim_at(coast, "U0SFREP", other, sf_friday)
