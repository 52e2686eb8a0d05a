"""`/dibs hours` and App Home (issue 13): a rep's own hours, next working window in their own zone,
and away state, across a weekend, a DST change and a holiday."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.availability import go_away
from bot.away_status import SlackStatus, status_changed
from bot.escalation import pause
from handlers.commands import Caller
from handlers.home import home_view
from handlers.slack_app import COMMANDS
from tests.test_working_hours import coast, member, ny  # noqa: F401 (the `coast` fixture)


def hours(sessions: sessionmaker[Session], uid: str, at: datetime) -> str:
    with sessions() as session:
        return str(COMMANDS.run(Caller(session, at, member(session, uid)), "hours")["text"])


def test_working_now_in_the_reps_own_zone(coast) -> None:  # noqa: F811
    at = ny(2026, 11, 24, 18, 0)  # Tuesday 15:00 in San Francisco
    assert hours(coast, "U0SFREP", at) == (
        "*Your hours:* `mon-fri 09:00-17:30` (the team's), America/Los_Angeles.\n"
        "*Holidays:* Fri 25 Dec 2026.\n"
        "*Now:* working, until Tue 24 Nov 17:30 PST.\n"
        "*Away:* no."
    )
    assert hours(coast, "U0NYREP", at).splitlines()[0] == (
        "*Your hours:* `mon-fri 09:00-17:30` (the team's), America/New_York (the team's zone)."
    )
    assert hours(coast, "U0NYREP", at).splitlines()[2:] == [
        "*Now:* off; next working window Wed 25 Nov 09:00 EST to 17:30.",
        "*Away:* no.",
        "*Auto-assign:* passes you over until your hours start; you may still claim by hand.",
    ]


def test_the_next_window_skips_the_weekend_the_holiday_and_follows_dst(coast) -> None:  # noqa: F811
    friday = ny(2026, 12, 24, 18, 0)  # Thursday 24 Dec after hours; Friday is Christmas
    assert "next working window Mon 28 Dec 09:00 EST to 17:30." in hours(coast, "U0NYREP", friday)
    before_dst = ny(2027, 3, 12, 18, 0)  # Friday; clocks go forward on Sunday 14 March
    assert "next working window Mon 15 Mar 09:00 EDT to 17:30." in hours(coast, "U0NYREP", before_dst)
    assert "next working window Mon 15 Mar 09:00 PDT to 17:30." in hours(
        coast, "U0SFREP", before_dst + timedelta(hours=3)
    )


def test_away_and_paused_are_shown_with_how_they_end(coast) -> None:  # noqa: F811
    at = ny(2026, 11, 24, 11, 0)
    with coast.begin() as session:
        go_away(session, member(session, "U0NYREP"), at, until=(at + timedelta(days=2)).date())
        status_changed(session, member(session, "U0SFREP"), SlackStatus("Out of office", ""), at)
        pause(session, member(session, "U0SFREP"), at, 3)
    assert "*Away* until Thu 26 Nov 00:00 EST (with `/dibs away`; `/dibs back` ends it)" in hours(coast, "U0NYREP", at)
    sf = hours(coast, "U0SFREP", at)
    assert "*Away* (by your Slack status): no leads come your way and your fair share pauses." in sf
    assert "*Auto-assign:* paused since Tue 24 Nov 08:00 PST after missed contact SLAs; `/dibs resume` ends it." in sf


def test_app_home_shows_the_reps_hours(coast) -> None:  # noqa: F811
    at = ny(2026, 11, 24, 18, 0)
    with coast() as session:
        rep = json.dumps(home_view(session, "U0SFREP", at))
        boss = json.dumps(home_view(session, "U0BOSS", at))
    assert "*Now:* working, until Tue 24 Nov 17:30 PST." in rep
    assert "Your hours" not in boss, "a manager takes no leads"
