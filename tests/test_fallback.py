"""The team's fallback (issue 13): a lead no eligible rep can take goes to the managers, to one
person, or waits, at once, with the reason in `/dibs why`; escalation replies in the card's thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import scheduler
from bot.config import parse_config
from bot.errors import ConfigError
from bot.intake import LeadIn, take_lead
from bot.leads import owning_claim
from bot.ownership import explain
from bot.teams import apply_config
from handlers.answers import why_text
from models import Lead, LeadCard, OutboxMessage, Team
from tests.fixtures_app import AppDriver, eventually
from tests.wording import sent_text

NY = ZoneInfo("America/New_York")
CARD_TS = "1764190000.000100"


def team_toml(fallback: str) -> str:
    return f"""
[teams.coast]
name = "Both Coasts"
channel = "C0COAST"
timezone = "America/New_York"
hours = "mon-fri 09:00-17:30"
holidays = ["2026-12-25"]
fallback = "{fallback}"
managers = ["U0BOSS", "U0OPS"]
reps = [{{ id = "U0NYREP" }},
        {{ id = "U0SFREP", timezone = "America/Los_Angeles" }}]

[teams.coast.limits]
fair_start_seconds = 0
auto_assign_after_minutes = 30
"""


def ny(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY).astimezone(UTC)


def coast(sessions: sessionmaker[Session], fallback: str) -> sessionmaker[Session]:
    with sessions.begin() as session:
        apply_config(session, parse_config(team_toml(fallback)), ny(11, 2, 0))
    return sessions


def new_lead(sessions: sessionmaker[Session], at: datetime) -> int:
    """A lead whose card Slack has shown (its ts recorded, as delivery records it)."""
    with sessions.begin() as session:
        lead = take_lead(session, session.get_one(Team, "coast"), LeadIn(name="Jane Doe"), at, "test").lead
        session.scalars(select(LeadCard).where(LeadCard.lead_id == lead.id)).one().ts = CARD_TS
        return lead.id


def notices(sessions: sessionmaker[Session], channel: str) -> list[tuple[str | None, str]]:
    """(thread_ts, text) of each notice queued to `channel` (a user id: a DM)."""
    with sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "notice", OutboxMessage.channel == channel)
            .order_by(OutboxMessage.id)
        )
        return [(row.payload.get("thread_ts"), sent_text(row)) for row in rows]


def why(sessions: sessionmaker[Session], lead_id: int) -> str:
    with sessions() as session:
        return why_text(explain(session.get_one(Lead, lead_id)))


def owner_of(sessions: sessionmaker[Session], lead_id: int) -> str | None:
    with sessions() as session:
        owning = owning_claim(session, lead_id)
        return owning.member.slack_user_id if owning else None


PASSED_OVER = (
    "• <@U0NYREP>: Outside working hours; back Mon 30 Nov 09:00 EST.\n"
    "• <@U0SFREP>: Outside working hours; back Mon 30 Nov 09:00 PST."
)


def test_a_friday_night_lead_goes_to_the_managers_at_once_and_says_why(sessions) -> None:
    teams = coast(sessions, "managers")
    lead = new_lead(teams, ny(11, 27, 21))  # Friday 21:00 New York, 18:00 San Francisco: both gone
    scheduler.run_due(teams, ny(11, 27, 21, 30))
    told = (
        f"No rep can take L-{lead} now, so it went to {{}} instead of waiting in the channel:\n{PASSED_OVER}\n"
        f"Assign it with `/dibs assign L-{lead} @rep`."
    )
    assert notices(teams, "U0BOSS") == notices(teams, "U0OPS") == [(None, told.format("you"))]
    assert notices(teams, "C0COAST") == [(CARD_TS, told.format("the managers"))], "and a reply in the card's thread"
    assert why(teams, lead) == (
        f"L-{lead} has no owner: no rep could take it when auto-assign tried.\n{PASSED_OVER}\n"
        "It went to the managers instead of waiting in the channel."
    )
    scheduler.run_due(teams, ny(11, 30, 10))
    assert owner_of(teams, lead) is None, "no more round robin once the managers have it"


def test_the_fallback_may_be_one_person(sessions) -> None:
    teams = coast(sessions, "U0OPS")
    lead = new_lead(teams, ny(12, 25, 11))  # Christmas: a holiday for both
    scheduler.run_due(teams, ny(12, 25, 11, 30))
    assert notices(teams, "U0BOSS") == []
    [(thread, text)] = notices(teams, "U0OPS")
    assert thread is None and text.startswith(f"No rep can take L-{lead} now, so it went to you instead")
    [(thread, text)] = notices(teams, "C0COAST")
    assert thread == CARD_TS and text.startswith(f"No rep can take L-{lead} now, so it went to <@U0OPS> instead")
    assert why(teams, lead).endswith("It went to <@U0OPS>, the team's fallback.")


def test_wait_keeps_trying_and_the_first_rep_at_work_gets_it(sessions) -> None:
    teams = coast(sessions, "wait")
    lead = new_lead(teams, ny(11, 27, 21))
    scheduler.run_due(teams, ny(11, 27, 21, 30))
    assert notices(teams, "U0BOSS") == [] and notices(teams, "C0COAST") == []
    assert why(teams, lead) == (
        f"L-{lead} has no owner: no rep could take it when auto-assign tried.\n{PASSED_OVER}\n"
        "It waits in the channel: auto-assign tries again every 15m, and anyone may claim it."
    )
    monday = ny(11, 30, 9)
    while owner_of(teams, lead) is None and monday < ny(11, 30, 13):
        monday += timedelta(minutes=5)
        scheduler.run_due(teams, monday)
    assert owner_of(teams, lead) == "U0NYREP", "New York starts work three hours before San Francisco"
    assert monday <= ny(11, 30, 9, 15)
    assert why(teams, lead).startswith(f"L-{lead} was unclaimed for 30 minutes, so it went by round robin")


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ('fallback = "everyone"', "teams.coast.fallback: 'everyone' is not a fallback"),
        ('fallback = "<@U0OPS>"', "teams.coast.fallback: '<@U0OPS>' is not a fallback"),
        ('away_statuses = [":palm_tree:", ""]', "teams.coast.away_statuses[1]: String should have at least 1"),
    ],
)
def test_bad_fallback_and_away_statuses_are_named_by_key_path(setting: str, problem: str) -> None:
    text = team_toml("wait").replace('fallback = "wait"', setting)
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    assert any(line.startswith(problem) for line in refused.value.problems), refused.value.problems


def test_escalation_reaches_the_managers_by_dm_and_in_the_cards_thread(dibs: AppDriver) -> None:
    assert "escalate_after_misses" in dibs.reply_text("limits set escalate_after_misses 1", user="U0MGR1")
    response = dibs.post_lead({"name": "Jane Doe", "company": "Acme Corp"})
    ref = response.json()["id"]
    dibs.message_to("C0EAST", ref)

    def card_ts() -> str | None:
        with dibs.runtime.sessions() as session:
            return session.scalar(select(LeadCard.ts).where(LeadCard.ts.is_not(None)))

    assert eventually(lambda: card_ts() is not None)
    card = card_ts()
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    dibs.answers_to("U0ALICE")
    dibs.clock.advance(minutes=121)

    def replies() -> list[str]:
        return [
            c.args["text"]
            for c in dibs.slack.calls_to("chat.postMessage")
            if c.args.get("channel") == "C0EAST" and c.args.get("thread_ts") == card
        ]

    assert eventually(lambda: bool(replies()), timeout=10), "no reply in the card's thread"
    [reply] = replies()
    assert reply.startswith(f"{ref} missed its contact SLA 1 times (<@U0ALICE>), so it comes to the managers")
    assert eventually(lambda: all(dibs.slack.dm_with(m) is not None for m in ("U0MGR1", "U0MGR2"))), "a DM each"
